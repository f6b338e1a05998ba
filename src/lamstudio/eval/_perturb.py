"""Systematic model outputs for an entry: the reference answer and perturbations of it.

Used to test a checker against another (lamstudio's vs BFCL's, see
``tests/eval/test_bfcl_agreement.py``) and to benchmark checking speed. Each output is a
list of :class:`Call`; Java / JavaScript values are encoded as source literals, the way
BFCL's decoders hand them to its checker.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from lamstudio.tools import Call

_UNSET = object()


def _pick(values: Any) -> Any:
    """The first acceptable value that is not the 'may be omitted' marker."""
    if not isinstance(values, list):
        return values
    for v in values:
        if v != "":
            return v
    return _UNSET


def _plain(value: Any) -> Any:
    """Dict-valued answers list acceptable values per key; pick one per key, recursively."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            chosen = _pick(v)
            if chosen is not _UNSET:
                out[k] = _plain(chosen)
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def reference_calls(functions: list[dict[str, Any]], ground_truth: list[dict[str, Any]],
                    language: str) -> list[Call]:
    docs = {f["name"]: f for f in functions}
    calls = []
    for answer in ground_truth:
        (name, params), = answer.items()
        props = (docs.get(name) or {}).get("parameters", {}).get("properties", {})
        args = {}
        for p, values in params.items():
            chosen = _pick(values)
            if chosen is _UNSET:
                continue
            args[p] = encode(_plain(chosen), props.get(p, {}), language)
        calls.append(Call(name, args))
    return calls


# --- Java / JavaScript literals ------------------------------------------------------------


def encode(value: Any, spec: dict[str, Any], language: str) -> Any:
    if language == "python":
        return value
    declared = spec.get("type", "any")
    item = (spec.get("items") or {}).get("type")
    return _java(value, declared, item) if language == "java" else _js(value, declared, item)


def _java(value: Any, declared: str, item: str | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if declared == "long" and isinstance(value, int):
        return f"{value}L"
    if declared == "float" and isinstance(value, (int, float)):
        return f"{float(value)}f"
    if declared == "double" and isinstance(value, (int, float)):
        return repr(float(value))
    if declared in ("Array", "ArrayList") and isinstance(value, list):
        if declared == "Array":  # array elements are decoded by type, quotes kept
            return "new Object[]{" + ", ".join(_java(v, item or "any", None)
                                               for v in value) + "}"
        if not value:
            return "new ArrayList<>()"
        quote = item in ("String", "char") or item is None
        parts = [_java_lit(v) if quote else _java(v, item or "any", None) for v in value]
        return "new ArrayList<>(Arrays.asList(" + ", ".join(parts) + "))"
    if declared == "HashMap" and isinstance(value, dict):
        puts = " ".join(f'put("{k}", {_java_lit(v)});' for k, v in value.items())
        return "new HashMap<String, Object>() {{ " + puts + " }}"
    return str(value)


def _java_lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _js(value: Any, declared: str, item: str | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if declared == "Bigint" and isinstance(value, int):
        return f"{value}n"
    if declared == "String" and isinstance(value, str):
        return f'"{value}"'
    if declared == "array" and isinstance(value, list):
        return "[" + ", ".join(_js_lit(v) for v in value) + "]"
    if declared == "dict" and isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_js_lit(v)}" for k, v in value.items()) + "}"
    return str(value)


def _js_lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(_js_lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_js_lit(v)}" for k, v in value.items()) + "}"
    return str(value)


# --- perturbations ------------------------------------------------------------------------


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, str):
        return value + " changed"
    if isinstance(value, list):
        return value[1:] if value else ["extra"]
    if isinstance(value, dict):
        return {k: _changed(v) for k, v in value.items()} if value else {"extra": 1}
    return "changed"


def _wrong_type(value: Any, language: str) -> Any:
    if language != "python":
        return 7  # typed languages receive literals as strings; a number is the wrong type
    if isinstance(value, bool):
        return "true"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return 42
    if isinstance(value, list):
        return ",".join(map(str, value))
    return json.dumps(value)


def _string_variants(value: str) -> list[tuple[str, str]]:
    return [("str_upper", value.upper()),
            ("str_spaces", value.replace(" ", "  ") + " "),
            ("str_punct", value.replace(" ", "-") + "."),
            ("str_quote", value.replace('"', "'")),
            ("str_other_punct", value + "!")]


def _value_variants(value: Any, language: str) -> Iterator[tuple[str, Any, bool]]:
    """(label, new value, already encoded?) for one argument value."""
    yield "changed", _changed(copy.deepcopy(value)), False
    yield "wrong_type", _wrong_type(value, language), True
    if isinstance(value, str):
        for label, variant in _string_variants(value):
            yield label, variant, False
    if isinstance(value, float):
        yield "int_for_float", int(value), False
    if isinstance(value, int) and not isinstance(value, bool):
        yield "float_for_int", float(value), False
    if isinstance(value, list) and len(value) > 1:
        yield "list_reversed", value[::-1], False
    if isinstance(value, list) and value and isinstance(value[0], str):
        yield "list_str_case", [v.upper() if isinstance(v, str) else v for v in value], False
    if isinstance(value, dict) and value:
        k0 = next(iter(value))
        yield "dict_drop_key", {k: v for k, v in value.items() if k != k0}, False
        yield "dict_extra_key", {**value, "zz_key": "v"}, False


def perturbations(functions: list[dict[str, Any]], ground_truth: list[dict[str, Any]],
                  language: str) -> Iterator[tuple[str, list[Call]]]:
    """(label, calls) pairs: the reference and its systematic perturbations."""
    ref = reference_calls(functions, ground_truth, language)
    raw = reference_calls(functions, ground_truth, "python")  # values before encoding
    docs = {f["name"]: f for f in functions}
    yield "reference", ref
    yield "empty", []
    if not ref:
        return

    def with_call(i: int, call: Call) -> list[Call]:
        return ref[:i] + [call] + ref[i + 1:]

    for i, call in enumerate(ref):
        props = (docs.get(call.name) or {}).get("parameters", {}).get("properties", {})
        required = (docs.get(call.name) or {}).get("parameters", {}).get("required", [])
        tag = f"#{i}"
        yield f"wrong_name{tag}", with_call(i, Call(call.name + "_x", call.arguments))
        yield f"extra_arg{tag}", with_call(i, Call(call.name, {**call.arguments,
                                                                "zz_unknown": 1}))
        yield f"args_not_object{tag}", with_call(i, Call(call.name, '{"broken": '))
        for p in required:
            if p in call.arguments:
                args = {k: v for k, v in call.arguments.items() if k != p}
                yield f"drop_required{tag}:{p}", with_call(i, Call(call.name, args))
                break
        for p in props:
            if p not in call.arguments:
                extra = encode("x", props[p], language)
                yield f"unasked_doc_param{tag}:{p}", with_call(
                    i, Call(call.name, {**call.arguments, p: extra}))
                break
        for p, value in raw[i].arguments.items():
            for label, new, encoded in _value_variants(value, language):
                args = dict(call.arguments)
                args[p] = new if encoded else encode(new, props.get(p, {}), language)
                yield f"{label}{tag}:{p}", with_call(i, Call(call.name, args))
    yield "duplicated", ref + [ref[0]]
    yield "missing_call", ref[:-1]
    if len(ref) > 1:
        yield "reordered", ref[::-1]
        yield "rotated", ref[1:] + ref[:1]
