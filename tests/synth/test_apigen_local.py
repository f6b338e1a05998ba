"""``synth apigen --backend local``: the same pipeline on a real (tiny, untrained) local
model, generator and judge sharing one loaded model. A random model fails the checks;
the point is that every generation is accounted for, with a reason."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from lamstudio.synth import ApigenConfig, BackendConfig, apigen


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from lamstudio.train import build_model, train_tokenizer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("synth-local")
    rng = random.Random(1)
    words = '{ } [ ] " : , query answers name arguments add a b 1 2 3 what is'.split()
    tok = train_tokenizer([" ".join(rng.choice(words) for _ in range(20))
                           for _ in range(300)], 400, root / "tok")
    build_model("nano", tok, root / "model")
    return root / "model"


def test_local_generator_and_judge(tiny_model, tmp_path):
    local = BackendConfig("local", str(tiny_model), batch_size=4, threads=1)
    cfg = ApigenConfig(output=str(tmp_path / "o.jsonl"), generator=local, judge=local, n=6,
                       max_tokens=24, concurrency=4, chunk_size=4, seed=2)
    result = apigen(cfg)
    kept = [json.loads(x) for x in result.output.read_text().splitlines()]
    rejects = [json.loads(x) for x in result.rejects.read_text().splitlines()]
    assert len(kept) + len(rejects) == 6 == result.tally.generated
    assert all(r["code"] and r["stage"] for r in rejects)
    assert all(r["output"] is not None for r in rejects)  # what the model wrote
    summary = json.loads(result.summary.read_text())
    assert summary["generator"]["kind"] == "local"
    assert summary["backend_stats"]["requests"] >= 6  # generations (+ judge votes)
    again = apigen(ApigenConfig(**{**cfg.__dict__, "output": str(tmp_path / "p.jsonl")}))
    assert (tmp_path / "p.rejects.jsonl").read_text() == result.rejects.read_text()
    assert again.tally.to_dict() == result.tally.to_dict()  # same seed, same outputs


def test_cli_local(tiny_model, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lamstudio", "synth", "apigen", "--backend", "local",
         "--model", str(tiny_model), "--n", "3", "--max-tokens", "12", "--threads", "1",
         "-o", str(tmp_path / "c.jsonl")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "generated 3 = kept" in proc.stdout and "parsed" in proc.stdout
