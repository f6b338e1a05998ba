"""Fixtures for eval tests: BFCL's own checker in its own venv (built once, on demand)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lamstudio.eval._reference import ReferenceEnv, ReferenceUnavailable

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "tests" / "eval" / "bfcl_reference_requirements.txt"


@pytest.fixture(scope="session")
def bfcl_reference() -> ReferenceEnv:
    """``.venv-bfcl`` with bfcl-eval's checker. Building it takes about a minute the first
    time. In CI (CI=true) failing to build it is a test failure, never a silent skip."""
    env = ReferenceEnv(REPO / ".venv-bfcl", REQUIREMENTS)
    try:
        seconds = env.build(log=lambda m: print(m, flush=True))
    except (ReferenceUnavailable, OSError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"cannot build the BFCL reference environment in CI: {exc}")
        pytest.skip(f"BFCL reference environment unavailable here: {exc}")
    if seconds:
        print(f"built {env.root} in {seconds:.0f} s")
    return env
