"""Streaming readers: JSON Lines, JSON array / concatenated JSON, gzip, Parquet.

Memory stays constant in the file size: JSONL is read line by line with a cap on the
line length (an over-long line is skipped, not buffered), JSON arrays are decoded one
element at a time, Parquet one record batch at a time. Every value comes with its file
and 1-based line (row number for Parquet) so errors can point at it.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lamstudio.io._json import (
    JsonValueError,
    check_depth,
    classify,
    element_end,
    parse_json,
    strict_decoder,
)

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"


class InputError(Exception):
    """The input as a whole cannot be read (missing, binary, not JSON at all)."""


@dataclass(frozen=True, slots=True)
class Row:
    file: str
    line: int
    value: Any


@dataclass(frozen=True, slots=True)
class RawRow:
    """A JSON Lines line not decoded yet (``parse_line`` decodes it)."""

    file: str
    line: int
    data: bytes


@dataclass(frozen=True, slots=True)
class BadRow:
    file: str
    line: int
    code: str
    message: str
    raw: str = ""


def _open_binary(path: Path) -> IO[bytes]:
    fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if fh.read(2) == b"\x1f\x8b":
        fh.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    fh.seek(0)
    return fh


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or mostly undecodable / control bytes: not a text data file. A stray bad
    byte in one line is not enough (that row is rejected on its own)."""
    if b"\x00" in head:
        return True
    text = head.decode("utf-8", errors="replace")
    bad = sum(1 for ch in text if ch == "\ufffd" or (ch < " " and ch not in "\t\n\r"))
    return bad > max(8, len(text) // 10)


def check_input(path: str | os.PathLike[str], allow_empty: bool = False) -> Path:
    """The one check every command makes of a data file before reading it, with the same
    one-line ``InputError`` everywhere: missing, a directory, or empty (nothing to read:
    no bytes, only whitespace, ``[]``, a Parquet file of no rows)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a data file")
    if not allow_empty and _is_empty(p):
        raise InputError(f"{p}: is empty, no records to read")
    return p


def _is_empty(p: Path) -> bool:
    if p.stat().st_size == 0:
        return True
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(p).metadata.num_rows == 0
        except Exception:  # noqa: BLE001 - a corrupt file is read_rows' to report
            return False
    try:
        with _open_binary(p) as fh:
            head = fh.read(_EMPTY_PROBE)
    except (OSError, EOFError):
        return False  # unreadable: read_rows says why
    if len(head) == _EMPTY_PROBE:
        return False
    return b"".join(head.removeprefix(_BOM).split()) in (b"", b"[]")


_EMPTY_PROBE = 1 << 16


def read_rows(path: str | os.PathLike[str], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
              allow_empty: bool = False) -> Iterator[Row | BadRow]:
    """Yield every value of a data file, or a ``BadRow`` for a part that cannot be decoded.
    Raises ``InputError`` (see :func:`check_input`) if there is nothing to read."""
    for row in read_raw_rows(path, max_line_bytes, allow_empty):
        if isinstance(row, RawRow):
            yield parse_line(row)
        else:
            yield row


def read_raw_rows(path: str | os.PathLike[str], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                  allow_empty: bool = False) -> Iterator[RawRow | Row | BadRow]:
    """Like ``read_rows``, but a JSON Lines file yields its lines undecoded (``RawRow``,
    blank lines skipped): for a consumer that decodes and validates in one step
    (pydantic's ``model_validate_json``) or in another process. Other files yield rows."""
    p = check_input(path, allow_empty)
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1" or p.suffix == ".parquet":
        yield from _read_parquet(p)
        return
    with _open_binary(p) as fh:
        try:
            head = fh.peek(8192)[:8192] if hasattr(fh, "peek") else b""
        except (OSError, EOFError) as exc:
            raise InputError(f"{p}: cannot read ({exc})") from exc
        if _looks_binary(head):
            raise InputError(f"{p}: is a binary file, not JSON Lines / JSON / Parquet")
        if _is_json_stream(p, head):
            yield from _read_json_stream(fh, str(p))
        else:
            yield from _read_jsonl(fh, str(p), max_line_bytes)


def _is_json_stream(p: Path, head: bytes) -> bool:
    """A JSON array or pretty-printed objects rather than JSON Lines."""
    first = head.removeprefix(_BOM).lstrip()[:1]
    return first == b"[" or (first == b"{" and p.suffix.lower() in (".json", ".gz")
                             and _is_multiline_object(head))


def is_plain_jsonl(path: str | os.PathLike[str]) -> bool:
    """True when ``read_raw_rows`` reads ``path`` as uncompressed JSON Lines: then byte
    ranges of it (``jsonl_ranges``) can be read apart, by other processes."""
    p = check_input(path)
    with open(p, "rb") as fh:
        head = fh.read(8192)
    if head[:4] == b"PAR1" or p.suffix == ".parquet" or head[:2] == b"\x1f\x8b":
        return False
    return not _looks_binary(head) and not _is_json_stream(p, head)


def jsonl_ranges(path: str | os.PathLike[str],
                 size: int = _CHUNK) -> Iterator[tuple[int, int, int]]:
    """``(start, end, first_line)`` byte ranges of a plain JSON Lines file (see
    ``is_plain_jsonl``), about ``size`` bytes each and cut after a newline, so that
    ``read_jsonl_range`` of each, in order, yields what ``read_raw_rows`` yields."""
    start, line, pos = 0, 1, 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(size), b""):
            last = block.rfind(b"\n")
            pos += len(block)
            if last < 0:  # inside a long line: the range goes on
                continue
            end = pos - len(block) + last + 1
            yield start, end, line
            line += block.count(b"\n")
            start = end
    if pos > start:
        yield start, pos, line


def read_jsonl_range(path: str | os.PathLike[str], start: int, end: int, first_line: int,
                     max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
                     ) -> Iterator[RawRow | BadRow]:
    """The rows of one range from ``jsonl_ranges``, in constant memory."""
    with open(path, "rb", buffering=0) as raw:
        raw.seek(start)
        fh = io.BufferedReader(_Window(raw, end - start), _CHUNK)
        yield from _read_jsonl(fh, str(path), max_line_bytes, first_line - 1)


class _Window(io.RawIOBase):
    """The next ``size`` bytes of a file, as a file."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        self.raw, self.left = raw, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        if n <= 0:
            return 0
        got = self.raw.readinto(memoryview(buffer)[:n]) or 0
        self.left -= got
        return got


def _is_multiline_object(head: bytes) -> bool:
    """A pretty-printed object spans lines; a JSONL file's first line is a whole value."""
    first_line = head.removeprefix(_BOM).split(b"\n", 1)[0].strip()
    try:
        json.loads(first_line)
        return False
    except ValueError:
        return True


def _read_jsonl(fh: IO[bytes], name: str, max_line_bytes: int,
                line_no: int = 0) -> Iterator[RawRow | BadRow]:
    while True:
        raw = fh.readline(max_line_bytes + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            size = len(raw) + _skip_rest_of_line(fh)
            yield BadRow(name, line_no, "line_too_long",
                         f"line is {size:,} bytes, over the {max_line_bytes:,}-byte limit",
                         raw[:200].decode("utf-8", "replace"))
            continue
        if line_no == 1:
            raw = raw.removeprefix(_BOM)
        if raw.strip():  # blank lines are not rows
            yield RawRow(name, line_no, raw)


def parse_line(row: RawRow) -> Row | BadRow:
    """Decode one JSONL line: a ``Row``, or a ``BadRow`` with the reason code."""
    try:
        return Row(row.file, row.line, parse_json(row.data))
    except JsonValueError as exc:
        return BadRow(row.file, row.line, exc.code, exc.message,
                      row.data.strip()[:2000].decode("utf-8", "replace"))


def _skip_rest_of_line(fh: IO[bytes]) -> int:
    """Discard the rest of an over-long line; return its length without the newline."""
    skipped = 0
    while True:
        chunk = fh.readline(_CHUNK)
        if chunk.endswith(b"\n"):
            return skipped + len(chunk.rstrip(b"\r\n"))
        skipped += len(chunk)
        if not chunk:
            return skipped


def _read_json_stream(fh: IO[bytes], name: str) -> Iterator[Row | BadRow]:
    """A JSON array (or concatenated JSON values), decoded one element at a time."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="strict", newline="")
    decoder = strict_decoder()
    count = 0
    buf, pos, line, eof = "", 0, 1, False
    in_array: bool | None = None

    def fill() -> None:
        nonlocal buf, pos, eof
        try:
            chunk = text.read(_CHUNK)
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not UTF-8 text ({exc.reason})") from exc
        eof = not chunk
        buf, pos = buf[pos:] + chunk, 0

    def skip(chars: str) -> None:
        nonlocal pos, line
        while True:
            start = pos
            while pos < len(buf) and buf[pos] in chars:
                pos += 1
            line += buf.count("\n", start, pos)
            if pos < len(buf) or eof:
                return
            fill()

    fill()
    skip(" \t\r\n")
    if buf[pos:pos + 1] == "[":
        in_array, pos = True, pos + 1
    while True:
        skip(" \t\r\n," if in_array else " \t\r\n")
        if pos >= len(buf) and eof:
            if in_array:
                yield BadRow(name, line, "bad_json", "file ends before the closing ']'")
            return
        if in_array and buf[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(buf, pos)
            if end == len(buf) and not eof:
                raise ValueError("may continue in the next chunk")
            check_depth(value, strings=True)
        except (ValueError, RecursionError) as exc:
            bad = classify(exc)
            end = element_end(buf, pos) if bad.code != "bad_json" else None
            if end is None or (end == len(buf) and not eof):
                if not eof:
                    fill()
                    continue
                if isinstance(exc, json.JSONDecodeError) and exc.pos >= len(buf.rstrip()):
                    # the file ends inside this element: nothing comes after it
                    yield BadRow(name, line, "bad_json", f"invalid JSON: {exc.msg}; the file "
                                 "ends inside this element", buf[pos:pos + 2000])
                    return
                # Nothing after a broken element can be located: stop the command rather
                # than exit with the rest of the file counted nowhere.
                raise InputError(f"{name}: line {line}: element {count + 1} cannot be read "
                                 f"({bad.message}); the elements after it cannot be located, "
                                 "so the file is refused (fix it, or convert it to JSON "
                                 "Lines, where one bad line is rejected alone)") from None
            yield BadRow(name, line, bad.code, bad.message, buf[pos:min(end, pos + 2000)])
        else:
            yield Row(name, line, value)
        count += 1
        line += buf.count("\n", pos, end)
        pos = end


def _read_parquet(p: Path) -> Iterator[Row | BadRow]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise InputError(f"{p}: not a readable Parquet file ({exc})") from exc
    row = 0
    for batch in pf.iter_batches(batch_size=1024):
        for value in batch.to_pylist():
            row += 1
            yield Row(str(p), row, value)


def count_lines(path: str | os.PathLike[str]) -> int | None:
    """Cheap total for a progress bar (plain JSONL only; None when unknown)."""
    p = Path(path)
    try:
        if p.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(p).metadata.num_rows
        if p.suffix != ".jsonl" or p.stat().st_size > 2 * 1024**3:
            return None
        with open(p, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(_CHUNK), b""))
    except OSError:
        return None
