"""What ``lamstudio models list`` shows: each registered model, installed? prepared? where?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lamstudio.models._home import models_home
from lamstudio.models._prepare import read_provenance
from lamstudio.models._registry import PackagedModel, registered


@dataclass(frozen=True)
class ModelStatus:
    entry: PackagedModel
    installed: bool
    prepared: bool
    path: Path
    size_bytes: int  # of the prepared folder (0 when not prepared)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def model_status() -> list[ModelStatus]:
    """One row per registered model; cheap (no hashing, no torch)."""
    out = []
    for entry in registered():
        path = models_home() / entry.name
        prepared = read_provenance(path) is not None
        out.append(ModelStatus(entry, entry.installed_file() is not None, prepared, path,
                               folder_size(path) if prepared else 0))
    return out
