"""OpenAI chat rows: messages, tools, tool_calls with JSON arguments.

Row shape (one JSON object per line; what OpenAI fine-tuning files and most chat datasets
use)::

    {"id": "...", "tools": [{"type": "function", "function": {...}}],
     "messages": [{"role": "system", "content": "..."},
                  {"role": "user", "content": "..."},
                  {"role": "assistant", "content": null,
                   "tool_calls": [{"id": "call_1", "type": "function",
                                   "function": {"name": "f", "arguments": "{\\"x\\": 1}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "..."}]}

A leading ``system`` message becomes ``Trajectory.system``. ``id``, ``source`` and ``meta``
are read when present and written back. Also accepted on input: ``tools`` as a JSON string,
flat tool dicts, content as a list of text parts, and the legacy ``function_call`` /
``role: "function"`` shape. ``weight`` (OpenAI fine-tuning) and lamstudio's ``train`` travel
on messages as they are. Keys OpenAI responses carry with no value (``refusal: null``,
``annotations: []``) are dropped; any other unknown key is an error, so a typo never vanishes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lamstudio.io import Reject
from lamstudio.schema import Trajectory
from lamstudio.sources._base import SourceError, dump_with, load_with, require
from lamstudio.sources._chat import (
    dumps,
    normalize_tools,
    optional_str,
    text_content,
    type_name,
    want,
)

NAME = "openai"
_EMPTY_RESPONSE_KEYS = ("refusal", "annotations", "audio", "function_call", "tool_calls")


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    messages = [_message(m, f"messages[{i}]")
                for i, m in enumerate(require(row, "messages", list))]
    system = optional_str(row, "system")
    if system is None and messages and messages[0]["role"] == "system":
        system = messages.pop(0).get("content") or ""
    out: dict[str, Any] = {"id": row.get("id"), "tools": normalize_tools(row.get("tools")),
                           "messages": messages}
    if system is not None:
        out["system"] = system
    if row.get("source") is not None:
        out["source"] = row["source"]
    if row.get("meta") is not None:
        out["meta"] = row["meta"]
    return out


def _message(m: Any, field: str) -> dict[str, Any]:
    want(m, dict, field, "a message object")
    out = {k: v for k, v in m.items()
           if not (k in _EMPTY_RESPONSE_KEYS and v in (None, [], {}))}
    role = out.get("role")
    if role is None:
        raise SourceError("missing_field", f"{field}.role: required field is missing",
                          f"{field}.role")
    if role == "function":  # legacy: a function result
        out["role"] = "tool"
    if "content" in out:
        out["content"] = text_content(out["content"], f"{field}.content")
    if "function_call" in out:  # legacy: one call, no id
        out["tool_calls"] = [{"type": "function", "function": out.pop("function_call")}]
    if "tool_calls" in out:
        calls = want(out["tool_calls"], list, f"{field}.tool_calls", "a list of calls")
        out["tool_calls"] = [_call(c, f"{field}.tool_calls[{k}]") for k, c in enumerate(calls)]
    return out


def _call(call: Any, field: str) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise SourceError("bad_function_call",
                          f"{field}: expected {{'type': 'function', 'function': {{name, "
                          f"arguments}}}}, got {type_name(call)}", field)
    # Streaming responses add an ``index``; it is not part of the call.
    return {k: v for k, v in call.items() if k != "index" and v is not None}


def to_row(t: Trajectory) -> dict[str, Any]:
    messages = [] if t.system is None else [{"role": "system", "content": t.system}]
    for m in t.messages:
        d: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            d["tool_calls"] = [{"id": c.id, "type": "function",
                                "function": {"name": c.function.name,
                                             "arguments": dumps(c.function.arguments)}}
                               for c in m.tool_calls]
        for key in ("tool_call_id", "name", "train", "weight"):
            if getattr(m, key) is not None:
                d[key] = getattr(m, key)
        messages.append(d)
    row: dict[str, Any] = {"id": t.id, "messages": messages,
                           "tools": [s.model_dump(exclude_none=True) for s in t.tools]}
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
