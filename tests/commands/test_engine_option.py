"""One option names the generation engine in every command: ``--engine`` (``--backend`` is
the same option, its older name in eval and synth), with ``llamacpp`` beside
``transformers``; what cannot run with llama.cpp is refused before anything loads."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app

COMMANDS = [["eval", "run"], ["serve"], ["agent", "run"], ["synth", "apigen"],
            ["synth", "apigen-mt", "blueprints"], ["synth", "apigen-mt", "trajectories"]]


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_generating_command_takes_engine_and_its_alias(command):
    res = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = _plain(res.output)
    assert "--engine" in out and "--backend" in out and "llamacpp" in out


def test_serve_refuses_an_adapter_with_llamacpp_in_one_line(tmp_path):
    res = CliRunner().invoke(app, ["serve", "--model", "smollm2-135m", "--engine", "llamacpp",
                                   "--adapter", str(tmp_path)])
    assert res.exit_code == 2
    assert "not a PEFT adapter: merge and export it first" in _plain(res.output)


def test_gguf_is_refused_with_the_transformers_engine():
    res = CliRunner().invoke(app, ["serve", "--model", "smollm2-135m", "--gguf", "x.gguf"])
    assert res.exit_code == 2 and "--gguf FILE is for --engine llamacpp" in _plain(res.output)
    res = CliRunner().invoke(app, ["eval", "run", "--model", "smollm2-135m", "--suite",
                                   "bfcl:simple_python", "--gguf", "x.gguf", "--limit", "1"])
    assert res.exit_code == 2 and "--gguf FILE is for --engine llamacpp" in _plain(res.output)


def test_synth_checks_the_engine_before_generating(tmp_path):
    res = CliRunner().invoke(app, ["synth", "apigen", "--engine", "llamacpp", "--adapter",
                                   "runs/x", "-o", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "the llamacpp engine runs a GGUF" in _plain(res.output)
    res = CliRunner().invoke(app, ["synth", "apigen", "--backend", "vllm", "-o",
                                   str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2
    assert "engine must be openai, transformers (local) or llamacpp" in _plain(res.output)
