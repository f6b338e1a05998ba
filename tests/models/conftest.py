"""A tiny real model registered by name, prepared once per session, copied per test.

``tiny`` gives each test its own ``LAMSTUDIO_HOME`` holding a prepared copy (mtimes kept,
so it is exactly as ``prepare`` left it) and the name ``tiny-test`` in the registry, backed
by a real importable package that holds the GGUF, as an installed wheel would.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.models.tiny_gguf import write_tiny_gguf

from lamstudio.models import REGISTRY, PackagedModel, prepare

MODULE = "lamstudio_tiny_test_model"


@dataclass(frozen=True)
class Tiny:
    entry: PackagedModel
    gguf: Path
    home: Path  # this test's LAMSTUDIO_HOME

    @property
    def folder(self) -> Path:
        return self.home / "models" / self.entry.name


@pytest.fixture(scope="session")
def tiny_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PackagedModel]:
    if importlib.util.find_spec("gguf") is None:
        pytest.skip("the gguf package is not installed (pip install gguf)")
    site = tmp_path_factory.mktemp("tiny-site")
    (site / MODULE).mkdir()
    (site / MODULE / "__init__.py").write_text("raise ImportError('never imported')\n")
    gguf = write_tiny_gguf(site / MODULE / "tiny.gguf")
    entry = PackagedModel(name="tiny-test", package="lamstudio-tiny-test-model",
                          version="1.0", module=MODULE, file="tiny.gguf",
                          sha256=hashlib.sha256(gguf.read_bytes()).hexdigest())
    return site, entry


@pytest.fixture(scope="session")
def tiny_prepared(tiny_site: tuple[Path, PackagedModel],
                  tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LAMSTUDIO_HOME where ``tiny-test`` was prepared (once per session)."""
    site, entry = tiny_site
    home = tmp_path_factory.mktemp("tiny-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(site))
        mp.setenv("LAMSTUDIO_HOME", str(home))
        prepare(entry, progress=False)
    return home


@pytest.fixture
def tiny(tiny_site: tuple[Path, PackagedModel], tiny_prepared: Path, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Tiny]:
    site, entry = tiny_site
    home = tmp_path / "home"
    shutil.copytree(tiny_prepared, home)  # copy2: mtimes kept
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("LAMSTUDIO_HOME", str(home))
    monkeypatch.setitem(REGISTRY, entry.name, entry)
    yield Tiny(entry, site / MODULE / "tiny.gguf", home)
