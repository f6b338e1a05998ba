"""The tools ``synth apigen`` samples from: a registry (built-ins, ``--tools`` modules) or
files of JSON tool schemas (a list of specs, or JSON Lines rows such as xlam-60k's
``tools`` or BFCL's ``function``), grouped by category.

xlam-60k writes parameters as a flat ``{name: {"type": "str, optional", ...}}`` map, not
JSON Schema; those are converted (optional / default -> not required; Python type names
-> JSON Schema ones). Tools from modules can run (the execution stage calls them); tools
from files cannot, so records using them pass execution as *skipped*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamstudio.io import BadRow, InputError, JsonValueError, parse_json, read_rows
from lamstudio.schema import ToolSpec
from lamstudio.verify import normalize_types

_PY_TYPES = {"str": "string", "string": "string", "int": "integer", "integer": "integer",
             "float": "number", "number": "number", "bool": "boolean", "boolean": "boolean",
             "dict": "object", "object": "object", "list": "array", "array": "array",
             "tuple": "array", "set": "array"}


@dataclass(frozen=True)
class PoolTool:
    spec: dict[str, Any]   # OpenAI-shaped tool spec
    category: str
    executable: bool

    @property
    def name(self) -> str:
        return str(self.spec["function"]["name"])


class ToolPool:
    """Tools by name and by category (categories and tools keep their first-seen order)."""

    def __init__(self, tools: Iterable[PoolTool] = ()) -> None:
        self.tools: dict[str, PoolTool] = {}
        self.skipped: list[str] = []  # why some tools were left out
        for t in tools:
            self.add(t)

    def add(self, tool: PoolTool) -> None:
        if tool.name in self.tools:
            if self.tools[tool.name].spec != tool.spec:
                self.skipped.append(f"{tool.name}: a second, different tool of that name")
            return
        self.tools[tool.name] = tool

    @property
    def categories(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t in self.tools.values():
            out.setdefault(t.category, []).append(t.name)
        return out

    def __len__(self) -> int:
        return len(self.tools)

    @classmethod
    def load(cls, *, builtin: bool = True, modules: Iterable[str] = (),
             files: Iterable[str] = ()) -> ToolPool:
        from lamstudio.tools import ToolRegistry, builtin_registry

        pool = cls()
        registry = builtin_registry() if builtin else ToolRegistry()
        mods = list(modules)
        if mods:
            registry.update(ToolRegistry.from_modules(mods))
        for name in registry.names():
            pool.add(PoolTool(registry.spec(name).model_dump(mode="json", exclude_none=True),
                              registry.category(name), True))
        for f in files:
            for tool in tools_from_file(f):
                pool.add(tool)
        if not pool.tools:
            raise InputError("no tools to sample from: keep the built-ins, or pass --tools "
                             "MODULE.py or --tool-file FILE")
        return pool


def tools_from_file(path: str | Path) -> Iterator[PoolTool]:
    """Tool specs from a JSON list / object or JSON Lines rows (see the module doc)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such tool file")
    default_cat = re.sub(r"[^a-z0-9]+", "_", p.stem.lower()).strip("_") or "tools"
    for row in read_rows(p):
        if isinstance(row, BadRow):
            raise InputError(f"{p}:{row.line}: {row.message}")
        try:
            items = _tool_items(row.value)
        except JsonValueError as exc:
            raise InputError(f"{p}:{row.line}: the tool list string is not usable JSON "
                             f"({exc.code}: {exc.message})") from None
        for i, raw in enumerate(items):
            where = f"{p}:{row.line} tool {i}"
            yield _pool_tool(raw, where, default_cat)


def _tool_items(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return [data]
    for key in ("tools", "function", "functions"):
        if key in data:
            items = data[key]
            if isinstance(items, str):  # xlam-60k stores its tool list as a JSON string
                items = parse_json(items)
            cat = data.get("category") or (data.get("meta") or {}).get("tool_category")
            items = items if isinstance(items, list) else [items]
            return [{**i, "category": i.get("category", cat)} if cat and isinstance(i, dict)
                    else i for i in items]
    return [data]


def _pool_tool(raw: Any, where: str, default_cat: str) -> PoolTool:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: a tool must be a JSON object, got {type(raw).__name__}")
    fn = raw.get("function", raw) if raw.get("type") == "function" else raw
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise InputError(f"{where}: a tool needs a non-empty 'name'")
    params = fn.get("parameters") or {"type": "object", "properties": {}}
    params = _json_schema(params, where)
    spec = ToolSpec.model_validate({"type": "function", "function": {
        "name": fn["name"], "description": str(fn.get("description") or ""),
        "parameters": params}})
    category = str(raw.get("category") or fn.get("category") or default_cat)
    return PoolTool(spec.model_dump(mode="json", exclude_none=True), category, False)


def _json_schema(params: Any, where: str) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise InputError(f"{where}: 'parameters' must be an object")
    if "properties" in params or params.get("type") in ("object", "dict"):
        out, _ = normalize_types(params)
        return {**out, "type": "object"}
    # xlam-60k: {name: {"type": "str, optional", "description": ..., "default": ...}}
    props: dict[str, Any] = {}
    required = []
    for name, p in params.items():
        p = p if isinstance(p, dict) else {"description": str(p)}
        kind = str(p.get("type", ""))
        optional = "optional" in kind.lower() or "default" in p
        base = re.split(r"[,\[]", kind, maxsplit=1)[0].strip().lower()
        prop: dict[str, Any] = {"description": str(p.get("description", ""))}
        if base in _PY_TYPES:
            prop["type"] = _PY_TYPES[base]
        if "default" in p and p["default"] not in ("", None):
            prop["default"] = p["default"]
        props[name] = prop
        if not optional:
            required.append(name)
    return {"type": "object", "properties": props, "required": required}
