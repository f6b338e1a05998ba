"""Helpers for the format tests: rows go through the real file readers and ``load``."""

import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lamstudio.io import Reject
from lamstudio.schema import Trajectory

SAMPLES = Path(str(files("lamstudio") / "data" / "samples"))

LoadRows = Callable[[ModuleType, list[Any]], tuple[list[Trajectory], list[Reject]]]


@pytest.fixture
def samples() -> Path:
    """The sample files shipped in the package (``make quickstart`` uses them too)."""
    return SAMPLES


@pytest.fixture
def load_rows(tmp_path: Path) -> LoadRows:
    """Write rows as JSONL and load them with a format module: (records, rejects)."""

    def run(module: ModuleType, rows: list[Any]) -> tuple[list[Trajectory], list[Reject]]:
        path = tmp_path / f"{module.NAME}-rows.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                        encoding="utf-8")
        rejects: list[Reject] = []
        return list(module.load(path, on_reject=rejects.append)), rejects

    return run


@pytest.fixture
def reject_of(load_rows: LoadRows) -> Callable[[ModuleType, Any], Reject]:
    """The single reject one bad row produces."""

    def run(module: ModuleType, row: Any) -> Reject:
        records, rejects = load_rows(module, [row])
        assert records == [] and len(rejects) == 1, (records, rejects)
        return rejects[0]

    return run
