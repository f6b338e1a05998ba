"""``@tool``: turn a typed, documented Python function into an OpenAI function spec.

The JSON Schema of the parameters comes from the type hints (``str``/``int``/``float``/
``bool``, ``list[...]``, ``tuple[...]``, ``set[...]``, ``dict[...]``, ``Literal[...]`` and
enums as an enum, ``Optional``/defaults as not required, ``Annotated[T, "description"]``),
the description from the docstring's first paragraph and the parameter descriptions from its
Google-style ``Args:`` section. An explicit ``parameters`` schema replaces the derived one.

Which library does what: pydantic's ``TypeAdapter`` turns each hint into JSON Schema
(pydantic is a core dependency; ``transformers.utils.get_json_schema`` does both hints and
docstrings, but transformers is an optional extra and it refuses a parameter without a
docstring line). What is left here is what neither does for us: the Google-style docstring
parser (kept lenient: a missing ``Args:`` line is not an error), ``Optional`` as "not
required" rather than "may be null", ``Annotated`` string descriptions, inlining pydantic's
``$defs`` (tool schemas travel one parameter at a time), and refusing hints whose values a
tool would not receive as such: arguments arrive as plain JSON values, unconverted, so a
``datetime`` or a pydantic model parameter (which pydantic could describe) is refused.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, overload

from jsonschema import Draft202012Validator, SchemaError
from pydantic import PydanticUserError, TypeAdapter

from lamstudio.schema import FunctionSpec, ToolSpec

F = TypeVar("F", bound=Callable[..., Any])

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Examples?|Notes?)"
                      r"\s*:\s*$")
_ARG_LINE = re.compile(r"^(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


class ToolDefinitionError(ValueError):
    """A function cannot be turned into a tool (unsupported type, bad schema, bad name)."""


@overload
def tool(fn: F) -> F: ...


@overload
def tool(
    fn: None = None, *, name: str | None = None, category: str | None = None,
    description: str | None = None, parameters: dict[str, Any] | None = None,
) -> Callable[[F], F]: ...


def tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None,
    category: str | None = None, description: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> Any:
    """Mark ``fn`` as a tool and attach ``fn.spec`` (a :class:`ToolSpec`) and ``fn.category``.

    Usable bare (``@tool``) or with options (``@tool(name=..., category=...)``). Without a
    category the module's ``CATEGORY`` global is used, else the module's last name part.
    """

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        func.spec = build_spec(func, name=name, description=description,  # type: ignore[attr-defined]
                               parameters=parameters)
        func.category = category or _default_category(func)  # type: ignore[attr-defined]
        func.__lamstudio_tool__ = True  # type: ignore[attr-defined]
        return func

    return wrap(fn) if fn is not None else wrap


def is_tool(obj: Any) -> bool:
    """True for a function decorated with :func:`tool`."""
    return callable(obj) and getattr(obj, "__lamstudio_tool__", False) is True


def build_spec(
    func: Callable[..., Any], *, name: str | None = None, description: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> ToolSpec:
    """The OpenAI-style spec of ``func`` (see the module docstring for the rules)."""
    tool_name = name or func.__name__
    if not _NAME.match(tool_name):
        raise ToolDefinitionError(f"tool name {tool_name!r} must be a Python-style identifier")
    summary, arg_docs = parse_docstring(inspect.getdoc(func) or "")
    if parameters is None:
        parameters = _parameters_from_signature(func, arg_docs)
    check_parameters_schema(parameters, where=tool_name)
    return ToolSpec(function=FunctionSpec(
        name=tool_name, description=description or summary, parameters=parameters))


def check_parameters_schema(parameters: dict[str, Any], where: str = "tool") -> None:
    """Raise :class:`ToolDefinitionError` unless ``parameters`` is a JSON Schema object."""
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        raise ToolDefinitionError(f"{where}: parameters must be a JSON Schema with type 'object'")
    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as exc:
        raise ToolDefinitionError(f"{where}: parameters is not valid JSON Schema: "
                                  f"{exc.message}") from None


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {parameter: description}).

    The description is everything before the first section header; ``Args:`` entries may
    carry a type in parentheses and continue on more-indented lines.
    """
    lines = doc.expandtabs().splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in lines:
        header = _SECTION.match(line.strip())
        if header and not line.startswith(" "):
            section, current = header.group(1).lower(), None
            continue
        if section is None:
            summary.append(line.strip())
        elif section in ("args", "arguments", "parameters") and line.strip():
            match = _ARG_LINE.match(line.strip())
            indent = len(line) - len(line.lstrip())
            if match and (current is None or indent <= _arg_indent(lines, section)):
                current = match.group(1).lstrip("*")
                args[current] = match.group(3).strip()
            elif current is not None:
                args[current] = f"{args[current]} {line.strip()}".strip()
    text = " ".join(" ".join(summary).split())
    return text, args


