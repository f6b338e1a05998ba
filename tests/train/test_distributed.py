"""Real multi-process training: 2 CPU processes, gloo backend, launched with torchrun.

Each rank must train on its own disjoint shard of the epoch's mixed sample, the shards
together (plus the < world-size tail dropped to keep step counts equal) must be exactly that
sample, and the saved model must load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from train_helpers import recipe

from lamstudio.train import MixSpec, epoch_sample, export


def test_two_gloo_ranks_train_disjoint_shards_covering_the_epoch(
        assets: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cfg = recipe(assets, run_dir,
                 data={"sources": [{"path": str(assets["weather"]), "epochs": 0.3},
                                   {"path": str(assets["convert"]), "epochs": 0.5}]},
                 train={"max_steps": -1, "epochs": 1, "batch_size": 2, "save_steps": 100})
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "lamstudio.train", str(tmp_path / "r.yaml")],
        env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]

    ranks = [json.loads((run_dir / "data" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    ids = [r["example_ids_by_epoch"]["0"] for r in ranks]
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])  # disjoint

    mix = json.loads((run_dir / "mix.json").read_text())
    dropped = mix["dropped_uneven_tail"][0]
    # The epoch's sample, recomputed from the seed alone (records are w0.., c0.. in order).
    specs = [MixSpec("weather", 60, epochs=0.3), MixSpec("convert", 30, epochs=0.5)]
    prefix = {0: "weather/w", 1: "convert/c"}
    sample = [f"{prefix[s]}{j}" for s, j in epoch_sample(specs, seed=0, epoch=0)]
    assert sorted(ids[0] + ids[1] + dropped) == sorted(sample)
    assert mix["sampled_per_epoch"][0] == {"weather": 18, "convert": 15}
    consumed = mix["consumed_examples_per_source"]
    assert sum(consumed.values()) == len(sample) - len(dropped)

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["world_size"] == 2  # the Trainer itself saw two processes (DDP)

    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(export(run_dir, tmp_path / "merged"))
    assert torch.isfinite(model(input_ids=torch.tensor([[5, 6, 7]])).logits).all()
