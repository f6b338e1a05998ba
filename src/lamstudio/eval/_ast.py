"""The single-turn AST checker: does a model's list of calls match an acceptable answer?

Semantics follow BFCL's ``ast_checker`` (bfcl-eval 2026.3.23) rule for rule, because a score
that disagrees with the leaderboard's is worthless; ``tests/eval/test_bfcl_agreement.py``
compares verdicts on every BFCL single-turn entry and systematic perturbations of it.
The implementation is our own and is organised for speed: everything that depends only on
the entry (function docs, declared types, normalised acceptable values) is computed once
by :func:`compile_case`, so :func:`check` only looks at the model's calls.

Rules, briefly: ``simple`` needs exactly one call (checked against the first function doc);
``multiple`` checks the first call against the answer's function; ``parallel*`` matches
calls to answers in any order (greedily, answer by answer, as BFCL does) with equal counts.
Per call: the name must match; every required parameter present; no parameter outside the
doc or the answer; types strict (Python int accepted for float); strings compared after
BFCL's normalisation; lists order-sensitive; dicts key by key; an answer parameter listing
``""`` may be omitted. Java / JavaScript arguments are source literals decoded by type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lamstudio.eval._taxonomy import classify
from lamstudio.eval._values import JAVA_TYPES, JS_TYPES, java_value, js_value, standardize
from lamstudio.eval._verdict import OK, CallVerdict, fail
from lamstudio.tools import Call

PY_TYPES: dict[str, type] = {
    "string": str, "integer": int, "float": float, "boolean": bool, "array": list,
    "tuple": list, "dict": dict, "any": str,
}
_PY_NESTED = ("array", "tuple")
_TYPED_NESTED = ("Array", "ArrayList", "array")
LANGUAGES = ("python", "java", "javascript")


def language_of(category: str) -> str:
    if "javascript" in category:
        return "javascript"
    return "java" if "java" in category else "python"


def kind_of(category: str) -> str:
    """BFCL decides the matching rule from the category name."""
    if "irrelevance" in category:
        return "irrelevance"
    if "relevance" in category:
        return "relevance"
    if "parallel" in category:
        return "parallel"
    return "multiple" if "multiple" in category else "simple"


# --- compiled entry ---------------------------------------------------------------------


@dataclass(slots=True)
class _Param:
    declared: str
    expected: type | None
    item_declared: str | None
    item_type: type | None
    problem: str | None  # a doc problem, reported only if the model uses this parameter


@dataclass(slots=True)
class _Func:
    name: str  # the name the model must use
    params: dict[str, _Param]
    required: list[str]


class _Accept:
    """The acceptable values of one answer parameter, pre-normalised for each comparison."""

    __slots__ = ("values", "optional", "first_type", "std_strings", "std_lists", "lists_bad",
                 "std_dicts")

    def __init__(self, values: Any) -> None:
        if not isinstance(values, list):
            values = [values]
        self.values = values
        self.optional = "" in values
        self.first_type = _first_type(values)
        self.std_strings = {standardize(v) for v in values if type(v) is str}
        self.std_lists: list[list[Any]] = []
        self.lists_bad = False
        for v in values:
            if isinstance(v, (str, list, tuple)):
                self.std_lists.append([standardize(x) if type(x) is str else x for x in v])
            else:  # BFCL's list comparison crashes on such an answer; so do we (as a verdict)
                self.lists_bad = True
        self.std_dicts = [None if v == "" else _std_dict(v) for v in values]


def _std_dict(cand: Any) -> dict[str, list[Any]] | None:
    if not isinstance(cand, dict):
        return None
    return {k: [standardize(a) if type(a) is str else a for a in allowed]
            for k, allowed in cand.items() if isinstance(allowed, (list, str))}


def _first_type(values: Iterable[Any]) -> type | None:
    for v in values:
        if v != "":
            return type(v)
    return None


@dataclass(slots=True)
class Expected:
    name: str
    func: _Func | None
    accepts: dict[str, _Accept]
    # param -> predicate that is True only where the full rules say OK (the common case);
    # False means "run the full rules", which also explain the failure.
    fast: dict[str, Callable[[Any], bool]]


def _fast_path(spec: _Param | None, acc: _Accept, language: str
               ) -> Callable[[Any], bool] | None:
    if language != "python" or spec is None or spec.problem or acc.first_type is None:
        return None
    values, std = acc.values, acc.std_strings
    if spec.declared == "string" and acc.first_type is str:
        return lambda v: type(v) is str and standardize(v) in std
    if spec.declared == "integer" and acc.first_type is int:
        return lambda v: type(v) is int and v in values
    if spec.declared == "float" and acc.first_type is float:
        return lambda v: (type(v) is float or type(v) is int) and float(v) in values
    if spec.declared == "boolean" and acc.first_type is bool:
        return lambda v: type(v) is bool and v in values
    return None


@dataclass(slots=True)
class CompiledCase:
    id: str
    category: str
    kind: str
    language: str
    funcs: list[_Func]
    expected: list[Expected]


def _compile_param(spec: Any, language: str) -> _Param:
    if not isinstance(spec, dict) or "type" not in spec:
        return _Param("?", None, None, None, "parameter has no type in the function doc")
    declared = spec["type"]
    table = {"python": PY_TYPES, "java": JAVA_TYPES, "javascript": JS_TYPES}[language]
    nested = _PY_NESTED if language == "python" else _TYPED_NESTED
    expected = table.get(declared) if isinstance(declared, str) else None
    if expected is None:
        return _Param(str(declared), None, None, None, f"unknown {language} type {declared!r}")
    if declared not in nested:
        return _Param(declared, expected, None, None, None)
    item = spec.get("items", {}).get("type") if isinstance(spec.get("items"), dict) else None
    item_type = table.get(item) if isinstance(item, str) else None
    if item_type is None:
        return _Param(declared, expected, None, None, f"array item type {item!r} unusable")
    return _Param(declared, expected, item, item_type, None)


def _compile_func(doc: dict[str, Any], language: str, underscore_to_dot: bool) -> _Func:
    name = str(doc.get("name", ""))
    if underscore_to_dot and "." in name:  # the model could not use '.', BFCL renames
        name = name.replace(".", "_")
    params = doc.get("parameters") or {}
    props = params.get("properties") or {}
    return _Func(name, {p: _compile_param(s, language) for p, s in props.items()},
                 list(params.get("required") or []))


def compile_case(entry_id: str, category: str, functions: Sequence[dict[str, Any]],
                 ground_truth: Sequence[dict[str, Any]] | None,
                 underscore_to_dot: bool = False) -> CompiledCase:
    """Pre-compute everything about one entry that does not depend on the model output.

    ``functions`` are BFCL-style docs (``{"name", "parameters": {"properties", "required"}}``)
    and ``ground_truth`` BFCL possible answers: ``[{func_name: {param: [acceptable, ...]}}]``.
    """
    language = language_of(category)
    funcs = [_compile_func(f, language, underscore_to_dot) for f in functions]
    by_name = {str(f.get("name", "")): fn for f, fn in zip(functions, funcs, strict=True)}
    expected = []
    for answer in ground_truth or []:
        (name, params), = answer.items()
        accepts = {p: _Accept(v) for p, v in (params or {}).items()}
        func = by_name.get(name) if len(funcs) > 1 or not funcs else funcs[0]
        specs = func.params if func else {}
        fast = {p: f for p, a in accepts.items()
                if (f := _fast_path(specs.get(p), a, language)) is not None}
        expected.append(Expected(name, by_name.get(name), accepts, fast))
    return CompiledCase(entry_id, category, kind_of(category), language, funcs, expected)


# --- checking ---------------------------------------------------------------------------


def check(case: CompiledCase, calls: Sequence[Call]) -> CallVerdict:
    """Judge decoded calls against a compiled entry. Never raises: a problem in the entry
    itself (which would crash BFCL's checker) comes back as ``bad_doc``."""
    try:
        verdict = _check(case, calls)
    except Exception as exc:  # noqa: BLE001 - a verdict, not a crash, is the contract
        verdict = fail("bad_doc", f"entry cannot be checked: {type(exc).__name__}: {exc}")
    if not verdict.valid:
        classify(verdict, calls, len(case.expected) if case.kind != "simple" else 1)
    return verdict


def _check(case: CompiledCase, calls: Sequence[Call]) -> CallVerdict:
    if case.kind in ("irrelevance", "relevance"):
        # BFCL counts output that is not well-formed calls as "no call" here.
        called = bool(calls) and all(isinstance(c.arguments, dict) for c in calls)
        if case.kind == "relevance":
            return OK if called else fail("no_call", "no function call where one was expected")
        if called:
            return fail("called_when_irrelevant", f"called {calls[0].name!r}; no tool fits")
        return OK
    for c in calls:
        if not isinstance(c.arguments, dict):
            return fail("bad_format", f"arguments of {c.name!r} are not an object: "
                                      f"{_short(c.arguments)}")
    n_exp = len(case.expected) if case.kind != "simple" else 1
    if len(calls) != n_exp:
        return fail("wrong_count", f"expected {n_exp} call(s), got {len(calls)}")
    if case.kind == "simple":
        exp = case.expected[0]
        fast = exp.fast if len(case.funcs) == 1 else {}
        return _check_call(case.funcs[0], calls[0], exp.accepts, case.language, fast)
    if case.kind == "multiple":
        exp = case.expected[0]
        if exp.func is None:
            raise LookupError(f"answer function {exp.name!r} is not among the docs")
        return _check_call(exp.func, calls[0], exp.accepts, case.language, exp.fast)
    return _check_parallel(case, calls)


def _check_parallel(case: CompiledCase, calls: Sequence[Call]) -> CallVerdict:
    # Greedy, answer by answer, first unused call that fits: BFCL's order-free matching.
    used: set[int] = set()
    for i, exp in enumerate(case.expected):
        if exp.func is None:
            raise LookupError(f"answer function {exp.name!r} is not among the docs")
        closest: CallVerdict | None = None
        for k, call in enumerate(calls):
            if k in used:
                continue
            verdict = _check_call(exp.func, call, exp.accepts, case.language, exp.fast)
            if verdict.valid:
                used.add(k)
                break
            if closest is None or (call.name == exp.func.name and
                                   closest.code == "wrong_func_name"):
                closest = verdict
        else:
            sub = closest or fail("wrong_count", "no call left")
            return fail("no_match", f"no call matches expected #{i} {exp.name!r}: "
                                    f"{sub.detail}", sub_code=sub.code)
    return OK


def _check_call(func: _Func, call: Call, accepts: dict[str, _Accept], lang: str,
                fast: dict[str, Callable[[Any], bool]]) -> CallVerdict:
    if call.name != func.name:
        return fail("wrong_func_name", f"expected {func.name!r}, got {call.name!r}")
    args: dict[str, Any] = call.arguments
    for p in func.required:
        if p not in args:
            return fail("missing_required", f"missing required parameter {p!r}")
    for p, value in args.items():
        quick = fast.get(p)
        if quick is not None and quick(value):
            continue
        spec, acc = func.params.get(p), accepts.get(p)
        if spec is None or acc is None:
            return fail("unexpected_param", f"unexpected parameter {p!r}")
        verdict = _check_value(p, value, spec, acc, lang)
        if verdict is not OK:
            return verdict
    for p, acc in accepts.items():
        if p not in args and not acc.optional:
            return fail("missing_optional", f"parameter {p!r} is needed by the answer")
    return OK


def _check_value(p: str, value: Any, spec: _Param, acc: _Accept, lang: str) -> CallVerdict:
    if spec.problem:
        raise ValueError(f"parameter {p!r}: {spec.problem}")
    expected = spec.expected
    if lang != "python":
        if type(value) is not str:
            code = "type_error_java" if lang == "java" else "type_error_js"
            return fail(code, f"{p!r} must be a {lang} literal string, got "
                              f"{type(value).__name__}")
        decode = java_value if lang == "java" else js_value
        value = decode(value, spec.declared, spec.item_declared)
    elif type(value) is int and spec.declared == "float":
        value = float(value)
    if spec.declared == "tuple" and type(value) is tuple:
        value = list(value)
    ok, is_variable, code = _type_check(value, acc, expected, spec.item_type)
    if not ok:
        return fail(code, f"{p!r}: expected {spec.declared}, got {type(value).__name__} "
                          f"{_short(value)}")
    if not is_variable:
        if expected is dict:
            return _dict_check(p, value, acc.values, acc.std_dicts)
        if expected is list and spec.item_type is dict:
            return _list_dict_check(p, value, acc.values)
        if expected is str:
            if standardize(value) in acc.std_strings:
                return OK
            return fail("value_string", f"{p!r}: {_short(value)} not in {_short(acc.values)}")
        if expected is list:
            if acc.lists_bad:
                raise TypeError(f"answer for {p!r} mixes lists and scalars")
            std = [standardize(x) if type(x) is str else x for x in value]
            if std in acc.std_lists:
                return OK
            return fail("value_list", f"{p!r}: {_short(value)} not in {_short(acc.values)}")
    if value in acc.values:
        return OK
    return fail("value_other", f"{p!r}: {_short(value)} not in {_short(acc.values)}")


def _type_check(value: Any, acc: _Accept, expected: type | None,
                item_type: type | None) -> tuple[bool, bool, str]:
    """(ok, is_variable, failure code). A value of the answer's own type where the doc says
    otherwise is a *variable* (BFCL writes e.g. ``"docFields"`` for a HashMap argument)."""
    first = acc.first_type
    is_variable = first is not None and first is not expected
    nested_failed = False
    if type(value) is expected:
        if item_type is None or _items_fit(value, acc.values, item_type):
            return True, is_variable, ""
        nested_failed = True
    if first is not None and type(value) is first:
        return (False, True, "type_error_nested") if nested_failed else (True, True, "")
    return False, False, "type_error"


def _items_fit(value: list[Any], answers: list[Any], item_type: type) -> bool:
    # One level deep, as BFCL: every element must have the item type, or the type of that
    # answer's first element. A non-list answer (e.g. "" for optional) accepts anything.
    for answer in answers:
        if type(answer) is not list:
            return True
        first = _first_type(answer)
        if all(type(v) is item_type or (first is not None and type(v) is first)
               for v in value):
            return True
    return False


def _dict_check(p: str, value: dict[str, Any], answers: list[Any],
                std_dicts: list[dict[str, list[Any]] | None]) -> CallVerdict:
    result = fail("value_dict_unclear", f"{p!r}: no acceptable dict")
    for cand, std in zip(answers, std_dicts, strict=True):
        if cand == "":
            continue
        if std is None:
            std = _std_dict(cand) or {}
        ok = True
        for key, v in value.items():
            if key not in cand:
                result, ok = fail("value_dict_key", f"{p!r}: unexpected key {key!r}"), False
                break
            sv = standardize(v) if type(v) is str else v
            if sv not in std.get(key, ()):
                result, ok = fail("value_dict_value",
                                  f"{p!r}[{key!r}]: {_short(v)} not accepted"), False
                break
        # BFCL looks for missing keys even after a failure, and that reason then wins.
        for key, allowed in cand.items():
            if key not in value and "" not in allowed:
                result, ok = fail("value_dict_key", f"{p!r}: missing key {key!r}"), False
                break
        if ok:
            return OK
    return result


def _list_dict_check(p: str, value: list[Any], answers: list[Any]) -> CallVerdict:
    result = fail("value_dict_unclear", f"{p!r}: no acceptable list of dicts")
    for cand in answers:
        if len(value) != len(cand):
            result = fail("value_list_dict_count", f"{p!r}: {len(value)} dicts, "
                                                   f"expected {len(cand)}")
            continue
        ok = True
        for item, expected in zip(value, cand, strict=True):
            if not isinstance(item, dict):
                raise TypeError(f"{p!r}: list element is not a dict")
            result = _dict_check(p, item, [expected], [_std_dict(expected)])
            if not result.valid:
                ok = False
                break
        if ok:
            return OK
    return result


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
