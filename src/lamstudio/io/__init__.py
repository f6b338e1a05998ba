"""Streaming readers, atomic writers, rejects and the per-stage tally."""

from lamstudio.io._json import (
    MAX_DEPTH,
    JsonValueError,
    check_value,
    decode_prefix,
    element_end,
    find_json,
    needs_care,
    parse_json,
)
from lamstudio.io._readers import (
    DEFAULT_MAX_LINE_BYTES,
    BadRow,
    InputError,
    RawRow,
    Row,
    check_input,
    count_lines,
    is_plain_jsonl,
    jsonl_ranges,
    parse_line,
    read_jsonl_range,
    read_raw_rows,
    read_rows,
)
from lamstudio.io._rejects import Reject, RejectWriter, Tally, default_rejects_path
from lamstudio.io._writers import JsonlWriter, ParquetWriter, atomic_path, write_jsonl

__all__ = [
    "DEFAULT_MAX_LINE_BYTES", "MAX_DEPTH", "BadRow", "InputError", "JsonValueError",
    "JsonlWriter", "ParquetWriter", "RawRow", "Reject", "RejectWriter", "Row", "Tally",
    "atomic_path", "check_input", "check_value", "count_lines", "decode_prefix",
    "default_rejects_path", "element_end", "find_json", "is_plain_jsonl",
    "jsonl_ranges", "needs_care", "parse_json", "parse_line", "read_jsonl_range",
    "read_raw_rows", "read_rows", "write_jsonl",
]
