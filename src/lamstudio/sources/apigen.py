"""APIGen / xLAM rows: query, tools and answers as JSON strings.

Row shape (Salesforce/xlam-function-calling-60k; xlam-irrelevance-7.5k is the same with
``answers`` = ``"[]"``)::

    {"id": 42, "query": "Weather in Paris and in Rome?", "tools": "<JSON>", "answers": "<JSON>"}

where ``tools`` decodes to ``[{"name": "get_weather", "description": "...", "parameters":
{"city": {"description": "...", "type": "str", "default": "Paris"}, "units": {"description":
"...", "type": "str, optional", "default": ""}}}]`` and ``answers`` to ``[{"name":
"get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments":
{"city": "Rome"}}]``.

Each tool's flat parameter dict with Python-ish type strings (``str``, ``int``, ``float``,
``bool``, ``List[int]``, ``Dict[str, Any]``, ``Union[int, float]``, ``str, optional``,
``int, default=10``) becomes a JSON Schema object: ``properties`` with the mapped type,
``description`` and ``default``; ``required`` = parameters that are neither marked optional
nor given a default (xLAM gives most parameters an example default, so few are required).
Type strings the mapping does not know (``Callable``, ``datetime``...) give an untyped
property. The original type strings are kept in ``meta["apigen_types"]`` so a dump back to
this format writes them unchanged; tools already in JSON Schema / OpenAI shape pass through.

``meta["category"]`` follows APIGen / BFCL: no call -> irrelevance; one call -> simple (one
tool offered) or multiple (several offered); several calls -> parallel (all of one function)
or parallel_multiple (several functions). A row without calls becomes the user query plus an
assistant turn that calls nothing (``content`` null).

Numeric ids become ``xlam60k-000042`` (or ``<source>-000042`` when the row names its
``source``) so several xLAM files can be mixed; a dump turns them back into integers.
A dump to this format holds one query and the calls: multi-turn records lose their
other turns, tool results and answers text (``convert`` reports it per record). ``meta``
travels in an extra ``meta`` column (a JSON string), and a tool whose JSON Schema the flat
type strings cannot hold exactly (nested ``properties`` of array items, ``required`` that
disagrees with the defaults) is written as JSON Schema, which this reader also takes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lamstudio.io import Reject
from lamstudio.schema import Trajectory
from lamstudio.sources._base import (
    SourceError,
    dump_with,
    load_with,
    parse_json_field,
    require,
)
from lamstudio.sources._chat import dumps, parse_call, want

NAME = "apigen"
DEFAULT_SOURCE = "xlam-function-calling-60k"
_ID_PREFIX = {DEFAULT_SOURCE: "xlam60k"}


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    query = require(row, "query", str)
    raw_tools = want(parse_json_field(row, "tools", "bad_tools_json"), list, "tools",
                     "a list of tools")
    answers = want(parse_json_field(row, "answers", "bad_answers_json"), list, "answers",
                   "a list of calls")
    calls = [_answer(a, k) for k, a in enumerate(answers)]
    tools, types = [], {}
    for i, tool in enumerate(raw_tools):
        spec, tool_types = _tool(tool, i)
        tools.append(spec)
        if tool_types is not None:
            types[spec["function"]["name"]] = tool_types
    source = row.get("source") or DEFAULT_SOURCE
    meta = {"category": category(len(calls), len(tools), {c["function"]["name"] for c in calls})}
    if row.get("meta") is not None:  # written by our dump: the record's meta as it was
        meta.update(want(parse_json_field(row, "meta", "bad_meta_json"), dict, "meta",
                         "an object"))
    if types:
        meta["apigen_types"] = types
    return {"id": _record_id(row.get("id"), source), "source": source, "tools": tools,
            "messages": [{"role": "user", "content": query},
                         {"role": "assistant", "content": None, "tool_calls": calls or None}],
            "meta": meta}


def _answer(a: Any, k: int) -> dict[str, Any]:
    if type(a) is dict and type(a.get("name")) is str and a["name"]:  # the common case
        args = a["arguments"] if "arguments" in a else a.get("parameters")
        return {"type": "function",
                "function": {"name": a["name"], "arguments": {} if args is None else args}}
    return parse_call(a, f"answers[{k}]")  # names what is wrong


def category(n_calls: int, n_tools: int, names: set[str]) -> str:
    if n_calls == 0:
        return "irrelevance"
    if n_calls == 1:
        return "simple" if n_tools <= 1 else "multiple"
    return "parallel" if len(names) == 1 else "parallel_multiple"


def _record_id(rid: Any, source: str) -> Any:
    if isinstance(rid, int) and not isinstance(rid, bool):
        return f"{_ID_PREFIX.get(source, source)}-{rid:06d}"
    return rid


def _tool(tool: Any, i: int) -> tuple[dict[str, Any], dict[str, str] | None]:
    """One xLAM tool -> (OpenAI tool spec, {param: original type string} or None).

    The hot loop of an xLAM conversion (~3 tools x ~3 parameters per row): plain dict
    work and one cached parse per type string; field names are built only for errors."""
    if type(tool) is not dict:
        want(tool, dict, f"tools[{i}]", "a tool object")
    if "function" in tool and isinstance(tool["function"], dict):  # already OpenAI-shaped
        return tool, None
    name = tool.get("name")
    if type(name) is not str or not name:
        raise SourceError("missing_field", f"tools[{i}].name: a tool needs a name",
                          f"tools[{i}].name")
    params = tool.get("parameters") or {}
    if type(params) is not dict:
        want(params, dict, f"tools[{i}].parameters", "an object")
    if params.get("type") == "object" and isinstance(params.get("properties"), dict):
        return {"type": "function", "function": tool}, None
    props, required, types = {}, [], {}
    for pname, p in params.items():
        if type(p) is not dict:
            want(p, dict, f"tools[{i}].parameters.{pname}", "a parameter object")
        type_str = p.get("type")
        if type_str is None:
            prop, optional = dict(p), False
        else:
            if type(type_str) is not str:
                want(type_str, str, f"tools[{i}].parameters.{pname}.type", "a type string")
            types[pname] = type_str
            schema, optional, nested = _TYPES.get(type_str) or _parse_type_cached(type_str)
            prop = {**p, **(_copy(schema) if nested else schema)}
            if "type" not in schema:  # untyped: the type string must not stay as a type
                del prop["type"]
        props[pname] = prop
        if not optional and "default" not in p:
            required.append(pname)
    fn = dict(tool)
    fn["parameters"] = {"type": "object", "properties": props, "required": required}
    return {"type": "function", "function": fn}, types


def _is_json_schema(params: dict[str, Any]) -> bool:
    return params.get("type") == "object" and isinstance(params.get("properties"), dict)


# --- Python-ish type strings <-> JSON Schema -------------------------------------------

_SCALAR = {"str": "string", "string": "string", "int": "integer", "integer": "integer",
           "float": "number", "number": "number", "double": "number", "bool": "boolean",
           "boolean": "boolean", "none": "null", "nonetype": "null"}
_ARRAY = {"list", "array", "tuple", "set", "sequence", "iterable", "frozenset"}
_OBJECT = {"dict", "object", "mapping", "json"}
_TYPE_RE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:\[(.*)\])?\s*$", re.S)


def parse_type(type_str: str) -> tuple[dict[str, Any], bool]:
    """``"List[int], optional"`` -> (``{"type": "array", "items": {"type": "integer"}}``, True).

    The returned dict is a fresh copy (callers put it into records)."""
    schema, optional, _ = _parse_type_cached(type_str)
    return _copy(schema), optional


def _copy(schema: dict[str, Any]) -> dict[str, Any]:
    out = dict(schema)
    if "items" in out:
        out["items"] = _copy(out["items"])
    if "anyOf" in out:
        out["anyOf"] = [_copy(s) for s in out["anyOf"]]
    if isinstance(out.get("type"), list):
        out["type"] = list(out["type"])
    return out


_TYPES: dict[str, tuple[dict[str, Any], bool, bool]] = {}  # xLAM has a few hundred


def _parse_type_cached(type_str: str) -> tuple[dict[str, Any], bool, bool]:
    """(schema, optional, nested): ``nested`` says a shallow copy would share inner parts."""
    if type_str in _TYPES:
        return _TYPES[type_str]
    parts = _split_top(type_str)
    base, modifiers = (parts[0] if parts else ""), [p.strip().lower() for p in parts[1:]]
    optional = any(m.startswith(("optional", "default")) for m in modifiers)
    m = _TYPE_RE.match(base)
    if m and m.group(1).lower().rsplit(".", 1)[-1] == "optional":
        optional = True
    schema = _schema(base)
    nested = any(isinstance(v, (dict, list)) for v in schema.values())
    if len(_TYPES) < 10_000:  # type strings are few; a hostile file must not grow this
        _TYPES[type_str] = (schema, optional, nested)
    return schema, optional, nested



def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in (x.strip() for x in parts) if p]


def _schema(type_str: str) -> dict[str, Any]:
    if " or " in type_str:
        return _union([_schema(s) for s in type_str.split(" or ")])
    if "|" in type_str and "[" not in type_str:
        return _union([_schema(s) for s in type_str.split("|")])
    m = _TYPE_RE.match(type_str)
    if not m:
        return {}
    head, args = m.group(1).lower().rsplit(".", 1)[-1], _split_top(m.group(2) or "")
    if head == "optional":
        return _schema(args[0]) if args else {}
    if head == "union":
        return _union([_schema(a) for a in args])
    if head in _ARRAY:
        items = _schema(args[0]) if args else {}
        return {"type": "array", "items": items} if items else {"type": "array"}
    if head in _OBJECT:
        return {"type": "object"}
    if head in _SCALAR:
        return {"type": _SCALAR[head]}
    return {}  # Any, Callable, datetime, ...: no constraint


def _union(members: list[dict[str, Any]]) -> dict[str, Any]:
    members = [s for s in members if s.get("type") != "null"]  # Optional-ness is separate
    if not members or any(not s for s in members):
        return {}
    if len(members) == 1:
        return members[0]
    if all(set(s) == {"type"} and isinstance(s["type"], str) for s in members):
        return {"type": list(dict.fromkeys(s["type"] for s in members))}
    return {"anyOf": members}


_PY = {"string": "str", "integer": "int", "number": "float", "boolean": "bool",
       "object": "Dict", "null": "None"}


def type_string(schema: dict[str, Any]) -> str:
    """JSON Schema -> a Python-ish type string (for tools that came from another format)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        return "Union[" + ", ".join(type_string({"type": k}) for k in kind) + "]"
    if "anyOf" in schema:
        return "Union[" + ", ".join(type_string(s) for s in schema["anyOf"]) + "]"
    if kind == "array":
        items = schema.get("items")
        return f"List[{type_string(items)}]" if isinstance(items, dict) and items else "List"
    return _PY.get(kind, "Any") if isinstance(kind, str) else "Any"


