"""Every file of a prepared folder, as it was when prepared: size, mtime and sha256.

The provenance lists them (``files``), and a folder is used only while it still matches:
a truncated ``model.safetensors`` must be refused by name, not loaded into a traceback.

The check must keep ``models list`` instant on a 2.5 GB folder, so by default it is
``stat`` only: every recorded file is there with its size. A file whose mtime moved (a
copy, a restore) is hashed once, and if it is unchanged its new mtime is recorded, so the
next check is cheap again. ``full=True`` (``--verify``) hashes every file (~1 s per 100 MB).
Files added later are not checked: lamstudio wrote none of them.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from lamstudio.models._hash import file_sha256, is_hashed
from lamstudio.models._progress import status
from lamstudio.models._provenance import PROVENANCE, write_provenance
from lamstudio.models._weights import completeness_problem

FILES = "files"


def record_files(folder: Path) -> dict[str, dict[str, Any]]:
    """size, mtime_ns and sha256 of every file under ``folder`` but the provenance."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if rel == PROVENANCE or not path.is_file():
            continue
        st = path.stat()
        out[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                    "sha256": file_sha256(path)}
    return out


def check_files(folder: Path, prov: dict[str, Any], full: bool = False,
                progress: bool = False) -> str | None:
    """None while ``folder`` holds the files ``prov`` recorded, else what differs."""
    files = prov.get(FILES)
    if files is None:
        return _adopt(folder, prov)
    if not _well_formed(files):
        return f"{PROVENANCE} has no readable list of files"
    moved: dict[str, int] = {}
    for rel, want in files.items():
        problem, mtime = _check_one(folder, rel, want, full, progress)
        if problem:
            return problem
        if mtime != want["mtime_ns"]:
            moved[rel] = mtime
    if moved:  # same bytes, new mtimes: remember them so the next check is stat only
        fresh = {rel: {**want, "mtime_ns": moved.get(rel, want["mtime_ns"])}
                 for rel, want in files.items()}
        _save(folder, {**prov, FILES: fresh})
    return None


def _check_one(folder: Path, rel: str, want: dict[str, Any], full: bool,
               progress: bool) -> tuple[str | None, int]:
    path = folder / rel
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return f"{rel} is not a file", 0
        if st.st_size != want["size"]:
            return f"{rel} is {st.st_size:,} bytes, {want['size']:,} when prepared", 0
        if full or st.st_mtime_ns != want["mtime_ns"]:
            with status(f"checking {folder.name}/{rel} (sha256)",
                        progress and not is_hashed(path), done=False):
                digest = file_sha256(path)
            if digest != want["sha256"]:
                return (f"{rel} changed since it was prepared (sha256 {digest[:12]}…, "
                        f"{want['sha256'][:12]}… when prepared)"), 0
    except FileNotFoundError:
        return f"{rel} is missing", 0
    except OSError as exc:
        return f"{rel} cannot be read ({exc.strerror or exc})", 0
    return None, st.st_mtime_ns


def _well_formed(files: Any) -> bool:
    if not isinstance(files, dict) or not files:
        return False
    for rel, want in files.items():
        parts = Path(rel).parts
        if not parts or Path(rel).is_absolute() or ".." in parts:  # stays inside the folder
            return False
        if not isinstance(want, dict) or not all(
                type(want.get(k)) is t for k, t in (("size", int), ("mtime_ns", int),
                                                    ("sha256", str))):
            return False
    return True


def _adopt(folder: Path, prov: dict[str, Any]) -> str | None:
    """A folder prepared before files were recorded: trusted when its weights and JSON
    files are complete, and then its files are recorded (a rebuild costs 15-90 s)."""
    problem = completeness_problem(folder)
    if problem is not None:
        return problem
    try:
        files = record_files(folder)
    except OSError as exc:
        return f"{Path(exc.filename or '?').name} cannot be read ({exc.strerror or exc})"
    _save(folder, {**prov, FILES: files})
    return None


def _save(folder: Path, prov: dict[str, Any]) -> None:
    try:
        write_provenance(folder, prov)
    except OSError:
        pass  # a read-only cache still works: the check just repeats its hashing
