"""What every source format shares: rows in, validated records or rejects out.

A format module provides ``from_row(value) -> dict`` (a raw record, validated here) and
``to_row(Trajectory) -> dict``; it may provide ``iter_raw(path)`` when one file is not
enough (BFCL joins question and answer files). ``from_row`` raises ``SourceError`` with a
reason code for rows it cannot map.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.io import BadRow, JsonlWriter, JsonValueError, Reject, Row, parse_json, read_rows
from lamstudio.schema import IdRegistry, Issue, Trajectory, validate_record


class SourceError(ValueError):
    """A row that a format module cannot map to a record."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass
class Result:
    """One input row: a record (possibly with warnings) or a reject."""

    record: Trajectory | None
    reject: Reject | None = None
    warnings: list[Issue] = field(default_factory=list)
    file: str = ""
    line: int = 0


FromRow = Callable[[dict[str, Any]], dict[str, Any]]


def convert_rows(rows: Iterable[Row | BadRow], from_row: FromRow, stage: str = "convert",
                 ids: IdRegistry | None = None) -> Iterator[Result]:
    """Map and validate rows; every row yields exactly one ``Result``."""
    ids = ids if ids is not None else IdRegistry()
    for row in rows:
        if isinstance(row, BadRow):
            yield Result(None, Reject(row.file, row.line, row.code, row.message, stage=stage,
                                      raw=row.raw), file=row.file)
            continue
        yield _convert_one(row, from_row, stage, ids)


def _convert_one(row: Row, from_row: FromRow, stage: str, ids: IdRegistry) -> Result:
    def reject(code: str, message: str, fld: str = "", rid: str | None = None) -> Result:
        return Result(None, Reject(row.file, row.line, code, message, fld, rid, stage,
                                   raw=row.value), file=row.file)

    if not isinstance(row.value, dict):
        return reject("not_object", f"expected a JSON object, got {type(row.value).__name__}")
    try:
        raw = from_row(row.value)
    except SourceError as exc:
        rid = row.value.get("id")
        return reject(exc.code, exc.message, exc.field, rid if isinstance(rid, str) else None)
    if isinstance(raw, dict) and raw.get("id") in (None, ""):
        # Many sources carry no id: derive a stable one from the file and line.
        raw["id"] = f"{Path(row.file).stem.split('.')[0]}-{row.line:06d}"
    elif isinstance(raw, dict) and isinstance(raw.get("id"), int):
        raw["id"] = str(raw["id"])
    checked = validate_record(raw)
    if checked.errors:
        first = checked.errors[0]
        more = f" (+{len(checked.errors) - 1} more)" if len(checked.errors) > 1 else ""
        return reject(first.code, str(first) + more, first.path, first.record_id)
    assert checked.record is not None
    dup = ids.claim(checked.record.id, f"{row.file}:{row.line}")
    if dup is not None:
        return reject(dup.code, str(dup), dup.path, dup.record_id)
    return Result(checked.record, warnings=checked.warnings, file=row.file, line=row.line)


def lost_fields(module: Any, t: Trajectory, row: dict[str, Any]) -> list[str]:
    """What of ``t`` the row ``module.to_row`` made does not come back through
    ``module.from_row``: field paths with list indices as ``[*]`` (sorted, unique). Fields
    the reader adds (a derived category) are not losses."""
    joined = module.joined_row(t, row) if hasattr(module, "joined_row") else row
    try:
        raw = module.from_row(copy.deepcopy(joined))
    except SourceError as exc:
        return [f"unreadable:{exc.code}"]
    if isinstance(raw, dict) and raw.get("id") in (None, ""):
        raw["id"] = "\0derived"  # the reader derives one from file and line: t.id is lost
    checked = validate_record(raw)
    if checked.record is None:
        return [f"unreadable:{checked.errors[0].code}"]
    lost: set[str] = set()
    _diff(t.model_dump(mode="json", exclude_none=True),
          checked.record.model_dump(mode="json", exclude_none=True), "", lost)
    return sorted(lost)


def _diff(a: Any, b: Any, path: str, lost: set[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k, v in a.items():
            sub = f"{path}.{k}" if path else k
            if k not in b:
                lost.add(sub)
            else:
                _diff(v, b[k], sub, lost)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for x, y in zip(a, b, strict=True):
            _diff(x, y, f"{path}[*]", lost)
    elif a != b or type(a) is not type(b):
        lost.add(path or "record")


def load_with(path: str | os.PathLike[str], from_row: FromRow,
              iter_raw: Callable[[str], Iterable[Row | BadRow]] | None = None,
              on_reject: Callable[[Reject], None] | None = None) -> Iterator[Trajectory]:
    """The ``load`` every format exposes: records only, rejects to ``on_reject``."""
    rows = iter_raw(str(path)) if iter_raw else read_rows(path)
    for res in convert_rows(rows, from_row):
        if res.record is not None:
            yield res.record
        elif on_reject is not None and res.reject is not None:
            on_reject(res.reject)


def dump_with(records: Iterable[Trajectory], path: str | os.PathLike[str],
              to_row: Callable[[Trajectory], dict[str, Any]]) -> int:
    """The ``dump`` every format exposes: one row per record, written atomically."""
    with JsonlWriter(path) as w:
        for t in records:
            w.write(to_row(t))
        return w.count


def require(row: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """Fetch a field of a source row, with a reason code when missing or mistyped."""
    if key not in row or row[key] is None:
        raise SourceError("missing_field", f"{key}: required field is missing", key)
    value = row[key]
    if not isinstance(value, kind):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SourceError("wrong_type",
                          f"{key}: expected {want}, got {type(value).__name__}", key)
    return value


def parse_json_field(row: dict[str, Any], key: str, code: str) -> Any:
    """Fields such as xLAM's ``tools``/``answers`` hold JSON *strings*; parse them."""
    value = row.get(key)
    if value is None:
        raise SourceError("missing_field", f"{key}: required field is missing", key)
    if not isinstance(value, str):
        return value
    return loads_field(value, code, key)


def loads_field(text: str, code: str, field: str) -> Any:
    """Parse a JSON string found inside a row; ``code`` names plain bad JSON, while values
    that cannot be kept exactly keep their own code (``non_finite_number``, ...)."""
    try:
        return parse_json(text)
    except JsonValueError as exc:
        if exc.code == "bad_json":
            raise SourceError(code, f"{field}: string is not valid JSON ({exc.message})",
                              field) from None
        raise SourceError(exc.code, f"{field}: {exc.message}", field) from None