# --- dump ---------------------------------------------------------------------------------

def to_row(t: Trajectory) -> dict[str, Any]:
    query = next((m.content or "" for m in t.messages if m.role == "user"), "")
    answers = [{"name": c.name, "arguments": c.arguments} for c in t.calls()]
    types = t.meta.get("apigen_types") or {}
    tools = [_exact_tool(s.function.model_dump(exclude_none=True), types.get(s.function.name))
             for s in t.tools]
    row: dict[str, Any] = {"id": _row_id(t), "query": query, "answers": dumps(answers),
                           "tools": dumps(tools)}
    if t.source and t.source != DEFAULT_SOURCE:
        row["source"] = t.source
    meta = {k: v for k, v in t.meta.items() if k != "apigen_types"}
    if meta.get("category") == category(len(answers), len(tools), {a["name"] for a in answers}):
        del meta["category"]  # the reader derives it again: rows read stay rows written
    if meta:
        row["meta"] = dumps(meta)
    return row


def _exact_tool(fn: dict[str, Any], types: dict[str, str] | None) -> dict[str, Any]:
    """The flat xLAM tool when it reads back as the same schema, else the JSON Schema."""
    flat = _flat_tool(fn, types)
    if flat is fn:
        return fn
    try:
        back = _tool(flat, 0)[0]["function"]
    except SourceError:
        return fn
    return flat if back == fn else fn


