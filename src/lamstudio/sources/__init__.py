"""Readers and writers for agent-data formats: one module per format, each with
``load(path) -> Iterator[Trajectory]``, ``dump(records, path)``, ``from_row`` and ``to_row``."""

from __future__ import annotations

import importlib
from types import ModuleType

from lamstudio.sources._base import (
    Result,
    SourceError,
    convert_rows,
    dump_with,
    load_with,
    parse_json_field,
    require,
)

# name -> module; a module is imported only when used.
FORMATS: dict[str, str] = {
    "lamstudio": "lamstudio.sources.lamstudio",
    "apigen": "lamstudio.sources.apigen",
    "openai": "lamstudio.sources.openai",
    "sharegpt": "lamstudio.sources.sharegpt",
    "actionstudio": "lamstudio.sources.actionstudio",
    "react": "lamstudio.sources.react",
    "bfcl": "lamstudio.sources.bfcl",
}


def get_format(name: str) -> ModuleType:
    """The module of a format, by name (``FORMATS`` lists them)."""
    if name not in FORMATS:
        raise KeyError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])


__all__ = ["FORMATS", "Result", "SourceError", "convert_rows", "dump_with", "get_format",
           "load_with", "parse_json_field", "require"]
