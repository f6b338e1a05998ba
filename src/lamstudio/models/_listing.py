"""What ``lamstudio models list`` shows: each registered model, installed? prepared? where?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lamstudio.models._home import models_home
from lamstudio.models._manifest import check_files
from lamstudio.models._parts import SplitModel
from lamstudio.models._provenance import read_provenance
from lamstudio.models._registry import RegisteredModel, registered


@dataclass(frozen=True)
class ModelStatus:
    entry: RegisteredModel
    installed: bool  # the package (every part of a split model) is installed
    prepared: bool  # a prepared folder that still matches its record
    path: Path
    size_bytes: int  # of the prepared folder (0 when not prepared)
    damage: str | None = None  # why a prepared folder no longer matches (then not prepared)
    parts_found: int | None = None  # of a split model's parts, how many are installed

    @property
    def installed_label(self) -> str:
        """``yes``/``no``, or ``k/n parts`` for a model split across packages."""
        if isinstance(self.entry, SplitModel):
            return f"{self.parts_found}/{len(self.entry.parts)} parts"
        return "yes" if self.installed else "no"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def model_status(verify: bool = False, progress: bool = False) -> list[ModelStatus]:
    """One row per registered model; cheap (``stat`` only, no torch) unless a file's mtime
    moved or ``verify`` asks to hash every file."""
    out = []
    for entry in registered():
        path = models_home() / entry.name
        prov = read_provenance(path)
        damage = check_files(path, prov, verify, progress) if prov is not None else None
        prepared = prov is not None and damage is None
        if isinstance(entry, SplitModel):
            found: int | None = sum(p is not None for p in entry.found_parts())
            installed = found == len(entry.parts)
        else:
            found, installed = None, entry.installed_file() is not None
        out.append(ModelStatus(entry, installed, prepared, path,
                               folder_size(path) if prepared else 0, damage, found))
    return out