def _row_id(t: Trajectory) -> Any:
    prefix = _ID_PREFIX.get(t.source, t.source) + "-"
    rest = t.id[len(prefix):] if t.id.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else t.id


_FROM_TYPE = ("type", "items", "anyOf")  # property keys that came from the type string


def _flat_tool(fn: dict[str, Any], types: dict[str, str] | None) -> dict[str, Any]:
    params = fn.get("parameters") or {}
    if not _is_json_schema(params):
        return fn
    required = set(params.get("required") or [])
    flat = {}
    for pname, prop in params["properties"].items():
        out = {k: v for k, v in prop.items() if k == "description"}
        if types is not None:
            if pname in types:
                out["type"] = types[pname]
        else:
            optional = pname not in required and "default" not in prop
            out["type"] = type_string(prop) + (", optional" if optional else "")
        out.update({k: v for k, v in prop.items() if k not in _FROM_TYPE and k != "description"})
        flat[pname] = out
    return {**{k: v for k, v in fn.items() if k != "parameters"}, "parameters": flat}


def load(path: str | os.PathLike[str],
         on_reject: Callable[[Reject], None] | None = None) -> Iterator[Trajectory]:
    return load_with(path, from_row, on_reject=on_reject)


def dump(records: Iterable[Trajectory], path: str | os.PathLike[str]) -> int:
    return dump_with(records, path, to_row)

