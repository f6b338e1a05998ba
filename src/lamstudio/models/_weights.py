"""Is a model folder complete? Checked from its own structure, without a record of it.

A safetensors file is an 8-byte header length, a JSON header giving every tensor's byte
range, then the data: complete exactly when the last range ends at the end of the file. This
is how a folder prepared before files were recorded is checked before it is trusted.
"""

from __future__ import annotations

from pathlib import Path

from lamstudio.io import JsonValueError, parse_json

_MAX_HEADER = 100 << 20  # safetensors' own limit on the header


def completeness_problem(folder: Path) -> str | None:
    """None when every weights file is complete and every JSON file parses, else why not."""
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        return "no weights file (*.safetensors)"
    for path in weights:
        if not _safetensors_complete(path):
            return f"{path.name} is not a complete safetensors file"
    for path in sorted(folder.glob("*.json")):
        try:
            parse_json(path.read_bytes())
        except (OSError, JsonValueError):
            return f"{path.name} is not readable JSON"
    return None


def _safetensors_complete(path: Path) -> bool:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if size < 8 or n > min(size - 8, _MAX_HEADER):
                return False
            header = parse_json(fh.read(n))
        ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
        return 8 + n + max(ends, default=0) == size
    except (OSError, JsonValueError, AttributeError, KeyError, IndexError, TypeError):
        return False
