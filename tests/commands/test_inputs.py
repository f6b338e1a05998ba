"""One shared input check, one behaviour: a missing file, a directory or an empty file given
as data gets the same one-line error, exit 2 and nothing written, in every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app

runner = CliRunner()

RECORD = {"id": "r1", "tools": [{"type": "function", "function": {
    "name": "add", "description": "add", "parameters": {
        "type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}}],
    "messages": [{"role": "user", "content": "add 1"},
                 {"role": "assistant", "tool_calls": [{"id": "c0", "type": "function",
                  "function": {"name": "add", "arguments": {"a": 1}}}]}]}


def _commands(tmp: Path, data: Path) -> dict[str, list[str]]:
    suite = tmp / "suite.jsonl"
    suite.write_text(json.dumps(RECORD) + "\n")
    recipe = tmp / "recipe.yaml"
    recipe.write_text(f"run_dir: {tmp / 'run'}\nmodel: {{name_or_path: {tmp / 'no-model'}}}\n"
                      f"data: {{sources: [{{path: {data}, format: lamstudio}}]}}\n")
    out = tmp / "out"
    return {
        "convert": ["convert", str(data), "-o", str(out / "c.jsonl")],
        "verify": ["verify", str(data), "-o", str(out / "v.jsonl"), "--stages", "format"],
        "report": ["report", str(data), "-o", str(out / "r.html")],
        "eval score": ["eval", "score", "--suite", str(suite), "--predictions", str(data),
                       "-o", str(out / "eval")],
        "eval suite": ["eval", "score", "--suite", str(data), "--predictions", str(suite),
                       "-o", str(out / "eval")],
        "inspect": ["inspect", str(data), "--model", str(tmp)],
        "build-tokenizer": ["build-tokenizer", str(data), "-o", str(out / "tok")],
        "train": ["train", str(recipe)],
    }


def _make(kind: str, tmp: Path) -> tuple[Path, str]:
    if kind == "missing":
        return tmp / "nope.jsonl", "no such file"
    if kind == "directory":
        (tmp / "adir").mkdir()
        return tmp / "adir", "is a directory, expected a data file"
    path = tmp / "empty.jsonl"
    path.write_text({"empty": "", "blank": "\n \n", "empty array": "[ ]\n"}[kind])
    return path, "is empty, no records to read"


COMMANDS = ["convert", "verify", "report", "eval score", "eval suite", "inspect",
            "build-tokenizer", "train"]


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "blank", "empty array"])
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_input_is_one_clear_line_everywhere(tmp_path, command, kind):
    data, message = _make(kind, tmp_path)
    args = _commands(tmp_path, data)[command]
    res = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert lines[0].startswith("error: ") and f"{data}: {message}" in lines[0], lines
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.*"))
