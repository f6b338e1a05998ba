"""sha256 of model files, computed once per process per unchanged file (~1 s per 100 MB)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lamstudio.models._errors import ModelError
from lamstudio.models._progress import status

_SEEN: dict[tuple[str, int, int], str] = {}


def _key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def is_hashed(path: Path) -> bool:
    """True when ``file_sha256`` would answer at once (no status line needed)."""
    return _key(path) in _SEEN


def file_sha256(path: Path) -> str:
    key = _key(path)
    if key not in _SEEN:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _SEEN[key] = h.hexdigest()
    return _SEEN[key]


def remember(path: Path, digest: str) -> None:
    """Record the sha256 of a file just written and hashed on the way (a joined GGUF)."""
    _SEEN[_key(path)] = digest


def checked_sha256(path: Path, progress: bool) -> str:
    """``file_sha256`` with a status line while it runs, and an unreadable file as one
    ``ModelError`` line."""
    try:
        with status(f"checking {path.name} (sha256)", progress and not is_hashed(path),
                    done=False):
            return file_sha256(path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read it ({exc.strerror or exc})") from None
