"""Helpers: run the real CLI in-process and read what it wrote."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.support.scripted_server import Fail, Reply, ScriptedServer
from typer.testing import CliRunner

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).parent


def cli(*args: Any, code: int = 0) -> Any:
    from lamstudio.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, f"{args}\n{result.output}\n{result.exception!r}"
    return result


__all__ = ["HERE", "Fail", "Reply", "ScriptedServer", "cli", "read_jsonl", "write_jsonl"]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
