"""Where prepared models live: ``$LAMSTUDIO_HOME/models`` (default: the user's cache)."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "LAMSTUDIO_HOME"


def lamstudio_home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "lamstudio"


def models_home() -> Path:
    return lamstudio_home() / "models"
