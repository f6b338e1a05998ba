"""The llama.cpp engine where a local model generates: ``eval`` (BFCL, a .gguf given as the
model), ``agent run`` and ``synth apigen`` run on it end to end and count what they did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make llamacpp, "
                                        "or pip install 'lamstudio[llamacpp]')")
pytestmark = pytest.mark.slow


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_eval_bfcl_on_a_gguf_file(smollm2_dir, tmp_path):
    from lamstudio.models import get_entry

    gguf = get_entry("smollm2-135m").require_file()
    res = CliRunner().invoke(app, ["eval", "run", "--backend", "llamacpp", "--model", str(gguf),
                                   "--suite", "bfcl:simple_python", "--limit", "3",
                                   "--max-new-tokens", "48", "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    preds = _lines(tmp_path / "a" / "predictions.jsonl")
    assert len(preds) == 3 and all(p["output"] for p in preds)
    assert len(_lines(tmp_path / "a" / "results.jsonl")) == 3
    # --engine is the same option; the registry name runs the same file: same answers.
    res = CliRunner().invoke(app, ["eval", "run", "--engine", "llamacpp", "--model",
                                   "smollm2-135m", "--suite", "bfcl:simple_python", "--limit",
                                   "3", "--max-new-tokens", "48", "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert _lines(tmp_path / "b" / "predictions.jsonl") == preds


def test_agent_run_on_llamacpp_counts_every_task(smollm2_dir, tmp_path):
    out = tmp_path / "episodes.jsonl"
    res = CliRunner().invoke(app, ["agent", "run", "--engine", "llamacpp", "--model",
                                   "smollm2-135m", "--env", "store", "--limit", "2",
                                   "--max-steps", "2", "--max-tokens", "32", "-o", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "episodes.summary.json").read_text())
    episodes = _lines(out)
    rejects = _lines(tmp_path / "episodes.rejects.jsonl") \
        if (tmp_path / "episodes.rejects.jsonl").exists() else []
    assert len(episodes) + len(rejects) == 2, summary
    assert all(e["meta"]["agent"]["model"] == "smollm2-135m" for e in episodes)


def test_synth_apigen_on_llamacpp_keeps_or_rejects_every_generation(smollm2_dir, tmp_path):
    out = tmp_path / "synth.jsonl"
    res = CliRunner().invoke(app, ["synth", "apigen", "--backend", "llamacpp", "--model",
                                   "smollm2-135m", "--n", "3", "--max-tokens", "48",
                                   "--stages", "format,execution", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "generated 3 = kept" in res.output.replace("\n", " ")
