"""The trainer on a real pretrained base, named by its registry name (``smollm2-135m``)."""

from __future__ import annotations

import json
from pathlib import Path

from train_helpers import weather_record, write_jsonl

from lamstudio.train import load_config, train


def test_a_lora_step_on_smollm2_lowers_the_loss_on_a_repeated_batch(
        smollm2_dir: Path, tmp_path: Path) -> None:
    import random

    from transformers import TrainerCallback

    losses: list[float] = []

    class Losses(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if logs and "loss" in logs:
                losses.append(logs["loss"])

    record = weather_record(0, random.Random(1))
    data = write_jsonl(tmp_path / "one.jsonl", [{**record, "id": f"w{k}"} for k in range(2)])
    cfg = load_config(base={
        "run_dir": str(tmp_path / "run"), "seed": 0,
        "model": {"name_or_path": "smollm2-135m"},  # resolved to the prepared folder
        "data": {"sources": [{"path": str(data)}], "max_len": 512},
        "train": {"mode": "lora", "max_steps": 2, "batch_size": 2, "lr": 2e-3,
                  "warmup_ratio": 0.0, "scheduler": "constant", "logging_steps": 1,
                  "save_steps": 100, "threads": 2, "report_to": []},
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0}})
    result = train(cfg, callbacks=[Losses()])
    assert result.steps == 2 and len(losses) == 2
    assert losses[1] < losses[0], losses  # the same two records, one LoRA step later
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["base_model"] == str(smollm2_dir) and meta["base_model_name"] == "smollm2-135m"
