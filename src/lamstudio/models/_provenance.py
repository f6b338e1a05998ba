"""``lamstudio_model.json``: what a prepared folder was made from, with what, and its files.

It is read back from disk, so it is outside bytes: read through the hardened parser, and
anything but a JSON object means "not a prepared folder". It is replaced atomically (a
temporary file, then one rename) so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from lamstudio.io import JsonValueError, parse_json

PROVENANCE = "lamstudio_model.json"


def read_provenance(folder: Path) -> dict[str, Any] | None:
    try:
        value = parse_json((folder / PROVENANCE).read_bytes())
    except (OSError, JsonValueError):
        return None
    return value if isinstance(value, dict) else None


def write_provenance(folder: Path, prov: dict[str, Any]) -> None:
    tmp = folder / f".{PROVENANCE}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(json.dumps(prov, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, folder / PROVENANCE)
    finally:
        tmp.unlink(missing_ok=True)


def prepare_command(prov: dict[str, Any]) -> str:
    """The ``lamstudio models prepare`` argument that made this folder."""
    source = prov.get("source")
    if isinstance(source, dict) and source.get("kind") == "gguf":
        return str(source.get("path", "FILE.gguf"))
    return str(prov.get("name", "NAME"))
