"""BFCL calls: multi-turn call strings and single-turn possible answers -> tool calls.

Multi-turn ground truth is Python source (``"mv(source='a.pdf', destination='temp')"``);
single-turn ground truth lists acceptable values per parameter. Both become one
``FunctionCall`` here: the *reference call* is the first acceptable value of each
parameter, chosen so that BFCL's own AST checker would accept it.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from keyword import iskeyword
from typing import Any

from lamstudio.schema import FunctionCall
from lamstudio.sources._base import SourceError
from lamstudio.sources._bfcl_types import DICT_TYPES, LIST_TYPES

FuncDocs = Mapping[str, dict[str, Any]]


def parse_call_string(s: str, func_docs: FuncDocs | list[dict[str, Any]] | None = None,
                      ) -> FunctionCall:
    """Parse one Python call such as ``"sort('final_report.pdf')"`` into a ``FunctionCall``.

    Arguments must be literals (strings, numbers incl. negative ones, lists, tuples, dicts,
    ``None``, ``True``/``False``). Positional arguments take the parameter names of the
    function's doc, in the doc's order, so ``func_docs`` (name -> BFCL doc, or a list of
    docs) is needed for them. A class-qualified name (``GorillaFileSystem.mv``) resolves to
    the doc's plain name when only that one is known; dotted names that are themselves
    function names (``math.factorial``) stay whole. Raises ``SourceError("bad_call_string")``.
    """
    docs = _by_name(func_docs)
    node = _parse(s)
    name, doc = _resolve(_dotted_name(node.func, s), docs)
    arguments: dict[str, Any] = {}
    if node.args:
        params = _param_names(doc)
        if params is None:
            raise _bad(s, f"positional arguments need the doc of {name!r} to be named")
        if len(node.args) > len(params):
            raise _bad(s, f"{len(node.args)} positional arguments, but {name!r} declares "
                          f"{len(params)} parameters")
        for param, arg in zip(params, node.args, strict=False):
            arguments[param] = _literal(arg, s)
    for kw in node.keywords:
        # ``**{'from': 1}`` is how a parameter named like a Python keyword is written
        given = {kw.arg: _literal(kw.value, s)} if kw.arg else _literal(kw.value, s)
        if not isinstance(given, dict):
            raise _bad(s, "** needs a literal dict")
        for param, value in given.items():
            if param in arguments:
                raise _bad(s, f"parameter {param!r} is given twice")
            arguments[param] = value
    return FunctionCall(name=name, arguments=arguments)


def format_call_string(call: FunctionCall) -> str:
    """The inverse of ``parse_call_string`` (keyword arguments, Python literals)."""
    plain = {k: v for k, v in call.arguments.items() if k.isidentifier() and not iskeyword(k)}
    args = [f"{k}={v!r}" for k, v in plain.items()]
    rest = {k: v for k, v in call.arguments.items() if k not in plain}
    if rest:
        args.append(f"**{rest!r}")
    return f"{call.name}({', '.join(args)})"



def _bad(s: Any, why: str) -> SourceError:
    return SourceError("bad_call_string", f"{s!r}: {why}")


def _by_name(func_docs: FuncDocs | list[dict[str, Any]] | None) -> FuncDocs:
    if func_docs is None:
        return {}
    if isinstance(func_docs, list):
        return {d["name"]: d for d in func_docs if isinstance(d, dict) and "name" in d}
    return func_docs


def _parse(s: Any) -> ast.Call:
    if not isinstance(s, str):
        raise _bad(s, f"expected a string, got {type(s).__name__}")
    try:
        node = ast.parse(s.strip(), mode="eval").body
    except SyntaxError as exc:
        raise _bad(s, f"not valid Python ({exc.msg})") from None
    if not isinstance(node, ast.Call):
        raise _bad(s, f"expected a function call, got a {type(node).__name__}")
    return node


def _dotted_name(func: ast.expr, s: str) -> str:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        raise _bad(s, "the called object is not a (dotted) name")
    parts.append(func.id)
    return ".".join(reversed(parts))


def _resolve(name: str, docs: FuncDocs) -> tuple[str, dict[str, Any] | None]:
    if name in docs:
        return name, docs[name]
    short = name.rsplit(".", 1)[-1]
    if "." in name and short in docs:  # Class.method where the doc says method
        return short, docs[short]
    return name, None


def _param_names(doc: dict[str, Any] | None) -> list[str] | None:
    if doc is None:
        return None
    props = (doc.get("parameters") or {}).get("properties")
    return list(props) if isinstance(props, dict) else None


def _literal(node: ast.expr, s: str) -> Any:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise _bad(s, f"argument {ast.unparse(node)!r} is not a literal") from None
    return _to_json(value, s)


def _to_json(value: Any, s: str) -> Any:
    """Tuples and sets become lists; anything JSON cannot hold is an error."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _bad(s, f"{value} cannot be written as JSON")
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_to_json(v, s) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _bad(s, "dict keys must be strings to be JSON")
        return {k: _to_json(v, s) for k, v in value.items()}
    raise _bad(s, f"a {type(value).__name__} value cannot be written as JSON")


