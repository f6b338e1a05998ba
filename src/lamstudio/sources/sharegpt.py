"""ShareGPT (LLaMA-Factory, APIGen-MT-5k) conversations with tools.

Row shape::

    {"id": "...", "system": "optional system prompt",
     "tools": "[{\\"name\\": \\"f\\", \\"description\\": \\"...\\", \\"parameters\\": {...}}]",
     "conversations": [
        {"from": "human", "value": "..."},
        {"from": "function_call", "value": "{\\"name\\": \\"f\\", \\"arguments\\": {...}}"},
        {"from": "observation", "value": "..."},
        {"from": "gpt", "value": "..."}]}

- ``tools`` is a JSON string (a list is accepted too), tools flat or OpenAI-wrapped.
- A ``function_call`` value whose JSON is a list is a set of parallel calls; the
  observations that follow answer them in order (one ``observation`` turn per result).
- A ``gpt`` turn directly followed by a ``function_call`` turn is one assistant message:
  the text is the thought that goes with the calls.
- A leading ``system`` turn is the system prompt when the row has no ``system`` field.
- Accepted speaker aliases: user/assistant/tool. Anything else is ``unknown_speaker``.

What ShareGPT cannot hold, so a dump drops it (and ``convert`` reports it per record):
call ids (results are linked by order) and the name on tool results (it is the call's
name). A message's ``train``/``weight`` travel as extra keys on its turns (readers that do
not know them ignore them).
LLaMA-Factory itself wants strict turn alternation; a dump writes one ``observation`` per
tool result, so parallel calls produce consecutive observations (APIGen-MT style).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lamstudio.io import Reject
from lamstudio.schema import Trajectory
from lamstudio.sources._base import SourceError, dump_with, load_with, loads_field, require
from lamstudio.sources._chat import (
    dumps,
    flat_tools,
    normalize_tools,
    optional_str,
    parse_call,
    want,
)

NAME = "sharegpt"
_ROLE = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
         "observation": "tool", "tool": "tool", "system": "system",
         "function_call": "call"}


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    turns = require(row, "conversations", list)
    system = optional_str(row, "system") or None
    messages: list[dict[str, Any]] = []
    prev_speaker = None
    for i, turn in enumerate(turns):
        field = f"conversations[{i}]"
        speaker, value = _turn(turn, field)
        role = _ROLE[speaker]
        if role == "call":
            calls = _calls(value, f"{field}.value")
            if prev_speaker in ("gpt", "assistant") and "tool_calls" not in messages[-1]:
                messages[-1]["tool_calls"] = calls  # the gpt text was this call's thought
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        elif role == "system" and i == 0 and system is None:
            system = value
            continue
        else:
            messages.append({"role": role, "content": value})
        messages[-1].update({k: turn[k] for k in _LOSS_KEYS if k in turn})
        prev_speaker = speaker
    out: dict[str, Any] = {"id": row.get("id"), "tools": normalize_tools(row.get("tools")),
                           "messages": messages}
    if system is not None:
        out["system"] = system
    for key in ("source", "meta"):
        if row.get(key) is not None:
            out[key] = row[key]
    return out


def _turn(turn: Any, field: str) -> tuple[str, Any]:
    want(turn, dict, field, "a turn object with from and value")
    speaker = turn.get("from")
    if speaker is None:
        raise SourceError("missing_field", f"{field}.from: required field is missing",
                          f"{field}.from")
    if speaker not in _ROLE:
        raise SourceError("unknown_speaker",
                          f"{field}.from: unknown speaker {speaker!r}; expected one of "
                          "human, gpt, function_call, observation, system", f"{field}.from")
    value = turn.get("value")
    if value is None:
        raise SourceError("missing_field", f"{field}.value: required field is missing",
                          f"{field}.value")
    if speaker != "function_call":
        want(value, str, f"{field}.value", "a string")
    return speaker, value


def _calls(value: Any, field: str) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = loads_field(value, "bad_function_call", field)
    items = value if isinstance(value, list) else [value]
    if not items:
        raise SourceError("bad_function_call", f"{field}: an empty list of calls", field)
    return [parse_call(c, f"{field}[{k}]" if isinstance(value, list) else field)
            for k, c in enumerate(items)]


_LOSS_KEYS = ("train", "weight")


def to_row(t: Trajectory) -> dict[str, Any]:
    turns: list[dict[str, Any]] = []
    for m in t.messages:
        loss = {k: getattr(m, k) for k in _LOSS_KEYS if getattr(m, k) is not None}
        if m.role == "assistant" and m.tool_calls:
            if m.content:
                turns.append({"from": "gpt", "value": m.content, **loss})
            calls = [{"name": c.function.name, "arguments": c.function.arguments}
                     for c in m.tool_calls]
            turns.append({"from": "function_call",
                          "value": dumps(calls[0] if len(calls) == 1 else calls), **loss})
        else:
            speaker = {"user": "human", "assistant": "gpt", "tool": "observation",
                       "system": "system"}[m.role]
            turns.append({"from": speaker, "value": m.content or "", **loss})
    row: dict[str, Any] = {"id": t.id, "conversations": turns}
    if t.system is not None:
        row["system"] = t.system
    row["tools"] = dumps(flat_tools(t)) if t.tools else ""
    if t.source:
        row["source"] = t.source
    if t.meta:
        row["meta"] = t.meta
    return row


def load(path: str | os.PathLike[str],
         on_reject: Callable[[Reject], None] | None = None) -> Iterator[Trajectory]:
    return load_with(path, from_row, on_reject=on_reject)


def dump(records: Iterable[Trajectory], path: str | os.PathLike[str]) -> int:
    return dump_with(records, path, to_row)
