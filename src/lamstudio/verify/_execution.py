"""Stage 2, the execution check: run every call of a record in the tool ``Sandbox``.

* A call without a recorded result gets one: a ``tool`` message is inserted after the
  assistant turn that made it (after results already there), in call order.
* A call with a recorded result is compared with what the tool returns now; they *match*
  when both parse as JSON and are equal up to key order, whitespace inside strings, and
  floats within a relative 1e-6; text that is not JSON is compared after collapsing
  whitespace. ``compare_results=False`` keeps recorded results unchecked (tools whose
  answers change between runs).
* A call that raises, times out, crashes or returns an error payload (``{"error": ...}``)
  rejects the record with the sandbox's error code (``tool_error``, ``timeout``, ...) or
  ``error_payload``.
* A record calling a tool the sandbox does not have, or has with other parameter names
  (a different tool that shares the name), gets ``no_executable_tool``: rejected, or
  passed as *skipped* with ``skip_unexecutable=True``. Records without calls pass.

Calls run independently (each in a fresh tool state), so tools whose results depend on
earlier calls (stateful environments) are beyond this check: ``lamstudio.envs`` owns those.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lamstudio.io import JsonValueError, parse_json
from lamstudio.schema import Message, Trajectory
from lamstudio.verify._verdict import Verdict

STAGE = "execution"


class CallRunner(Protocol):
    """What the check needs of ``lamstudio.tools.Sandbox``."""

    tools: dict[str, Any]

    def map(self, calls: Any) -> list[Any]: ...


@dataclass(frozen=True)
class ExecutionOptions:
    skip_unexecutable: bool = False
    compare_results: bool = True
    rel_tol: float = 1e-6


def values_match(a: Any, b: Any, rel_tol: float = 1e-6) -> bool:
    """Equality of JSON values, tolerant of key order and of float noise only: integers
    and strings compare exactly (2000001 is not 2000000), a float against a number within
    ``rel_tol``; strings ignore only leading and trailing whitespace."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_match(a[k], b[k], rel_tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            values_match(x, y, rel_tol) for x, y in zip(a, b, strict=True))
    return a == b


def result_matches(recorded: str, actual: Any, rel_tol: float = 1e-6) -> bool:
    """Does a recorded ``tool`` message's content match a fresh result?"""
    try:
        parsed = parse_json(recorded)  # a record's text: 100k levels must not raise
    except JsonValueError:
        text = actual if isinstance(actual, str) else json.dumps(actual, ensure_ascii=False)
        return recorded.strip() == text.strip()
    return values_match(parsed, actual, rel_tol)


@dataclass
class _Plan:
    """The calls of one record, in order, with where their results are (or go)."""

    calls: list[tuple[int, Any]]           # (assistant message index, ToolCall)
    recorded: dict[str, str]               # call id -> recorded content
    first: int = 0                         # index of this record's first call in the batch


class ExecutionChecker:
    def __init__(self, runner: CallRunner, options: ExecutionOptions | None = None) -> None:
        self.runner = runner
        self.options = options or ExecutionOptions()

    def check_many(self, records: Sequence[Trajectory]) -> list[tuple[Verdict, Trajectory]]:
        """Verdicts (and records, with results inserted) in input order; all calls of the
        batch go to the sandbox at once so its workers stay busy."""
        plans: list[_Plan | Verdict] = [self._plan(t) for t in records]
        batch: list[tuple[str, dict[str, Any]]] = []
        for plan in plans:
            if isinstance(plan, _Plan):
                plan.first = len(batch)
                batch.extend((c.function.name, c.function.arguments) for _, c in plan.calls)
        results = self.runner.map(batch) if batch else []
        out = []
        for t, plan in zip(records, plans, strict=True):
            if isinstance(plan, Verdict):
                out.append((plan, t))
            else:
                out.append(self._judge(t, plan, results[plan.first:plan.first + len(plan.calls)]))
        return out

    def _plan(self, t: Trajectory) -> _Plan | Verdict:
        calls = [(i, c) for i, m in enumerate(t.messages) for c in (m.tool_calls or [])]
        if not calls:
            return Verdict.ok(STAGE, "no calls to execute", calls=0)
        offered = {s.function.name: s.function.parameters for s in t.tools}
        missing = sorted({c.function.name for _, c in calls
                          if not self._executable(c.function.name, offered.get(c.function.name))})
        if missing:
            why = f"no executable tool for {', '.join(missing)}"
            if self.options.skip_unexecutable:
                return Verdict.skip(STAGE, "no_executable_tool", why, missing=missing)
            return Verdict.fail(STAGE, "no_executable_tool", why, missing=missing)
        recorded = {m.tool_call_id: m.content or "" for m in t.messages
                    if m.role == "tool" and m.tool_call_id}
        return _Plan(calls, recorded)

    def _executable(self, name: str, params: Any) -> bool:
        """A tool of that name whose parameter names match the record's spec: a tool that
        merely shares a name (``calculate_bmi(weight, height)`` vs ours with ``weight_kg``)
        would only produce bad_arguments."""
        spec = self.runner.tools.get(name)
        if spec is None:
            return False
        if not isinstance(params, dict):
            return True  # the record offers no spec for it (format reports that)
        mine = set(params.get("properties") or {})
        theirs = set(spec.function.parameters.get("properties") or {})
        return mine == theirs

    def _judge(self, t: Trajectory, plan: _Plan, results: list[Any]) -> tuple[Verdict, Trajectory]:
        inserted, compared = 0, 0
        new_results: dict[int, list[Message]] = {}
        for (i, call), res in zip(plan.calls, results, strict=True):
            where = f"messages[{i}] {call.function.name}"
            if not res.ok:
                return Verdict.fail(STAGE, res.error_code or "tool_error",
                                    f"{where}: {res.error}", call_id=call.id), t
            if res.is_error_payload:
                return Verdict.fail(STAGE, "error_payload",
                                    f"{where} returned an error: {_short(res.result)}",
                                    call_id=call.id), t
            if call.id in plan.recorded:
                compared += 1
                if self.options.compare_results and not result_matches(
                        plan.recorded[call.id], res.result, self.options.rel_tol):
                    return Verdict.fail(
                        STAGE, "result_mismatch",
                        f"{where}: recorded {_short(plan.recorded[call.id])}, tool returned "
                        f"{_short(res.result)}", call_id=call.id), t
            else:
                inserted += 1
                new_results.setdefault(i, []).append(Message(
                    role="tool", tool_call_id=call.id, name=call.function.name,
                    content=res.content()))
        if new_results:
            t = _with_results(t, new_results)
        return Verdict.ok(STAGE, calls=len(plan.calls), compared=compared,
                          inserted=inserted), t


def _with_results(t: Trajectory, new: dict[int, list[Message]]) -> Trajectory:
    messages: list[Message] = []
    pending: list[Message] = []
    for i, msg in enumerate(t.messages):
        if pending and msg.role != "tool":
            messages.extend(pending)
            pending = []
        messages.append(msg)
        pending.extend(new.get(i, []))
    messages.extend(pending)
    return t.model_copy(update={"messages": messages})


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
