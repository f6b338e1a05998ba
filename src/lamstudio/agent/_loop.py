"""One episode: the model acts, its calls run, it sees the results, until it answers and
the user has nothing more to say, or the step limit is hit, or the model fails.

The model is any ``lamstudio.llm.ChatBackend`` (an OpenAI-compatible endpoint, or
``LocalBackend``); calls run in a ``Toolbox`` (the tool sandbox or an environment); the
user is a ``User`` (scripted turns by default). Every failed call becomes a ``tool``
message ``{"error": ..., "error_code": ...}``: unknown tools, arguments that are not JSON
or do not fit the schema are caught here before anything runs; exceptions and timeouts
come from the toolbox.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lamstudio.agent._task import AgentTask
from lamstudio.agent._tools import Toolbox, ToolOutcome, error_outcome, schema_problems
from lamstudio.agent._user import ScriptedUser, User
from lamstudio.llm import LLMError
from lamstudio.schema import Trajectory

STOP_REASONS = ("answered", "step_limit", "model_error")


@dataclass
class AgentConfig:
    """``max_steps``: model calls per episode (all user turns together). ``params`` go to
    the backend (``temperature``, ``max_tokens``, ``seed``, ...)."""

    max_steps: int = 10
    params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.0,
                                                              "max_tokens": 512})
    endpoint: str = ""  # recorded in meta: base URL, or "local"
    source: str = "agent"


def is_fatal(exc: BaseException) -> bool:
    """Faults of the whole run, not of one episode: the key was refused, the URL or the
    model is wrong. Every other episode would fail the same way, so the run stops."""
    return isinstance(exc, LLMError) and exc.status in (401, 403, 404)


@dataclass
class _Call:
    id: str
    name: str
    arguments: dict[str, Any]
    problem: ToolOutcome | None = None


async def run_episode(backend: Any, task: AgentTask, toolbox: Toolbox,
                      user: User | None = None, config: AgentConfig | None = None) -> Trajectory:
    """Play one task to the end and return it as a record (see the module docstring)."""
    config = config or AgentConfig()
    user = user if user is not None else ScriptedUser(task.turns)
    specs = toolbox.specs()
    by_name = {s["function"]["name"]: s for s in specs}
    messages = [dict(m) for m in task.messages]
    stats: dict[str, Any] = {"steps": 0, "tool_calls": 0, "errors": Counter()}
    started = time.perf_counter()
    stop, error = "step_limit", None
    while stats["steps"] < config.max_steps:
        try:
            result = await backend.complete(_wire(messages, task.system), specs or None,
                                            **config.params)
        except Exception as exc:  # noqa: BLE001 - any backend failure ends the episode
            if is_fatal(exc):
                raise
            stop, error = "model_error", f"{type(exc).__name__}: {exc}"
            break
        stats["steps"] += 1
        calls = _read_calls(result.tool_calls, stats["steps"], by_name)
        messages.append(_assistant(result.content, calls))
        if calls:
            await _run_calls(toolbox, calls, messages, stats)
            continue
        nxt = await user.reply(messages)
        if nxt is None:
            stop = "answered"
            break
        messages.append({"role": "user", "content": nxt})
    agent = {"task_id": task.id, "stop": stop, "steps": stats["steps"],
             "tool_calls": stats["tool_calls"], "tool_errors": dict(stats["errors"]),
             "model": getattr(backend, "model", ""), "endpoint": config.endpoint,
             "seconds": round(time.perf_counter() - started, 3), **toolbox.report()}
    if error:
        agent["error"] = error
    return Trajectory.model_validate({
        "id": task.id, "source": config.source, "system": task.system, "tools": specs,
        "messages": messages, "meta": {**task.meta, "agent": agent}})


def _read_calls(raw: list[dict[str, Any]], step: int,
                by_name: dict[str, dict[str, Any]]) -> list[_Call]:
    """The model's calls with ids unique in the episode (servers often reuse ``call_0``);
    calls that cannot run get their error here."""
    out = []
    for k, item in enumerate(raw or []):
        fn = item.get("function", item) if isinstance(item, dict) else {}
        name = fn.get("name") if isinstance(fn.get("name"), str) and fn.get("name") else ""
        call = _Call(f"call_{step}_{k}", name or "<missing>", {})
        args: Any = fn.get("arguments")
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as exc:
                call.problem = error_outcome("bad_arguments", f"{call.name}: arguments are "
                                             f"not valid JSON ({exc.msg} at char {exc.pos})")
        args = {} if args is None else args
        if isinstance(args, dict):
            call.arguments = args
        if call.problem is None:
            call.problem = _precheck(call.name, args, by_name)
        out.append(call)
    return out


def _precheck(name: str, args: Any, by_name: dict[str, dict[str, Any]]) -> ToolOutcome | None:
    if name not in by_name:
        offered = sorted(by_name)
        if len(offered) <= 20:
            hint = f"available tools: {', '.join(offered) or 'none'}"
        else:  # a long list helps no one: the closest names, and how many there are
            close = difflib.get_close_matches(name, offered, n=5, cutoff=0.5)
            hint = f"{len(offered)} tools are available" + (
                f"; closest names: {', '.join(close)}" if close else "")
        return error_outcome("unknown_tool", f"unknown tool {name!r}; {hint}")
    problems = schema_problems(by_name[name], args)
    if problems:
        return error_outcome("bad_arguments", f"{name}: " + "; ".join(problems))
    return None


async def _run_calls(toolbox: Toolbox, calls: list[_Call], messages: list[dict[str, Any]],
                     stats: dict[str, Any]) -> None:
    runnable = [(c.name, c.arguments) for c in calls if c.problem is None]
    done = await asyncio.to_thread(toolbox.run, runnable) if runnable else []
    outcomes = iter(done)
    for call in calls:
        outcome = call.problem or next(outcomes)
        stats["tool_calls"] += 1
        if not outcome.ok:
            stats["errors"][outcome.error_code or "tool_error"] += 1
        messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name,
                         "content": outcome.content})


def _assistant(content: str | None, calls: list[_Call]) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        msg["tool_calls"] = [{"id": c.id, "type": "function",
                              "function": {"name": c.name, "arguments": c.arguments}}
                             for c in calls]
    return msg


def _wire(messages: list[dict[str, Any]], system: str | None) -> list[dict[str, Any]]:
    """Messages as the OpenAI API takes them: arguments as JSON strings."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        m = {k: v for k, v in m.items() if k not in ("train", "weight")}
        if m.get("tool_calls"):
            m["tool_calls"] = [{**c, "function": {
                **c["function"], "arguments": json.dumps(c["function"]["arguments"],
                                                         ensure_ascii=False)}}
                               for c in m["tool_calls"]]
        if m["role"] == "tool":
            m.pop("name", None)
        out.append(m)
    return out
