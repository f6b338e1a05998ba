"""What every lamstudio environment shares: state is data, actions are tools, and a hash
of the state decides success.

An environment is a plain class whose ``state`` attribute holds JSON-like data and whose
public methods are its actions (documented Google-style, so ``lamstudio.tools.build_spec``
turns them into tool specs). :class:`EnvRunner` drives one instance for the multi-turn
checker: it runs calls (failures become results the model sees) and shows the state.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from lamstudio.tools import Call, dispatch, state_hash


class EnvError(Exception):
    """An action refused (unknown id, not enough money ...): the model sees the message."""


def actions(env: Any) -> dict[str, Callable[..., Any]]:
    """The environment's actions by name: its public methods, unless it lists them itself
    (``_actions()``, as the tau2 domains do)."""
    if hasattr(env, "_actions"):
        return env._actions()
    return {name: m for name, m in inspect.getmembers(env, predicate=inspect.ismethod)
            if not name.startswith("_")}


def tool_specs(env: Any) -> list[dict[str, Any]]:
    """OpenAI-style tool specs of the environment's actions (its own ``tools`` when it has
    them, else built from the methods' docstrings)."""
    if hasattr(env, "tools"):
        return list(env.tools)
    from lamstudio.tools import build_spec

    return [build_spec(m).model_dump(exclude_none=True) for m in actions(env).values()]


def system_prompt(env: Any) -> str | None:
    """The environment's policy for the agent (tau2: the domain's policy.md)."""
    return getattr(env, "system", None)


def write_tools(env: Any) -> frozenset[str]:
    """Names of the actions that may change the state (the rest only read)."""
    return frozenset(getattr(env, "write_tools", ()))


def env_state_hash(env: Any) -> str:
    """A deterministic digest of the environment's state."""
    if hasattr(env, "_state_hash"):
        return env._state_hash()
    return state_hash(env.state)


def _formatted(method: Callable[..., Any], fmt: Callable[[Any], str]) -> Callable[..., str]:
    return lambda *args, **kwargs: fmt(method(*args, **kwargs))


class EnvRunner:
    """Executor over one environment instance (see ``lamstudio.eval.check_multi_turn``)."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.methods = actions(env)
        if hasattr(env, "_result_text"):  # the environment says how results read (tau2: JSON)
            self.methods = {n: _formatted(m, env._result_text) for n, m in self.methods.items()}

    def run(self, call: Call | str) -> str:
        return dispatch(self.methods, call)

    def snapshot(self) -> dict[str, Any]:
        # The hash is the verdict; the state itself is kept for a readable diff.
        return {type(self.env).__name__: {"state_hash": env_state_hash(self.env)}}

    def state_hash(self) -> str:
        return env_state_hash(self.env)
