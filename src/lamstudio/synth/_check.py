"""Checks every generated record passes before it is kept: the record validates as a
``Trajectory``; ``lamstudio.verify``'s format stage passes it (APIGen stage 1: schemas,
calls fit them, category rules); and, stricter than that stage, argument strings satisfy
their schema's ``format`` (e.g. ``email``) and the call count fits the category exactly."""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from lamstudio.schema import Issue, validate_record

_FORMATS = FormatChecker()


@cache
def _format_stage() -> Any:
    from lamstudio.verify import FormatChecker as StageChecker

    return StageChecker()  # caches compiled tool schemas across records


def argument_issues(tool: dict[str, Any], arguments: dict[str, Any], path: str) -> list[Issue]:
    """Arguments checked against the tool's ``parameters`` schema."""
    validator = Draft202012Validator(tool.get("parameters") or {}, format_checker=_FORMATS)
    return [Issue("error", "invalid_arguments", path + "".join(f".{p}" for p in err.path),
                  err.message) for err in validator.iter_errors(arguments)]


def record_issues(raw: dict[str, Any]) -> list[Issue]:
    """Every error of one generated record (empty when it may be kept)."""
    checked = validate_record(raw)
    issues = list(checked.errors)
    if checked.record is None:
        return issues
    record = checked.record
    verdict = _format_stage().check(record)
    if not verdict.passed:
        issues.append(Issue("error", verdict.code or "format", "", verdict.message, record.id))
    tools = {t.function.name: t.function.model_dump() for t in record.tools}
    category = record.meta.get("category")
    for i, msg in enumerate(record.messages):
        for k, call in enumerate(msg.tool_calls or []):
            path = f"messages[{i}].tool_calls[{k}].function"
            if call.function.name not in tools:
                issues.append(Issue("error", "undefined_tool", f"{path}.name",
                                    f"{call.function.name!r} is not offered", record.id))
                continue
            issues += argument_issues(tools[call.function.name], call.function.arguments,
                                      f"{path}.arguments")
    n_calls = len(record.calls())
    expected = {"irrelevance": n_calls == 0, "simple": n_calls == 1, "multiple": n_calls == 1,
                "parallel": n_calls >= 2, "parallel_multiple": n_calls >= 2}
    if not expected.get(category, False):
        issues.append(Issue("error", "category_mismatch", "meta.category",
                            f"category {category!r} with {n_calls} calls", record.id))
    return issues
