"""The quickstart on the real pretrained base (SmolLM2-135M-Instruct), on a tiny budget:
before and after are both evaluated with the same prompts, side by side in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lamstudio.quickstart import QuickstartConfig, run_quickstart, summarize


@pytest.mark.slow
def test_pretrained_quickstart_reports_before_and_after(smollm2_dir: Path,
                                                        tmp_path: Path) -> None:
    cfg = QuickstartConfig.for_base("smollm2-135m", out_dir=tmp_path / "qs", steps=1,
                                    n_train=40, n_heldout=4, bfcl_limit=1, max_len=512)
    result = run_quickstart(cfg)
    out = result.out_dir
    for name in ("metrics.json", "report.html", "predictions.jsonl", "predictions_before.jsonl",
                 "model/config.json", "run/final/adapter_config.json"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "metrics.json").read_text())
    before = [json.loads(x) for x in (out / "predictions_before.jsonl").read_text().splitlines()]
    after = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert saved["metrics_before"] == summarize(before) and saved["metrics"] == summarize(after)
    assert saved["not_comparable"] is None and saved["run"]["steps_done"] == 1
    assert saved["run"]["base_dir"] == str(smollm2_dir)
    assert isinstance(saved["run"]["train_tokens"], int) and saved["run"]["train_tokens"] > 0
    for side in ("bfcl_before", "bfcl_after"):  # first 1 of simple_python and of multiple
        assert saved[side]["total"] == 2, saved[side]
        assert set(saved[side]["categories"]) == {"simple_python", "multiple"}
    from safetensors import safe_open

    with safe_open(str(out / "run/final/adapter_model.safetensors"), "pt") as f:
        layers = {int(k.split(".layers.")[1].split(".")[0]) for k in f.keys()}
    assert layers == set(range(20, 30))  # LoRA on the top 10 of SmolLM2's 30 layers
    report = (out / "report.html").read_text()
    assert "Before and after fine-tuning" in report and "BFCL sample" in report
    assert "not the leaderboard" in report and "Not comparable" not in report


def test_pretrained_defaults_differ_from_scratch_and_overrides_win() -> None:
    scratch = QuickstartConfig.for_base("scratch")
    smol = QuickstartConfig.for_base("smollm2-135m", steps=7)
    assert not scratch.pretrained and smol.pretrained
    assert scratch.steps == QuickstartConfig().steps and smol.steps == 7
    assert smol.max_new_tokens is None  # bounded by the longest reference answer
    with pytest.raises(ValueError, match="unknown quickstart setting 'stepz'"):
        QuickstartConfig.for_base("scratch", stepz=1)
