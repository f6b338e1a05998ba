"""Prepare a base model once: GGUF (from a package or a user's file) -> HF folder in the cache.

The folder appears in one rename after everything, the provenance file last, is written
under a temporary name: an interrupted prepare never looks complete. A prepared folder is
trusted only while its provenance names the same GGUF (sha256) as the file found now.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lamstudio.models._convert import convert_gguf
from lamstudio.models._errors import ModelError
from lamstudio.models._hash import file_sha256, is_hashed
from lamstudio.models._home import models_home
from lamstudio.models._registry import PackagedModel, get_entry

PROVENANCE = "lamstudio_model.json"


def read_provenance(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _status(message: str, show: bool, done: bool = True) -> Iterator[None]:
    """A rich spinner on stderr (dequantizing takes 15-70 s), then a line with the time."""
    if not show:
        yield
        return
    from rich.console import Console

    console = Console(file=sys.stderr)  # this stream, even while stderr is redirected
    start = time.monotonic()
    with console.status(message):
        yield
    if done:
        console.print(f"{message.split(':')[0]}: done in {time.monotonic() - start:.0f} s",
                      soft_wrap=True)


def prepare(name: str | PackagedModel, force: bool = False, progress: bool = True) -> Path:
    """The prepared HF folder of a registered model, converting it on first use.

    Raises ``ModelError`` for an unknown name, a package that is not installed (the message
    has the ``pip install`` that brings it) or a GGUF whose sha256 is not the pinned one.
    """
    entry = get_entry(name) if isinstance(name, str) else name
    gguf = entry.require_file()
    with _status(f"checking {gguf.name} (sha256)", progress and not is_hashed(gguf), done=False):
        digest = file_sha256(gguf)
    if digest != entry.sha256:
        raise ModelError(
            f"{gguf}: sha256 {digest[:12]}… is not the {entry.package} {entry.version} file "
            f"({entry.sha256[:12]}…): the file is corrupt or from another version; reinstall "
            f"it: {entry.pip.replace('--no-deps', '--no-deps --force-reinstall', 1)}")
    source = {"kind": "package", "package": entry.package, "version": _version(entry),
              "file": entry.file, "sha256": digest}
    return _ensure(entry.name, gguf, source, force, progress, fix=f"models prepare "
                   f"{entry.name} --force")


def prepare_gguf(path: str | os.PathLike[str], force: bool = False,
                 progress: bool = True) -> Path:
    """A user's GGUF file, prepared into the cache under a key made of its name and hash."""
    gguf = Path(path).expanduser()
    if not gguf.is_file():
        raise ModelError(f"{gguf}: no such GGUF file")
    with _status(f"checking {gguf.name} (sha256)", progress and not is_hashed(gguf), done=False):
        digest = file_sha256(gguf)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", gguf.stem).strip("-.")[:60] or "model"
    source = {"kind": "gguf", "path": str(gguf.resolve()), "sha256": digest}
    return _ensure(f"gguf-{stem}-{digest[:12]}", gguf, source, force, progress,
                   fix=f"models prepare {gguf} --force")


def _version(entry: PackagedModel) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(entry.package)
    except PackageNotFoundError:
        return "unknown"


def _ensure(key: str, gguf: Path, source: dict[str, Any], force: bool, progress: bool,
            fix: str) -> Path:
    target = models_home() / key
    if target.exists() and not force:
        prov = read_provenance(target)
        if prov is None:
            raise ModelError(f"{target}: exists but is not a prepared model folder (no "
                             f"{PROVENANCE}); rebuild it: lamstudio {fix}")
        if prov.get("source", {}).get("sha256") != source["sha256"]:
            raise ModelError(f"{target}: prepared from a different GGUF than {gguf} "
                             f"(sha256 {prov.get('source', {}).get('sha256', '?')[:12]}… vs "
                             f"{source['sha256'][:12]}…); rebuild it: lamstudio {fix}")
        return target
    with _status(f"preparing {key}: dequantizing {gguf.name} (15-70 s on 2 cores)",
                 progress):
        _build(key, gguf, source, target)
    return target


def _build(key: str, gguf: Path, source: dict[str, Any], target: Path) -> None:
    import torch
    import transformers

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{key}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        facts = convert_gguf(gguf, tmp)
        prov = {"name": key, "source": source, **facts,
                "transformers": transformers.__version__, "torch": torch.__version__,
                "python": sys.version.split()[0],
                "prepared": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (tmp / PROVENANCE).write_text(json.dumps(prov, indent=2) + "\n", encoding="utf-8")
        _publish(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
            raise
    shutil.rmtree(old, ignore_errors=True)
