"""ActionStudio unified 2.0: task_instruction, tools, conversation.

Row shape (ActionStudio ships each source as ``<name>/train/train.json``, a JSON array of
these; JSON Lines work the same)::

    {"unique_trajectory_id": "toolace---train---17",
     "dataset": "toolace", "split": "train",
     "task_instruction": "You are a helpful assistant ...",
     "format_instruction": null, "few_shot_examples": null,
     "tools": [{"type": "function", "function": {"name": ..., "parameters": {...}}}],
     "conversation": [
        {"role": "user", "content": "..."},
        {"role": "assistant", "content": "thought",
         "tool_calls": [{"id": "173924900", "type": "function",
                         "function": {"name": "f", "arguments": {"x": 1}}}]},
        {"role": "tool", "name": "f", "content": "...", "tool_call_id": "173924900"},
        {"role": "assistant", "content": "final answer"}]}

``task_instruction`` becomes ``Trajectory.system``; ActionStudio appends its own format
instruction when it renders, so ``format_instruction``/``few_shot_examples``/``split`` are
kept in ``meta["actionstudio"]`` and written back. ``dataset`` is the record's source.

Repairs, because the released data needs them (each is counted in
``meta["actionstudio"]["repairs"]``): tool results whose content is JSON (a list or object)
rather than text are serialised to a JSON string; a tool result whose ``tool_call_id``
answers no earlier call (seen in ActionStudio's own examples) is linked like a result
without an id (the oldest unanswered call of the same name, else the oldest); a leading
system message equal to ``task_instruction`` is dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lamstudio.io import JsonlWriter, Reject, atomic_path
from lamstudio.schema import Trajectory
from lamstudio.sources._base import SourceError, load_with, require
from lamstudio.sources._chat import (
    dumps,
    normalize_tools,
    optional_str,
    text_content,
    type_name,
    want,
    wrapped_tools,
)

NAME = "actionstudio"
_META_KEYS = ("split", "format_instruction", "few_shot_examples")


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    rid = require(row, "unique_trajectory_id", (str, int))
    conversation = require(row, "conversation", list)
    system = optional_str(row, "task_instruction") or None
    repairs: dict[str, int] = {}
    messages = [_message(m, f"conversation[{i}]", repairs) for i, m in enumerate(conversation)]
    if messages and messages[0]["role"] == "system" and messages[0].get("content") == system:
        messages.pop(0)
    _relink(messages, repairs)
    extra = {k: row[k] for k in _META_KEYS if row.get(k) is not None}
    if repairs:
        extra["repairs"] = repairs
    meta = dict(want(row.get("meta") or {}, dict, "meta", "an object"))
    if extra:  # repairs made when an earlier run read the row stay on record
        meta["actionstudio"] = {**(meta.get("actionstudio") or {}), **extra}
    out: dict[str, Any] = {"id": rid, "source": optional_str(row, "dataset") or "",
                           "tools": normalize_tools(row.get("tools")), "messages": messages,
                           "meta": meta}
    if system is not None:
        out["system"] = system
    return out


def _message(m: Any, field: str, repairs: dict[str, int]) -> dict[str, Any]:
    want(m, dict, field, "a message object")
    out = {k: v for k, v in m.items() if v is not None}
    if "role" not in out:
        raise SourceError("missing_field", f"{field}.role: required field is missing",
                          f"{field}.role")
    content = out.get("content")
    if out["role"] == "tool" and isinstance(content, (list, dict, int, float, bool)):
        out["content"] = dumps(content)
        repairs["json_tool_content"] = repairs.get("json_tool_content", 0) + 1
    elif "content" in out:
        out["content"] = text_content(content, f"{field}.content")
    if isinstance(out.get("tool_call_id"), int):  # some sources number their calls
        out["tool_call_id"] = str(out["tool_call_id"])
    if "tool_calls" in out:
        calls = want(out["tool_calls"], list, f"{field}.tool_calls", "a list of calls")
        out["tool_calls"] = [_call(c, f"{field}.tool_calls[{k}]") for k, c in enumerate(calls)]
    return out


def _call(call: Any, field: str) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise SourceError("bad_function_call", f"{field}: expected {{type, function: {{name, "
                          f"arguments}}, id}}, got {type_name(call)}", field)
    out = {k: v for k, v in call.items() if v is not None}
    if isinstance(out.get("id"), int):
        out["id"] = str(out["id"])
    return out


def _relink(messages: list[dict[str, Any]], repairs: dict[str, int]) -> None:
    """A result naming an id no earlier call has is linked like an id-less one."""
    seen: set[Any] = set()
    for m in messages:
        for call in m.get("tool_calls") or []:
            seen.add(call.get("id"))
        if m["role"] == "tool" and "tool_call_id" in m and m["tool_call_id"] not in seen:
            del m["tool_call_id"]
            repairs["relinked_tool_call_id"] = repairs.get("relinked_tool_call_id", 0) + 1


def to_row(t: Trajectory) -> dict[str, Any]:
    extra = dict(t.meta.get("actionstudio") or {})
    meta = {k: v for k, v in t.meta.items() if k != "actionstudio"}
    if "repairs" in extra:
        meta["actionstudio"] = {"repairs": extra.pop("repairs")}
    row: dict[str, Any] = {"unique_trajectory_id": t.id}
    if t.source:
        row["dataset"] = t.source
    row.update({k: extra[k] for k in _META_KEYS if k in extra})
    row["task_instruction"] = t.system or ""
    row["tools"] = wrapped_tools(t)
    row["conversation"] = [_out_message(m) for m in t.messages]
    if meta:
        row["meta"] = meta
    return row


def _out_message(m: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        d["tool_calls"] = [{"type": "function", "id": c.id,
                            "function": {"name": c.function.name,
                                         "arguments": c.function.arguments}}
                           for c in m.tool_calls]
    for key in ("name", "tool_call_id", "train", "weight"):
        if getattr(m, key) is not None:
            d[key] = getattr(m, key)
    return d


def load(path: str | os.PathLike[str],
         on_reject: Callable[[Reject], None] | None = None) -> Iterator[Trajectory]:
    return load_with(path, from_row, on_reject=on_reject)


def dump(records: Iterable[Trajectory], path: str | os.PathLike[str]) -> int:
    """JSON Lines, or a JSON array when ``path`` ends in ``.json`` (what ActionStudio's
    loader reads with ``json.load``)."""
    if not str(path).endswith(".json"):
        with JsonlWriter(path) as w:
            for t in records:
                w.write(to_row(t))
            return w.count
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("[")
        for t in records:
            fh.write(("," if n else "") + "\n" + dumps(to_row(t)))
            n += 1
        fh.write("\n]\n")
    return n