# --- single-turn possible answers -------------------------------------------------------


def reference_arguments(doc: dict[str, Any], possible: Any, where: str) -> dict[str, Any]:
    """The reference call's arguments for one ground-truth entry ``{param: [acceptable]}``.

    The first acceptable value of each parameter, except that a parameter is left out when
    ``""`` (BFCL's "may be omitted") is acceptable and either comes first or the function
    does not declare the parameter; a required parameter skips a leading ``""``. Ground
    truth that BFCL's checker could never accept raises ``SourceError`` with a reason code.
    """
    if not isinstance(possible, dict):
        raise SourceError("bad_answer", f"{where}: expected {{param: [values]}}, got "
                                        f"{type(possible).__name__}", "ground_truth")
    params = doc.get("parameters") or {}
    props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
    required = params.get("required") if isinstance(params.get("required"), list) else []
    for name, acceptable in possible.items():
        if not isinstance(acceptable, list):
            raise SourceError("bad_answer", f"{where}: {name}: acceptable values must be a "
                                            f"list, got {acceptable!r}", "ground_truth")
        if not acceptable:
            raise SourceError("answer_no_value",
                              f"{where}: parameter {name!r} has an empty list of acceptable "
                              f"values (BFCL's checker can pass no call)", "ground_truth")
    for name in required:
        if not [v for v in possible.get(name, []) if v != ""]:
            got = "is absent" if name not in possible else f"accepts only {possible[name]!r}"
            raise SourceError("answer_missing_required",
                              f"{where}: required parameter {name!r} {got} in the ground truth "
                              f"(BFCL's checker can pass no call)", "ground_truth")
    out: dict[str, Any] = {}
    for name, acceptable in possible.items():
        declared = name in props
        if not declared and "" not in acceptable:
            raise SourceError("answer_unknown_param",
                              f"{where}: the ground truth needs parameter {name!r}, which the "
                              f"function does not declare ({sorted(props)})", "ground_truth")
        if not declared or (acceptable[0] == "" and name not in required):
            continue  # left out, as BFCL's "" allows
        first = next(v for v in acceptable if v != "")
        out[name] = _first_nested(first, props[name])
    return out


def _first_nested(value: Any, schema: Any) -> Any:
    """Dict-typed parameters list acceptable values per key (one level, as BFCL checks)."""
    t = schema.get("type") if isinstance(schema, dict) else None
    if t in DICT_TYPES and isinstance(value, dict):
        return _first_of_each(value)
    items = schema.get("items") if isinstance(schema, dict) else None
    item_t = items.get("type") if isinstance(items, dict) else None
    if (t in LIST_TYPES and item_t in DICT_TYPES and isinstance(value, list)
            and all(isinstance(v, dict) for v in value)):
        return [_first_of_each(v) for v in value]
    return value


def _first_of_each(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, acceptable in d.items():
        if not isinstance(acceptable, list):
            out[key] = acceptable  # a literal, not a list of options
        elif acceptable and acceptable[0] != "":
            out[key] = acceptable[0]
    return out


def possible_answer_of(call: FunctionCall) -> dict[str, dict[str, list[Any]]]:
    """A reference call written back as BFCL ground truth (one acceptable value each)."""
    return {call.name: {k: [v] for k, v in call.arguments.items()}}
