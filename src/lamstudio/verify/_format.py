"""Stage 1, the format check: specs are JSON Schema, calls fit the specs, output parses.

Speed matters (it runs on every row): each distinct tool schema is checked with
``check_schema`` and compiled into a ``jsonschema`` validator once, then reused for every
record that offers it. ``jsonschema`` is the authority; where a schema uses only keywords
on which ``fastjsonschema`` (code generated per schema, ~20x faster) agrees with it, that
compiled function answers "valid" and ``jsonschema`` runs only to explain a failure (and
overrules the fast path if it finds nothing wrong).

Treatment of records without calls (decided here):

* ``meta.category`` naming irrelevance (``irrelevance``, ``live_irrelevance``): the right
  answer is *no* call, so any call fails with ``irrelevance_call``; no call passes.
* a category that requires calls (``simple``, ``multiple``, ``parallel`` ...,
  ``live_relevance``): no call fails with ``IAC``; a ``parallel`` category also needs one
  assistant turn with two or more calls.
* anything else: a record without calls (chit-chat, a clarifying question) passes, unless
  ``require_calls=True``.
* a record without any assistant message fails with ``no_assistant_turn`` (nothing to
  learn from), except an irrelevance prompt (BFCL ships them so), which is complete as is.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError

from lamstudio.schema import ToolCall, Trajectory
from lamstudio.verify._verdict import Verdict

STAGE = "format"

# Python / BFCL-style type names seen in the wild -> JSON Schema (None: any type).
_LENIENT_TYPES: dict[str, str | None] = {
    "dict": "object", "float": "number", "double": "number", "tuple": "array",
    "list": "array", "str": "string", "int": "integer", "long": "integer",
    "bool": "boolean", "any": None,
}
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "if", "then", "else",
               "propertyNames", "unevaluatedProperties", "additionalItems")
_KEYWORD_CODES = {"type": "IAT", "required": "IAV", "additionalProperties": "IAN",
                  "unevaluatedProperties": "IAN", "propertyNames": "IAN"}
# Keywords where fastjsonschema (draft-07) and jsonschema (2020-12) may disagree, or that
# need references resolved: a schema using any of them is validated by jsonschema alone.
_NOT_FAST = {"$ref", "$dynamicRef", "$recursiveRef", "$defs", "definitions", "$schema", "$id",
             "id", "$anchor", "dependencies", "dependentRequired", "dependentSchemas",
             "prefixItems", "unevaluatedProperties", "unevaluatedItems", "additionalItems",
             "multipleOf", "uniqueItems", "contentSchema"}
_CALL_IN_TEXT = re.compile(r"<tool_call>|^\s*\[?\s*\{\s*\"name\"\s*:", re.S)


@dataclass(frozen=True)
class FormatOptions:
    lenient_types: bool = True    # accept "dict", "float", ... (BFCL); reported in details
    require_calls: bool = False   # a record without any call fails with IAC
    max_issues: int = 10


@dataclass(frozen=True)
class _Spec:
    """A tool schema, checked and compiled once."""

    validator: Any | None
    fast: Callable[[Any], Any] | None  # raises on invalid input; None: jsonschema only
    error: str | None            # why the schema is not valid JSON Schema
    properties: frozenset[str]
    closed: bool                 # undeclared argument names are errors (IAN)
    normalized: bool


@dataclass(frozen=True)
class _Issue:
    code: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


def normalize_types(schema: Any) -> tuple[Any, bool]:
    """Map Python-style type names to JSON Schema ones; returns (schema, changed)."""
    if not isinstance(schema, dict):
        return schema, False
    out, changed = dict(schema), False
    kind = out.get("type")
    if isinstance(kind, str) and kind.lower() in _LENIENT_TYPES:
        mapped, changed = _LENIENT_TYPES[kind.lower()], True
        if mapped is None:
            del out["type"]
        else:
            out["type"] = mapped
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            pairs = {k: normalize_types(v) for k, v in out[key].items()}
            out[key] = {k: v for k, (v, _) in pairs.items()}
            changed |= any(c for _, c in pairs.values())
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            pairs_l = [normalize_types(v) for v in out[key]]
            out[key] = [v for v, _ in pairs_l]
            changed |= any(c for _, c in pairs_l)
    for key in _SCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key], c = normalize_types(out[key])
            changed |= c
    return out, changed


def _compile(params: Any, lenient: bool) -> _Spec:
    if not isinstance(params, dict):
        return _Spec(None, None, "parameters is not an object", frozenset(), True, False)
    schema, normalized = normalize_types(params) if lenient else (params, False)
    cls = validators.validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return _Spec(None, None, f"not valid JSON Schema at {where}: {exc.message}",
                     frozenset(), True, normalized)
    if schema.get("type", "object") != "object":
        return _Spec(None, None, f"parameters must be an object schema, got type "
                     f"{schema.get('type')!r}", frozenset(), True, normalized)
    props = schema.get("properties") or {}
    # Undeclared names are hallucinated arguments (SpecTool IAN) unless the schema opens
    # the object explicitly; JSON Schema's permissive default is not what tool users mean.
    # (additionalProperties: false is left to jsonschema, which reports it itself.)
    extra = schema.get("additionalProperties")
    closed = extra is None and "patternProperties" not in schema
    return _Spec(cls(schema), _fast_validator(schema), None, frozenset(props), closed,
                 normalized)


def _keywords(schema: Any, out: set[str]) -> set[str]:
    """Every keyword used anywhere in a schema (property names are not keywords)."""
    if not isinstance(schema, dict):
        return out
    out.update(schema)
    if isinstance(schema.get("items"), list):
        out.add("$tuple-items")
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for sub in schema[key].values():
                _keywords(sub, out)
    for key in _SCHEMA_LISTS:
        for sub in schema.get(key) or [] if isinstance(schema.get(key), list) else []:
            _keywords(sub, out)
    for key in _SCHEMA_ONE:
        _keywords(schema.get(key), out)
    return out


def _fast_validator(schema: dict[str, Any]) -> Callable[[Any], Any] | None:
    try:
        import fastjsonschema
    except ImportError:  # optional accelerator (the "verify" extra)
        return None
    if _keywords(schema, set()) & (_NOT_FAST | {"$tuple-items"}):
        return None
    try:
        # use_default=False: fastjsonschema would otherwise write defaults into the data.
        return fastjsonschema.compile(schema, use_default=False, use_formats=False,
                                      detailed_exceptions=False)
    except Exception:  # noqa: BLE001 - anything it cannot compile goes to jsonschema
        return None


def _category_rule(category: Any) -> str | None:
    """'irrelevance', 'parallel', 'call' or None, from BFCL-style category names."""
    if not isinstance(category, str):
        return None
    return _rule_of(category)


@functools.lru_cache(maxsize=1024)  # a dataset has a handful of categories
def _rule_of(category: str) -> str | None:
    tokens = set(re.split(r"[^a-z]+", category.lower()))
    if "irrelevance" in tokens:
        return "irrelevance"
    if "parallel" in tokens:
        return "parallel"
    if tokens & {"simple", "multiple", "relevance"}:
        return "call"
    return None


def _call_in_text(content: str | None) -> str | None:
    """A tool call written into the assistant's text instead of ``tool_calls``."""
    if not content or not _CALL_IN_TEXT.search(content):
        return None
    return "assistant text holds a tool call that is not in tool_calls"


