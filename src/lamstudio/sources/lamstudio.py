"""lamstudio's own record: one Trajectory per JSON line or Parquet row.

In Parquet / HF ``datasets`` rows, ``tools``, ``meta`` and ``arguments`` travel as JSON
strings (Arrow would otherwise merge heterogeneous schemas and fill them with nulls)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lamstudio.io import Reject
from lamstudio.schema import Trajectory, from_arrow_row
from lamstudio.sources._base import dump_with, load_with, parse_json_field

NAME = "lamstudio"


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    if isinstance(row.get("tools"), str) or isinstance(row.get("meta"), str):
        # a Parquet / datasets row: JSON-string fields
        for key, code in (("tools", "bad_tools_json"), ("meta", "bad_meta_json")):
            if isinstance(row.get(key), str):
                row = {**row, key: parse_json_field(row, key, code)}
        return from_arrow_row(row)
    return row


def to_row(t: Trajectory) -> dict[str, Any]:
    return t.model_dump(mode="json", exclude_none=True)


def load(path: str | os.PathLike[str],
         on_reject: Callable[[Reject], None] | None = None) -> Iterator[Trajectory]:
    return load_with(path, from_row, on_reject=on_reject)


def dump(records: Iterable[Trajectory], path: str | os.PathLike[str]) -> int:
    return dump_with(records, path, to_row)
