"""One episode: the model acts, its calls run, it sees the results, until it answers and
the user has nothing more to say, or the step limit is hit, or the model fails.

The model is any ``lamstudio.llm.ChatBackend`` (an OpenAI-compatible endpoint, or
``LocalBackend``); calls run in a ``Toolbox`` (the tool sandbox or an environment); the
user is a ``User`` (scripted turns by default). Each reply comes in through
``read_reply`` (``_reply.py``: what is done with text, calls and arguments no writer can
keep). Every failed call becomes a ``tool`` message ``{"error": ..., "error_code": ...}``:
unknown tools, arguments that are not a JSON object or do not fit the schema are caught
there before anything runs; exceptions and timeouts come from the toolbox.

The record is made only from writable values; one that still cannot be made raises
``EpisodeError`` (a reject of this episode, never the end of a run).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lamstudio.agent._principles import with_principles
from lamstudio.agent._reply import Call, read_reply
from lamstudio.agent._task import AgentTask, TaskError
from lamstudio.agent._text import clean_text
from lamstudio.agent._tools import Toolbox
from lamstudio.agent._user import ScriptedUser, User
from lamstudio.llm import LLMError
from lamstudio.schema import Trajectory, validate_record

STOP_REASONS = ("answered", "step_limit", "model_error")


class EpisodeError(TaskError):
    """An episode that cannot become a record (``code`` is the readers' reason, ``field``
    the record's path); the run writes it as a reject and goes on."""


@dataclass
class AgentConfig:
    """``max_steps``: model calls per episode (all user turns together). ``params`` go to
    the backend (``temperature``, ``max_tokens``, ``seed``, ...)."""

    max_steps: int = 10
    params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.0,
                                                              "max_tokens": 512})
    endpoint: str = ""  # recorded in meta: base URL, or "local"
    source: str = "agent"
    # PRAct's action principles, a block after the task's system prompt (_principles.py);
    # the record's system prompt is what the model saw, the list is in meta.agent.
    principles: tuple[str, ...] = ()
    # Retroformer's reflections on earlier failed trials of this task: a block after the
    # principles; the list is in meta.agent.reflections.
    reflections: tuple[str, ...] = ()


def is_fatal(exc: BaseException) -> bool:
    """Faults of the whole run, not of one episode: the key was refused, the URL or the
    model is wrong. Every other episode would fail the same way, so the run stops."""
    return isinstance(exc, LLMError) and exc.status in (401, 403, 404)


async def run_episode(backend: Any, task: AgentTask, toolbox: Toolbox,
                      user: User | None = None, config: AgentConfig | None = None) -> Trajectory:
    """Play one task to the end and return it as a record (see the module docstring)."""
    config = config or AgentConfig()
    user = user if user is not None else ScriptedUser(task.turns)
    specs = toolbox.specs()
    system = with_principles(task.system, config.principles, config.reflections)
    by_name = {s["function"]["name"]: s for s in specs}
    messages = [dict(m) for m in task.messages]
    stats: dict[str, Any] = {"steps": 0, "tool_calls": 0, "errors": Counter(), "replaced": 0}
    started = time.perf_counter()
    stop, error = "step_limit", None
    while stats["steps"] < config.max_steps:
        try:
            result = await backend.complete(_wire(messages, system), specs or None,
                                            **config.params)
        except Exception as exc:  # noqa: BLE001 - any backend failure ends the episode
            if is_fatal(exc):
                raise
            stop, error = "model_error", f"{type(exc).__name__}: {exc}"
            break
        stats["steps"] += 1
        reply = read_reply(result, stats["steps"], by_name)
        if reply.problem:
            stop, error = "model_error", reply.problem
            break
        stats["replaced"] += reply.replaced
        messages.append(_assistant(reply.content, reply.calls))
        if reply.calls:
            await _run_calls(toolbox, reply.calls, messages, stats)
            continue
        nxt = await user.reply(messages)
        if nxt is None:
            stop = "answered"
            break
        messages.append({"role": "user", "content": _user_text(nxt, stats)})
    agent = {"task_id": task.id, "stop": stop, "steps": stats["steps"],
             "tool_calls": stats["tool_calls"], "tool_errors": dict(stats["errors"]),
             "model": getattr(backend, "model", ""), "endpoint": config.endpoint,
             "seconds": round(time.perf_counter() - started, 3), **toolbox.report()}
    if error:
        agent["error"] = error
    if config.principles:
        agent["principles"] = list(config.principles)
    if config.reflections:
        agent["reflections"] = list(config.reflections)
    if stats["replaced"]:
        agent["replaced_surrogates"] = stats["replaced"]
    return make_record({"id": task.id, "source": config.source, "system": system,
                        "tools": specs, "messages": messages,
                        "meta": {**task.meta, "agent": agent}})


def make_record(raw: dict[str, Any]) -> Trajectory:
    """``raw`` as a record, or ``EpisodeError`` with the first problem's code and path."""
    checked = validate_record(raw)
    if checked.record is None:
        first = checked.errors[0]
        raise EpisodeError(first.code, f"the episode cannot be written: {first.path}: "
                           f"{first.message}", first.path)
    return checked.record


def _user_text(text: Any, stats: dict[str, Any]) -> str:
    if not isinstance(text, str):
        raise EpisodeError("bad_user_reply", f"the user's reply is a {type(text).__name__}, "
                           "not text")
    text, n = clean_text(text)
    stats["replaced"] += n
    return text


async def _run_calls(toolbox: Toolbox, calls: list[Call], messages: list[dict[str, Any]],
                     stats: dict[str, Any]) -> None:
    runnable = [(c.name, c.arguments) for c in calls if c.problem is None]
    done = await asyncio.to_thread(toolbox.run, runnable) if runnable else []
    outcomes = iter(done)
    for call in calls:
        outcome = call.problem or next(outcomes)
        stats["tool_calls"] += 1
        if not outcome.ok:
            stats["errors"][outcome.error_code or "tool_error"] += 1
        content, n = clean_text(outcome.content)  # a tool's output is outside text too
        stats["replaced"] += n
        messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name,
                         "content": content})


def _assistant(content: str | None, calls: list[Call]) -> dict[str, Any]:
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
