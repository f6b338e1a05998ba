"""Pieces the chat-shaped formats share (openai, sharegpt, actionstudio, react): tool lists
in either of the two shapes found in the wild, and type checks that name the source field."""

from __future__ import annotations

import json
from typing import Any

from lamstudio.schema import Trajectory
from lamstudio.sources._base import SourceError, loads_field


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def want(value: Any, kind: type | tuple[type, ...], field: str, what: str) -> Any:
    """``value`` must be of ``kind``; otherwise a ``wrong_type`` error naming ``field``."""
    if not isinstance(value, kind):
        raise SourceError("wrong_type", f"{field}: expected {what}, got {type_name(value)}", field)
    return value


def optional_str(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    return want(value, str, key, "a string")


def normalize_tools(value: Any, field: str = "tools") -> list[dict[str, Any]]:
    """A list of tools (or a JSON string of one), each either OpenAI-wrapped
    ``{"type": "function", "function": {...}}`` or flat ``{"name", "description",
    "parameters"}`` (LLaMA-Factory, some ActionStudio sources). Returns wrapped tools."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = loads_field(value, "bad_tools_json", field)
    if isinstance(value, dict):  # a single tool where a list was expected
        value = [value]
    want(value, list, field, "a list of tools")
    out = []
    for i, tool in enumerate(value):
        want(tool, dict, f"{field}[{i}]", "a tool object")
        if isinstance(tool.get("function"), dict):
            out.append(tool)  # already wrapped; the schema checks its keys
        else:
            if not isinstance(tool.get("name"), str) or not tool["name"]:
                raise SourceError("missing_field", f"{field}[{i}].name: a tool needs a name",
                                  f"{field}[{i}].name")
            out.append({"type": "function", "function": tool})
    return out


def wrapped_tools(t: Trajectory) -> list[dict[str, Any]]:
    return [s.model_dump(exclude_none=True) for s in t.tools]


def flat_tools(t: Trajectory) -> list[dict[str, Any]]:
    return [s.function.model_dump(exclude_none=True) for s in t.tools]


def text_content(value: Any, field: str) -> str | None:
    """Message content: a string, or OpenAI content parts of type text (joined)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        texts = []
        for k, part in enumerate(value):
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise SourceError("unsupported_content",
                                  f"{field}[{k}]: only text content parts are supported "
                                  f"(got type {part.get('type')!r})", f"{field}[{k}]")
            texts.append(part["text"])
        return "".join(texts)
    raise SourceError("wrong_type", f"{field}: expected a string, got {type_name(value)}", field)


def parse_call(value: Any, field: str) -> dict[str, Any]:
    """``{"name", "arguments"}`` (xLAM / ShareGPT / ActionStudio call) -> a ``ToolCall`` dict."""
    if not isinstance(value, dict):
        raise SourceError("bad_function_call",
                          f"{field}: expected an object with name and arguments, "
                          f"got {type_name(value)}", field)
    name = value.get("name")
    if not isinstance(name, str) or not name:
        raise SourceError("bad_function_call", f"{field}.name: a call needs a function name",
                          f"{field}.name")
    args = value.get("arguments", value.get("parameters"))
    return {"type": "function", "function": {"name": name, "arguments": {} if args is None
                                             else args}}
