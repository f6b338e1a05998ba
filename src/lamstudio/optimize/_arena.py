"""Where the optimizers play: a *suite* of tasks that any agent backend can attempt, once
per call, on its own fresh copy of the environment.

Two kinds, one protocol (``Suite``): lamstudio's toy environments (``env:store``,
``env:todo``: scripted user turns, reward 1 when the final state hash equals the replay of
the ground truth) and tau2-bench's domains (``tau2:retail[:SPLIT]``: a simulated user,
scored as ``lamstudio eval`` scores tau2). An attempt never raises for one broken episode:
it comes back with ``error`` set (a reason code and the message) and reward 0. Only faults
of the whole run (a refused key, a wrong URL or model: ``lamstudio.agent.is_fatal``) raise.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lamstudio.agent import clean_text, is_fatal


class SuiteError(ValueError):
    """A suite spec that names no known suite or tasks."""


@dataclass
class Attempt:
    """One agent's play of one task. ``error`` is "" for a usable attempt, else
    ``"code: message"``; ``diff`` lists what changed in the environment's state."""

    task_id: str
    reward: float
    state_hash: str | None
    messages: list[dict[str, Any]]
    record: dict[str, Any] | None = None  # the episode as a lamstudio record (JSON)
    error: str = ""
    diff: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # LLM calls by role
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def success(self) -> bool:
        return self.reward >= 1.0


class Suite(Protocol):
    name: str
    task_ids: list[str]

    def brief(self, task_id: str) -> str:
        """What a reflector or selector is told the task is (never its answer)."""
        ...

    async def play(self, task_id: str, agent: Any, *, trial: int = 0,
                   params: Mapping[str, Any] | None = None, principles: tuple[str, ...] = (),
                   reflections: tuple[str, ...] = ()) -> Attempt: ...


def broken(task_id: str, exc: BaseException, calls: dict[str, int], started: float) -> Attempt:
    """The attempt of an episode that raised (or ``exc`` again when the run must stop)."""
    if is_fatal(exc):
        raise exc
    code = getattr(exc, "code", None) or "episode_error"
    why = clean_text(f"{type(exc).__name__}: {exc}")[0][:500]
    return Attempt(task_id, 0.0, None, [], error=f"{code}: {why}", calls=calls,
                   seconds=round(time.perf_counter() - started, 3))


def state_diff(before: Any, after: Any, path: str = "", limit: int = 40) -> list[dict[str, Any]]:
    """What differs between two JSON-like states, as ``{"path", "before", "after"}`` rows
    (``None`` for absent). Untouched entries are the same objects in tau2's copy-on-write
    tables, so the walk skips them at once."""
    out: list[dict[str, Any]] = []
    _walk(before, after, path, out, limit)
    return out


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]], limit: int) -> None:
    if len(out) >= limit or a is b:
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        # items(), not [k]: reading a tau2 table's entry by key copies it into the table.
        da, db = dict(a.items()), dict(b.items())
        for k in list(da) + [k for k in db if k not in da]:
            _walk(da.get(k), db.get(k), f"{path}.{k}" if path else str(k), out, limit)
        return
    if a != b:
        out.append({"path": path, "before": a, "after": b})


def conversation_text(messages: list[dict[str, Any]], max_chars: int = 12000,
                      per_message: int = 800) -> str:
    """A conversation as plain text for another model to read: one line per message, tool
    calls as ``name(arguments)``; long messages are cut, and past ``max_chars`` the start
    is dropped (the end of a failed attempt is where it failed)."""
    lines = []
    for m in messages:
        text = (m.get("content") or "").strip()
        if len(text) > per_message:
            text = text[:per_message] + " [...]"
        for tc in m.get("tool_calls") or []:
            fn = tc["function"]
            text += f"\n  -> {fn['name']}({json.dumps(fn['arguments'], ensure_ascii=False)})"
        lines.append(f"[{m['role']}] {text.strip()}")
    body = "\n".join(lines)
    return body if len(body) <= max_chars else "[... earlier messages cut ...]\n" + \
        body[-max_chars:]


def diff_text(diff: list[dict[str, Any]]) -> str:
    if not diff:
        return "(no change)"
    show = lambda v: "(absent)" if v is None else json.dumps(v, ensure_ascii=False,  # noqa: E731
                                                             default=str)[:300]
    return "\n".join(f"- {d['path']}: {show(d['before'])} -> {show(d['after'])}" for d in diff)
