"""Prepare a base model once: GGUF (from a package or a user's file) -> HF folder in the cache.

The folder appears in one rename after everything, the provenance file last, is written
under a temporary name: an interrupted or failed prepare (a full disk, a read-only cache)
never looks complete, and leaves nothing behind. A prepared folder is trusted only while its
provenance names the same GGUF (sha256) as the file found now, and its files are still the
ones it recorded (``_manifest``).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from lamstudio.models._convert import convert_gguf
from lamstudio.models._disk import write_error
from lamstudio.models._errors import ModelError
from lamstudio.models._hash import checked_sha256
from lamstudio.models._home import models_home
from lamstudio.models._manifest import FILES, check_files, record_files
from lamstudio.models._progress import status
from lamstudio.models._provenance import PROVENANCE, read_provenance, write_provenance
from lamstudio.models._registry import PackagedModel, RegisteredModel, get_entry

__all__ = ["damaged", "prepare", "prepare_gguf"]


def prepare(name: str | RegisteredModel, force: bool = False, progress: bool = True,
            verify: bool = False) -> Path:
    """The prepared HF folder of a registered model, converting it on first use.

    Raises ``ModelError`` for an unknown name, a package that is not installed (the message
    has the ``pip install`` that brings it), a GGUF whose sha256 is not the pinned one, a
    prepared folder that no longer matches its record (``verify``: hash every file, not
    only the changed ones) or a cache that cannot be written.
    """
    entry = get_entry(name) if isinstance(name, str) else name
    gguf = entry.require_file(progress)
    digest = checked_sha256(gguf, progress)
    if digest != entry.sha256:
        raise ModelError(
            f"{gguf}: sha256 {digest[:12]}… is not the {entry.package} {entry.version} file "
            f"({entry.sha256[:12]}…): the file is corrupt or from another version; reinstall "
            f"it: {entry.pip.replace('--no-deps', '--no-deps --force-reinstall', 1)}")
    about = {k: v for k, v in (("license", entry.license), ("upstream", entry.upstream)) if v}
    return _ensure(entry.name, gguf, _source(entry, gguf, digest), force, progress, verify,
                   arg=entry.name, about=about)


def _source(entry: RegisteredModel, gguf: Path, digest: str) -> dict[str, Any]:
    """What the folder is made from. A split model's joined file is named by its path, as a
    user's GGUF is (the llama.cpp engine runs it), and by the parts it was joined from."""
    if isinstance(entry, PackagedModel):
        return {"kind": "package", "package": entry.package, "version": _version(entry),
                "file": entry.file, "sha256": digest}
    return {"kind": "package", "package": entry.package, "version": entry.version,
            "file": entry.file, "sha256": digest, "path": str(gguf.resolve()),
            "size": entry.size,
            "parts": [{"package": p.package, "version": p.version,
                       "file": f"{p.module}/{p.file}"} for p in entry.parts]}


def prepare_gguf(path: str | os.PathLike[str], force: bool = False,
                 progress: bool = True, verify: bool = False) -> Path:
    """A user's GGUF file, prepared into the cache under a key made of its name and hash."""
    gguf = Path(path).expanduser()
    if not gguf.is_file():
        raise ModelError(f"{gguf}: no such GGUF file")
    digest = checked_sha256(gguf, progress)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", gguf.stem).strip("-.")[:60] or "model"
    source = {"kind": "gguf", "path": str(gguf.resolve()), "sha256": digest}
    return _ensure(f"gguf-{stem}-{digest[:12]}", gguf, source, force, progress, verify,
                   arg=str(gguf))


def damaged(folder: Path, problem: str, arg: str) -> ModelError:
    """The one line for a prepared folder that no longer matches its record."""
    return ModelError(f"{folder}: damaged ({problem}); rebuild it: lamstudio models prepare "
                      f"{arg} --force")


def _version(entry: PackagedModel) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(entry.package)
    except PackageNotFoundError:
        return "unknown"


def _ensure(key: str, gguf: Path, source: dict[str, Any], force: bool, progress: bool,
            verify: bool, arg: str, about: dict[str, Any] | None = None) -> Path:
    target = models_home() / key
    if target.exists() and not force:
        _check_prepared(target, gguf, source, progress, verify, arg)
        return target
    with status(f"preparing {key}: dequantizing {gguf.name} (15 s to a few minutes on 2 "
                "cores)", progress):
        try:
            _build(key, gguf, source, target, about or {})
        except OSError as exc:
            retry = f"models prepare {arg}" + (" --force" if force else "")
            raise write_error(exc, target.parent, key, retry) from None
    return target


def _check_prepared(target: Path, gguf: Path, source: dict[str, Any], progress: bool,
                    verify: bool, arg: str) -> None:
    prov = read_provenance(target)
    if prov is None:
        raise ModelError(f"{target}: exists but is not a prepared model folder (no "
                         f"{PROVENANCE}); rebuild it: lamstudio models prepare {arg} --force")
    was = prov.get("source")
    was_sha = str(was.get("sha256", "?")) if isinstance(was, dict) else "?"
    if was_sha != source["sha256"]:
        raise ModelError(f"{target}: prepared from a different GGUF than {gguf} (sha256 "
                         f"{was_sha[:12]}… vs {source['sha256'][:12]}…); rebuild it: "
                         f"lamstudio models prepare {arg} --force")
    problem = check_files(target, prov, full=verify, progress=progress)
    if problem:
        raise damaged(target, problem, arg)


def _build(key: str, gguf: Path, source: dict[str, Any], target: Path,
           about: dict[str, Any]) -> None:
    import torch
    import transformers

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{key}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()  # an unwritable cache fails here, not after a minute of dequantizing
        facts = convert_gguf(gguf, tmp)
        _usual_modes(tmp)
        prov = {"name": key, "source": source, **about, **facts,
                "transformers": transformers.__version__, "torch": torch.__version__,
                "python": sys.version.split()[0],
                "prepared": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                FILES: record_files(tmp)}
        write_provenance(tmp, prov)
        _publish(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _usual_modes(folder: Path) -> None:
    """safetensors writes through a private temporary file (0600) while its siblings get the
    usual mode: give every file the mode a new file gets here (0644 under umask 022), so
    whoever can read the cache can load the model."""
    probe = folder / ".mode-probe"
    probe.touch()
    mode = stat.S_IMODE(probe.stat().st_mode)
    probe.unlink()
    for path in folder.rglob("*"):
        if path.is_file() and stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)


def _publish(tmp: Path, target: Path) -> None:
    """Swap ``tmp`` in for ``target`` with renames only (the old folder, if any, goes last)."""
    old = target.parent / f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if target.exists():
        target.rename(old)
    try:
        tmp.rename(target)
    except OSError:
        # Another process published the same model meanwhile: keep theirs if complete.
        if read_provenance(target) is None:
            if old.exists() and not target.exists():
                old.rename(target)  # the rebuild failed: the folder is as it was
            raise
    shutil.rmtree(old, ignore_errors=True)
