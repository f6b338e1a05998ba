"""Atomic writers: data goes to a temporary file beside the target and is renamed into
place only when the writer closes cleanly. A crash or Ctrl-C leaves the old file (or
none), never a half-written one that looks complete."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path; it replaces ``path`` only if the block exits normally."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get normal modes
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class JsonlWriter:
    """Write one JSON value per line, atomically. ``.gz`` targets are gzip-compressed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0
        self._ctx = atomic_path(self.path)
        self._fh: IO[str] | None = None

    def __enter__(self) -> JsonlWriter:
        tmp = self._ctx.__enter__()
        if self.path.suffix == ".gz":
            self._fh = gzip.open(tmp, "wt", encoding="utf-8")
        else:
            self._fh = open(tmp, "w", encoding="utf-8")  # noqa: SIM115
        return self

    def write(self, value: Any) -> None:
        assert self._fh is not None, "use JsonlWriter as a context manager"
        self._fh.write(_dumps(value))
        self._fh.write("\n")
        self.count += 1

    def write_json(self, line: str) -> None:
        """Write one already-serialised JSON value (no newline inside)."""
        assert self._fh is not None, "use JsonlWriter as a context manager"
        self._fh.write(line)
        self._fh.write("\n")
        self.count += 1

    def __exit__(self, *exc: Any) -> bool | None:
        assert self._fh is not None
        if exc[0] is None:
            self._fh.flush()
            if hasattr(self._fh, "fileno"):
                os.fsync(self._fh.fileno())
        self._fh.close()
        return self._ctx.__exit__(*exc)


class ParquetWriter:
    """Write dict rows to Parquet in batches, atomically, with a fixed Arrow schema."""

    def __init__(self, path: str | os.PathLike[str], schema: Any, batch_size: int = 2048):
        self.path, self.schema, self.batch_size = Path(path), schema, batch_size
        self.count = 0
        self._rows: list[dict[str, Any]] = []
        self._ctx = atomic_path(self.path)
        self._writer: Any = None

    def __enter__(self) -> ParquetWriter:
        import pyarrow.parquet as pq

        tmp = self._ctx.__enter__()
        self._writer = pq.ParquetWriter(tmp, self.schema)
        return self

    def write(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        self.count += 1
        if len(self._rows) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def __exit__(self, *exc: Any) -> bool | None:
        if exc[0] is None:
            self._flush()
        self._writer.close()
        return self._ctx.__exit__(*exc)


def write_jsonl(path: str | os.PathLike[str], values: Any) -> int:
    with JsonlWriter(path) as w:
        for v in values:
            w.write(v)
        return w.count
