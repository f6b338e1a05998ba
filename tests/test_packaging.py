"""A core install (``pip install lamstudio``, no extras) in a fresh venv runs ``convert`` and
``eval score``: pyproject's core dependencies are what that code imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = {"id": "w1", "messages": [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "tool_calls": [{"id": "c0", "type": "function", "function": {
        "name": "get_weather", "arguments": {"city": "Paris"}}}]}],
    "tools": [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather in a city", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}}}]}


# Without PYTHONPATH: the checkout's src/ must not stand in for the installed package.
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "HF_HUB_OFFLINE": "1"}


def _run(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=ENV,
                          **kw)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_core_install_converts_and_scores(tmp_path: Path) -> None:
    # The wheel is built from this checkout with the dev env's setuptools (no download); its
    # dependencies come from pip's configured index (a local mirror here and in CI).
    egg_info = ROOT / "src" / "lamstudio.egg-info"
    leave = egg_info.exists()
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         ROOT, "-w", tmp_path / "dist", timeout=120)
    if not leave:  # setuptools' by-product in the checkout
        shutil.rmtree(egg_info, ignore_errors=True)
    (wheel,) = (tmp_path / "dist").glob("lamstudio-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, timeout=120)
    bin_ = venv / "bin"
    _run(bin_ / "pip", "install", "-q", wheel, timeout=300)
    # Only the core: no training stack came with it.
    probe = subprocess.run([bin_ / "python", "-c", "import transformers"], env=ENV,
                           capture_output=True, text=True)
    assert probe.returncode != 0

    sample = ROOT / "src/lamstudio/data/samples/apigen.jsonl"
    _run(bin_ / "lamstudio", "convert", sample, "--from", "apigen", "-o",
         tmp_path / "out.jsonl", cwd=tmp_path, timeout=120)
    assert (tmp_path / "out.jsonl").read_text().strip()

    (tmp_path / "suite.jsonl").write_text(json.dumps(SUITE) + "\n")
    (tmp_path / "p.jsonl").write_text(json.dumps(
        {"id": "w1", "calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}) + "\n")
    _run(bin_ / "lamstudio", "eval", "score", "--suite", tmp_path / "suite.jsonl",
         "--predictions", tmp_path / "p.jsonl", "-o", tmp_path / "eval", cwd=tmp_path,
         timeout=120)
    summary = json.loads((tmp_path / "eval/summary.json").read_text())
    assert summary["correct"] == 1 and summary["total"] == 1
    assert (tmp_path / "eval/report.html").read_text().startswith("<!doctype html>")
