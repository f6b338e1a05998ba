"""``@tool``: turn a typed, documented Python function into an OpenAI function spec.

The JSON Schema of the parameters comes from the type hints (``str``/``int``/``float``/
``bool``, ``list[...]``, ``dict[...]``, ``Literal[...]`` as an enum, ``Optional``/defaults as
not required, ``Annotated[T, "description"]``), the description from the docstring's first
paragraph and the parameter descriptions from its Google-style ``Args:`` section. An
explicit ``parameters`` schema replaces the derived one.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, overload

from jsonschema import Draft202012Validator, SchemaError

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


_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"},
    bool: {"type": "boolean"}, Any: {},
}


def type_to_schema(hint: Any, where: str = "parameter") -> tuple[dict[str, Any], bool]:
    """JSON Schema for a type hint, and whether the hint admits ``None`` (then optional)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is typing.Annotated:
        schema, optional = type_to_schema(args[0], where)
        notes = [a for a in args[1:] if isinstance(a, str)]
        return ({**schema, "description": " ".join(notes)} if notes else schema), optional
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        optional = len(members) < len(args)
        if len(members) == 1:
            return type_to_schema(members[0], where)[0], optional
        return {"anyOf": [type_to_schema(m, where)[0] for m in members]}, optional
    if hint in _SCALARS:
        return dict(_SCALARS[hint]), False
    if hint is type(None):
        return {"type": "null"}, True
    if origin is Literal:
        return _enum_schema(list(args)), False
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_schema([m.value for m in hint]), False
    if hint in (list, tuple, set) or origin in (list, tuple, set, _abc("Sequence")):
        schema: dict[str, Any] = {"type": "array"}
        if origin is tuple and args and args[-1] is not Ellipsis:
            schema["prefixItems"] = [type_to_schema(a, where)[0] for a in args]
            schema["minItems"] = schema["maxItems"] = len(args)
        elif args:
            schema["items"] = type_to_schema(args[0], where)[0]
        return schema, False
    if hint is dict or origin in (dict, _abc("Mapping")):
        schema = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            schema["additionalProperties"] = type_to_schema(args[1], where)[0]
        return schema, False
    raise ToolDefinitionError(f"{where}: type {hint!r} has no JSON Schema mapping")


def _abc(name: str) -> Any:
    import collections.abc

    return getattr(collections.abc, name)


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    kinds = {type(v) for v in values}
    json_type = {str: "string", int: "integer", float: "number", bool: "boolean"}
    schema: dict[str, Any] = {"enum": values}
    if len(kinds) == 1 and next(iter(kinds)) in json_type:
        schema = {"type": json_type[next(iter(kinds))], "enum": values}
    return schema
