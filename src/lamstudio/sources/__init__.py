"""Readers and writers for agent-data formats: one module per format, each with
``load(path) -> Iterator[Trajectory]``, ``dump(records, path)``, ``from_row`` and ``to_row``."""

from __future__ import annotations

from lamstudio.sources._base import (
    Result,
    SourceError,
    convert_rows,
    dump_with,
    load_with,
    lost_fields,
    parse_json_field,
    require,
)
from lamstudio.sources._convert import convert
from lamstudio.sources._registry import FORMATS, UnknownFormat, get_format
from lamstudio.sources._sniff import sniff_format

__all__ = ["FORMATS", "Result", "SourceError", "UnknownFormat", "convert", "convert_rows",
           "dump_with", "get_format", "load_with", "lost_fields", "parse_json_field", "require",
           "sniff_format"]