class FormatChecker:
    """``check(record) -> Verdict``; one instance caches compiled schemas across records."""

    def __init__(self, options: FormatOptions | None = None) -> None:
        self.options = options or FormatOptions()
        self._specs: dict[str, _Spec] = {}
        self._by_name: dict[str, list[tuple[Any, _Spec]]] = {}

    def spec(self, name: str, params: Any) -> _Spec:
        """The compiled spec. Looked up by name and deep equality first (cheap: the same
        tools recur across a dataset), then by the schema's canonical JSON."""
        bucket = self._by_name.setdefault(name, [])
        for seen, spec in bucket:
            if seen == params:
                return spec
        key = json.dumps(params, sort_keys=True, default=str)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = _compile(params, self.options.lenient_types)
        if len(bucket) < 8:
            bucket.append((params, spec))
        return spec

    def check(self, t: Trajectory) -> Verdict:
        issues: list[_Issue] = []
        specs, normalized = self._tool_specs(t, issues)
        category = t.meta.get("category")
        rule = _category_rule(category)
        n_calls, parallel = self._check_messages(t, specs, rule, issues)
        _check_call_count(category, rule, n_calls, parallel, self.options.require_calls,
                          issues)
        if issues:
            first = issues[0]
            more = f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""
            kept = issues[: self.options.max_issues]
            return Verdict.fail(STAGE, first.code, f"{first.path}: {first.message}{more}",
                                issues=[i.to_dict() for i in kept])
        details: dict[str, Any] = {"calls": n_calls}
        if normalized:
            details["normalized_types"] = True
        return Verdict.ok(STAGE, **details)

    def _tool_specs(self, t: Trajectory, issues: list[_Issue]) -> tuple[dict[str, _Spec], bool]:
        specs: dict[str, _Spec] = {}
        seen: dict[str, Any] = {}
        normalized = False
        for i, tool in enumerate(t.tools):
            fn = tool.function
            name, params = fn.name, fn.parameters
            if name in seen and seen[name] != params:
                issues.append(_Issue("duplicate_tool", f"tools[{i}]",
                                     f"tool {name!r} is offered twice with different "
                                     "parameters"))
            seen[name] = params
            spec = specs[name] = self.spec(name, params)
            if spec.normalized or spec.error:
                normalized |= spec.normalized
                if spec.error:
                    issues.append(_Issue("invalid_tool_schema",
                                         f"tools[{i}].function.parameters",
                                         f"{name}: {spec.error}"))
        return specs, normalized

    def _check_messages(self, t: Trajectory, specs: dict[str, _Spec], rule: str | None,
                        issues: list[_Issue]) -> tuple[int, bool]:
        """One pass over the messages; returns (calls, whether a turn made 2+ calls)."""
        n_calls, assistant_turns, parallel = 0, 0, False
        earlier: list[tuple[str, dict[str, Any], str]] = []  # calls in this user turn
        for i, msg in enumerate(t.messages):
            role = msg.role
            if role == "user":
                earlier = []
            elif role == "assistant":
                assistant_turns += 1
                calls = msg.tool_calls
                if not calls:
                    if why := _call_in_text(msg.content):
                        issues.append(_Issue("IFE", f"messages[{i}].content", why))
                    continue
                n_calls += len(calls)
                parallel |= len(calls) >= 2
                self._check_calls(calls, i, specs, issues)
                _check_repeats(t, calls, i, earlier, issues)
        # An irrelevance prompt without a reply is complete: its right answer is no call.
        if assistant_turns == 0 and rule != "irrelevance":
            issues.append(_Issue("no_assistant_turn", "messages",
                                 "no assistant message: nothing to learn from"))
        return n_calls, parallel

    def _check_calls(self, calls: list[ToolCall], i: int, specs: dict[str, _Spec],
                     issues: list[_Issue]) -> None:
        for k, call in enumerate(calls):
            name, args = call.function.name, call.function.arguments
            spec = specs.get(name)
            if spec is None:
                offered = ", ".join(sorted(specs)) or "none"
                issues.append(_Issue("IFN", f"messages[{i}].tool_calls[{k}].function.name",
                                     f"calls {name!r}, which is not offered (tools: {offered})"))
                continue
            if spec.validator is None:
                continue  # the schema itself is already reported
            if spec.closed and not spec.properties.issuperset(args):
                _undeclared(name, args, spec, f"messages[{i}].tool_calls[{k}].function", issues)
            if spec.fast is not None:
                try:
                    spec.fast(args)
                    continue
                except Exception:  # noqa: BLE001 - JsonSchemaValueException and kin
                    pass  # jsonschema explains (or overrules) the failure below
            path = f"messages[{i}].tool_calls[{k}].function"
            for err in spec.validator.iter_errors(args):
                issues.append(_schema_issue(err, path, name))