def _arg_indent(lines: list[str], section: str) -> int:
    """Indentation of the first entry under the ``Args:`` header (entries share it)."""
    seen = False
    for line in lines:
        if seen and line.strip():
            return len(line) - len(line.lstrip())
        if line.strip().lower().rstrip(":").strip() == section:
            seen = True
    return 0


def _default_category(func: Callable[..., Any]) -> str:
    module = inspect.getmodule(func)
    explicit = getattr(module, "CATEGORY", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    return (getattr(func, "__module__", None) or "general").rsplit(".", 1)[-1].lstrip("_")


def _parameters_from_signature(func: Callable[..., Any], docs: dict[str, str]) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # a hint that names something undefined
        raise ToolDefinitionError(f"{func.__name__}: cannot resolve type hints ({exc})") from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in inspect.signature(func).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(f"{func.__name__}: *args/**kwargs cannot be described")
        if pname not in hints:
            raise ToolDefinitionError(f"{func.__name__}: parameter {pname!r} has no type hint")
        schema, optional = type_to_schema(hints[pname], where=f"{func.__name__}.{pname}")
        if pname in docs and "description" not in schema:
            schema = {**schema, "description": docs[pname]}
        if param.default is param.empty and not optional:
            required.append(pname)
        elif param.default is not param.empty and _jsonable_scalar(param.default):
            schema = {**schema, "default": _plain(param.default)}
        properties[pname] = schema
    spec: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        spec["required"] = required
    return spec


def _jsonable_scalar(value: Any) -> bool:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (list, tuple)):
        return all(_jsonable_scalar(v) for v in value)
    return isinstance(value, (str, int, float, bool))


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


_JSON_LEAVES = (str, int, float, bool, type(None), Any)
_JSON_CONTAINERS = (list, tuple, set, frozenset, dict, collections.abc.Sequence,
                    collections.abc.Mapping, collections.abc.Set, Union, types.UnionType)


def type_to_schema(hint: Any, where: str = "parameter") -> tuple[dict[str, Any], bool]:
    """JSON Schema for a type hint, and whether the hint admits ``None`` (then optional)."""
    if not _json_native(hint):
        raise ToolDefinitionError(f"{where}: type {hint!r} has no JSON Schema mapping (tool "
                                  f"arguments arrive as plain JSON values)")
    notes: list[str] = []
    while get_origin(hint) is typing.Annotated:
        hint, *meta = get_args(hint)
        notes += [m for m in meta if isinstance(m, str)]
    optional = False
    if get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint):
        members = [a for a in get_args(hint) if a is not type(None)]
        optional, hint = True, Union[tuple(members)] if members else type(None)  # noqa: UP007
    try:
        schema = TypeAdapter(hint).json_schema()
    except PydanticUserError as exc:
        raise ToolDefinitionError(f"{where}: type {hint!r} has no JSON Schema mapping "
                                  f"({exc})") from None
    schema = _tidy(schema, schema.pop("$defs", {}))
    return ({**schema, "description": " ".join(notes)} if notes else schema), optional


def _json_native(hint: Any) -> bool:
    """Whether every value of ``hint`` is a JSON value as such (what a tool receives)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is typing.Annotated:
        return _json_native(args[0])
    if origin is Literal or hint in _JSON_LEAVES:
        return True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return True
    if hint in _JSON_CONTAINERS or origin in _JSON_CONTAINERS:
        return all(_json_native(a) for a in args if a is not Ellipsis)
    return False


def _tidy(node: Any, defs: dict[str, Any]) -> Any:
    """Inline ``$ref``s, drop pydantic's titles and the no-op ``items: {}`` /
    ``additionalProperties: true``."""
    if isinstance(node, list):
        return [_tidy(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _tidy(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    out = {k: _tidy(v, defs) for k, v in node.items() if k != "title"}
    if out.get("items") == {}:
        del out["items"]
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]
    return out
