"""lamstudio's own stateful environments for multi-turn tasks: state is data, actions are
tools, and a hash of the final state decides success.

>>> from lamstudio.envs import make_env, EnvRunner, TASKS
>>> runner = EnvRunner(make_env("store"))
>>> runner.run("place_order(customer='alice', product='mug')")
'{"order_id": "o1", "total": 7.5}'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamstudio.envs._base import EnvError, EnvRunner, actions, tool_specs
from lamstudio.envs._store import OrderStore
from lamstudio.envs._tasks import TASKS
from lamstudio.envs._todo import TodoCalendar

ENVS: dict[str, Callable[..., Any]] = {"todo": TodoCalendar, "store": OrderStore}


def make_env(name: str, state: dict[str, Any] | None = None) -> Any:
    if name not in ENVS:
        raise KeyError(f"unknown environment {name!r}; choose one of: {', '.join(ENVS)}")
    return ENVS[name](state)


def task_factory(task: dict[str, Any]) -> Callable[[], EnvRunner]:
    """Fresh runners for one task (the checker needs two: model and ground truth)."""
    return lambda: EnvRunner(make_env(task["env"], task.get("initial_state")))


__all__ = ["ENVS", "TASKS", "EnvError", "EnvRunner", "OrderStore", "TodoCalendar", "actions",
           "make_env", "task_factory", "tool_specs"]