def _undeclared(name: str, args: dict[str, Any], spec: _Spec, path: str,
                issues: list[_Issue]) -> None:
    for arg in args:
        if arg not in spec.properties:
            issues.append(_Issue("IAN", f"{path}.arguments.{arg}",
                                 f"{name} has no argument {arg!r} (declared: "
                                 f"{', '.join(sorted(spec.properties)) or 'none'})"))


def _check_repeats(t: Trajectory, calls: list[ToolCall], i: int,
                   earlier: list[tuple[str, dict[str, Any], str]],
                   issues: list[_Issue]) -> None:
    for k, call in enumerate(calls):
        name, args = call.function.name, call.function.arguments
        if earlier:
            prev = next((cid for n, a, cid in reversed(earlier) if n == name and a == args),
                        None)
            # Retrying after an error result is legitimate; repeating a success is not.
            if prev is not None and "error" not in str(_result_of(t, prev) or "").lower():
                issues.append(_Issue("RAC", f"messages[{i}].tool_calls[{k}]",
                                     f"repeats the identical call {name}({_short(args)})"))
        earlier.append((name, args, call.id or ""))


def _result_of(t: Trajectory, call_id: str) -> str | None:
    """The content of the (last) tool message answering ``call_id``."""
    results = {m.tool_call_id: m.content for m in t.messages if m.role == "tool"}
    return results.get(call_id)


def _check_call_count(category: Any, rule: str | None, n_calls: int, parallel: bool,
                      require_calls: bool, issues: list[_Issue]) -> None:
    if rule == "irrelevance":
        if n_calls:
            issues.append(_Issue("irrelevance_call", "messages",
                                 f"category {category!r} expects no call, found {n_calls}"))
        return
    if n_calls == 0 and (rule is not None or require_calls):
        why = f"category {category!r} requires" if rule else "require_calls is set and needs"
        issues.append(_Issue("IAC", "messages", f"no tool call; {why} at least one"))
    elif rule == "parallel" and not parallel:
        issues.append(_Issue("IAC", "messages", f"category {category!r} requires parallel "
                             "calls (2+ in one assistant turn), found none"))


def _schema_issue(err: ValidationError, path: str, name: str) -> _Issue:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    code = _KEYWORD_CODES.get(str(err.validator), "IAV")
    if err.validator == "required":
        message = f"{name}: missing required argument ({err.message})"
    else:
        message = f"{name}: {err.message}"
    return _Issue(code, f"{path}.arguments{where}", message)


def _short(args: dict[str, Any], limit: int = 60) -> str:
    text = json.dumps(args, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_format(t: Trajectory, options: FormatOptions | None = None) -> Verdict:
    """One-off convenience; use a ``FormatChecker`` for many records (schema cache)."""
    return FormatChecker(options).check(t)
