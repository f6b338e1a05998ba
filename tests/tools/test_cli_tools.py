"""``lamstudio verify --tools my_tools.py`` as a user runs it, with a module of plain typed,
documented functions (no ``@tool``): the execution stage runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.tools.test_registry import PLAIN_MODULE


def _record(rid: str, a: int, b: int) -> dict:
    spec = {"type": "function", "function": {
        "name": "add", "description": "Add two integers.",
        "parameters": {"type": "object", "properties": {
            "a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}
    call = {"id": "c0", "type": "function", "function": {"name": "add",
                                                         "arguments": {"a": a, "b": b}}}
    return {"id": rid, "source": "test", "tools": [spec], "meta": {}, "messages": [
        {"role": "user", "content": f"What is {a} + {b}?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c0", "content": str(a + b)},
        {"role": "assistant", "content": f"{a + b}."}]}


def _verify(tmp_path: Path, tools: Path) -> subprocess.CompletedProcess:
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(_record(f"r{i}", i, 2 * i)) + "\n" for i in range(4)))
    env = {**os.environ, "COLUMNS": "300"}
    return subprocess.run(
        [sys.executable, "-m", "lamstudio", "verify", str(data), "-o",
         str(tmp_path / "kept.jsonl"), "--stages", "format,execution", "--tools", str(tools),
         "--no-builtin-tools"], env=env, capture_output=True, text=True, timeout=180)


def test_verify_runs_plain_functions_of_a_tools_module(tmp_path):
    tools = tmp_path / "my_tools.py"
    tools.write_text(PLAIN_MODULE)
    run = _verify(tmp_path, tools)
    assert run.returncode == 0, run.stdout + run.stderr
    kept = (tmp_path / "kept.jsonl").read_text().splitlines()
    assert len(kept) == 4, run.stdout + run.stderr


def test_verify_stops_with_a_clear_error_on_an_undescribable_tool(tmp_path):
    tools = tmp_path / "my_tools.py"
    tools.write_text(PLAIN_MODULE + "\n\ndef lookup(key):\n    return key\n")
    run = _verify(tmp_path, tools)
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "my_tools.py" in output and "'lookup'" in output
    assert "Traceback" not in output
    assert not (tmp_path / "kept.jsonl").exists()
