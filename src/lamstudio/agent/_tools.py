"""Where an episode's calls run: a ``Toolbox`` over the tool sandbox or over an environment.

Every outcome is the text of a ``tool`` message. Failures of any kind come back in one
shape the model can read, ``{"error": "...", "error_code": "..."}`` (the sandbox's own
shape), with the sandbox's codes: ``unknown_tool``, ``bad_arguments``, ``tool_error``,
``timeout``, ...
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jsonschema import Draft202012Validator

from lamstudio.agent._task import AgentTask, TaskError
from lamstudio.agent._text import shown

Call = tuple[str, dict[str, Any]]


@dataclass
class ToolOutcome:
    content: str
    ok: bool = True
    error_code: str | None = None


def error_outcome(code: str, message: str) -> ToolOutcome:
    return ToolOutcome(json.dumps({"error": message, "error_code": code}, ensure_ascii=False),
                       ok=False, error_code=code)


def unknown_tool(name: str, offered: Sequence[str]) -> ToolOutcome:
    """The error for a call to a tool that is not offered, with the names that are (or,
    past 20, the closest ones: a long list helps no one)."""
    if len(offered) <= 20:
        hint = f"available tools: {', '.join(offered) or 'none'}"
    else:
        close = difflib.get_close_matches(name, offered, n=5, cutoff=0.5)
        hint = f"{len(offered)} tools are available" + (
            f"; closest names: {', '.join(close)}" if close else "")
    return error_outcome("unknown_tool", f"unknown tool {shown(name)}; {hint}")


class Toolbox(Protocol):
    """The tools of one episode. ``report`` is what the episode's ``meta`` gets at the end
    (an environment's final state hash and reward)."""

    def specs(self) -> list[dict[str, Any]]: ...

    def run(self, calls: Sequence[Call]) -> list[ToolOutcome]: ...

    def report(self) -> dict[str, Any]: ...


def schema_problems(spec: dict[str, Any], arguments: Any) -> list[str]:
    """Why ``arguments`` do not fit a tool spec's parameter schema (empty when they do)."""
    if not isinstance(arguments, dict):
        return [f"arguments must be a JSON object, got {type(arguments).__name__}"]
    params = spec.get("function", spec).get("parameters") or {"type": "object"}
    out = []
    for err in Draft202012Validator(params).iter_errors(arguments):
        where = "/".join(str(p) for p in err.absolute_path)
        out.append(f"argument {where!r}: {err.message}" if where else err.message)
    return out


class SandboxToolbox:
    """Calls run in a started ``lamstudio.tools.Sandbox`` (isolated worker processes).
    ``names`` limits the tools offered (a task's own tool list)."""

    def __init__(self, sandbox: Any, names: Sequence[str] | None = None) -> None:
        missing = [n for n in names or [] if n not in sandbox.tools]
        if missing:
            raise TaskError("unknown_tools", f"no tool module provides {', '.join(missing)}",
                            "tools")
        self.sandbox = sandbox
        self.names = list(names) if names else list(sandbox.tools)

    def specs(self) -> list[dict[str, Any]]:
        return [self.sandbox.tools[n].model_dump(exclude_none=True) for n in self.names]

    def run(self, calls: Sequence[Call]) -> list[ToolOutcome]:
        results = self.sandbox.map(list(calls))
        return [ToolOutcome(r.content(), r.ok, r.error_code) for r in results]

    def report(self) -> dict[str, Any]:
        return {}


class EnvToolbox:
    """Calls are actions on a fresh instance of one of ``lamstudio.envs`` (lamstudio's own,
    trusted code: run in this process). With ground-truth calls the report carries the
    reward: 1.0 when the final state hash equals that of replaying the ground truth on a
    fresh instance, else 0.0."""

    def __init__(self, env: str, initial_state: dict[str, Any] | None = None,
                 ground_truth: Sequence[Sequence[str]] | None = None) -> None:
        from lamstudio.envs import EnvRunner, actions, make_env, tool_specs

        try:
            self.runner = EnvRunner(make_env(env, initial_state))
        except KeyError as exc:
            raise TaskError("unknown_env", str(exc.args[0]), "env") from None
        self.name, self.initial_state, self.ground_truth = env, initial_state, ground_truth
        self.methods = actions(self.runner.env)
        self._specs = {s["function"]["name"]: s for s in tool_specs(self.runner.env)}

    def specs(self) -> list[dict[str, Any]]:
        return list(self._specs.values())

    def run(self, calls: Sequence[Call]) -> list[ToolOutcome]:
        return [self._one(name, args) for name, args in calls]  # in order: state is shared

    def _one(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        from lamstudio.envs import EnvError

        method: Callable[..., Any] | None = self.methods.get(name)
        if method is None:
            return error_outcome("unknown_tool", f"unknown tool {name!r}")
        known = self._specs[name]["function"].get("parameters", {}).get("properties", {})
        extra = [k for k in args if k not in known]
        if extra:
            return error_outcome("bad_arguments", f"{name}: unexpected argument(s) "
                                                  f"{', '.join(map(repr, extra))}")
        try:
            value = method(**args)
        except EnvError as exc:
            return error_outcome("tool_error", f"{name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a failing action is a result the model sees
            return error_outcome("tool_error", f"{name}: {type(exc).__name__}: {exc}")
        return ToolOutcome(json.dumps(value, ensure_ascii=False, default=str))

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"env": self.name, "state_hash": self.runner.state_hash()}
        if self.ground_truth is not None:
            out["expected_state_hash"] = self._replay_hash()
            out["reward"] = 1.0 if out["expected_state_hash"] == out["state_hash"] else 0.0
        return out

    def _replay_hash(self) -> str:
        from lamstudio.envs import EnvRunner, make_env

        truth = EnvRunner(make_env(self.name, self.initial_state))
        for turn in self.ground_truth or []:
            for call in turn:
                truth.run(call)
        return truth.state_hash()


def make_toolbox(task: AgentTask, sandbox: Any | None = None) -> Toolbox:
    """An environment task gets a fresh environment; any other the sandbox's tools."""
    if task.env:
        return EnvToolbox(task.env, task.initial_state, task.ground_truth)
    if sandbox is None:
        raise TaskError("no_tools", "the task names no environment and no tool sandbox is "
                        "running", "env")
    return SandboxToolbox(sandbox, task.tools)
