"""Fixtures for env tests: tau2-bench's own environment in its own venv (built once)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lamstudio.envs import TAU2_PIN
from lamstudio.eval import ReferenceEnv, ReferenceUnavailable

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "tests" / "envs" / "tau2_reference_requirements.txt"


def tau2_reference_env() -> ReferenceEnv:
    return ReferenceEnv(REPO / ".venv-tau2", REQUIREMENTS, pins=(TAU2_PIN,))


@pytest.fixture(scope="session")
def tau2_reference() -> ReferenceEnv:
    """``.venv-tau2`` with tau2's environments (about a minute to build the first time). In
    CI (CI=true) failing to build it is a test failure, never a silent skip."""
    env = tau2_reference_env()
    try:
        seconds = env.build(log=lambda m: print(m, flush=True))
    except (ReferenceUnavailable, OSError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"cannot build the tau2 reference environment in CI: {exc}")
        pytest.skip(f"tau2 reference environment unavailable here: {exc}")
    if seconds:
        print(f"built {env.root} in {seconds:.0f} s")
    return env
