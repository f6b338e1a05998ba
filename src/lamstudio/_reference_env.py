"""A small separate venv holding a reference implementation (BFCL's checker, tau2's
environments) that lamstudio's own code must agree with. Shared by ``eval`` (BFCL) and
``envs`` (tau2), below both, so neither imports the other for it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BFCL_PIN = "bfcl-eval==2026.3.23"


class ReferenceUnavailable(RuntimeError):
    """The reference environment could not be built or run."""


@dataclass
class ReferenceEnv:
    """A venv with a reference implementation: ``pins`` (installed ``--no-deps``) plus a
    fully pinned requirements file (also ``--no-deps``, so nothing unpinned slips in)."""

    root: Path  # the venv directory
    requirements: Path
    pins: tuple[str, ...] = (BFCL_PIN,)

    def __post_init__(self) -> None:
        self.root, self.requirements = Path(self.root).resolve(), Path(self.requirements)

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def _stamp(self) -> str:
        pins = " ".join(self.pins)
        return hashlib.sha256(self.requirements.read_bytes() + pins.encode()).hexdigest()

    def ready(self) -> bool:
        stamp = self.root / ".lamstudio-stamp"
        return self.python.exists() and stamp.exists() and stamp.read_text() == self._stamp()

    def build(self, log: Any = print) -> float:
        """Create the venv if missing or stale; returns the seconds it took (0 if ready)."""
        if self.ready():
            return 0.0
        t0 = time.perf_counter()
        log(f"building {self.root} from {self.requirements} (about a minute) ...")
        steps = [[sys.executable, "-m", "venv", "--clear", str(self.root)],
                 [str(self.python), "-m", "pip", "install", "-q", "--no-deps", *self.pins],
                 [str(self.python), "-m", "pip", "install", "-q", "--no-deps", "-r",
                  str(self.requirements)]]
        for cmd in steps:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise ReferenceUnavailable(f"{' '.join(cmd[:4])} failed:\n{proc.stderr[-2000:]}")
        (self.root / ".lamstudio-stamp").write_text(self._stamp())
        return time.perf_counter() - t0
