"""Validation with reason codes: every problem names the record id, the field path and
what was expected. Consistency rules (tool results answer earlier calls, calls name
offered tools) are checked here rather than assumed by later stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from lamstudio.schema._models import ToolCall, Trajectory

Level = Literal["error", "warning"]

# pydantic error type -> lamstudio reason code
_PYDANTIC_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "literal_error": "invalid_value",
    "too_short": "invalid_value",
    "string_too_short": "invalid_value",
}

_JSON_CODES = {"too_deep", "bad_encoding", "non_finite_number", "number_too_large", "not_json"}


@dataclass(frozen=True)
class Issue:
    level: Level
    code: str
    path: str
    message: str
    record_id: str | None = None

    def __str__(self) -> str:
        rid = f"record {self.record_id!r}: " if self.record_id else ""
        where = f"{self.path}: " if self.path else ""
        return f"{rid}{where}{self.message} [{self.code}]"


@dataclass
class Checked:
    """Result of validating one raw record."""

    record: Trajectory | None
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.errors


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _code_for(err: dict[str, Any]) -> str:
    kind = err["type"]
    loc = err["loc"]
    if kind == "literal_error" and loc and loc[-1] == "role":
        return "invalid_role"
    if kind == "too_short" and loc == ("messages",):
        return "empty_messages"
    if kind == "value_error" and "arguments" in str(err.get("msg", "")):
        return "bad_arguments_json"
    if kind in _JSON_CODES:  # a value no writer can keep (schema._models._writable)
        return kind
    if kind in _PYDANTIC_CODES:
        return _PYDANTIC_CODES[kind]
    if kind.endswith("_type") or kind in ("model_attributes_type", "is_instance_of"):
        return "wrong_type"
    return "invalid_value"


def _describe(err: dict[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"].endswith("_type") and "input" in err:
        got = type(err["input"]).__name__
        return f"{msg} (got {got})"
    return msg


def from_pydantic(exc: ValidationError, record_id: str | None) -> list[Issue]:
    issues = []
    for e in exc.errors(include_url=False):
        ctx = e.get("ctx") or {}
        if e["type"] in _JSON_CODES and "path" in ctx:  # raised with its own field path
            issues.append(Issue("error", e["type"], ctx["path"], ctx["message"], record_id))
        else:
            issues.append(Issue("error", _code_for(e), _path(e["loc"]), _describe(e),
                                record_id))
    return issues


def consistency_issues(t: Trajectory) -> list[Issue]:
    """Rules the type system cannot express."""
    issues: list[Issue] = []
    offered: set[str] | None = None  # built on the first call (many records have none)
    call_ids: set[str] = set()
    for i, msg in enumerate(t.messages):
        if msg.tool_calls:
            if offered is None:
                offered = {tool.function.name for tool in t.tools}
            _check_calls(t, i, msg.tool_calls, offered, call_ids, issues)
        elif msg.role == "tool" and msg.tool_call_id not in call_ids:
            expected = "an id of an earlier tool call" if call_ids else "an earlier tool call"
            issues.append(Issue("error", "orphan_tool_message", f"messages[{i}].tool_call_id",
                                f"tool result {msg.tool_call_id!r} answers no call; "
                                f"expected {expected}", t.id))
    return issues


def consistent(t: Trajectory) -> bool:
    """``not check(t).errors``, without building the messages: the hot path of a reader
    that only needs to know (``consistency_issues`` explains when this says False)."""
    call_ids: set[str | None] = set()
    for msg in t.messages:
        if msg.tool_calls:
            for call in msg.tool_calls:
                if call.id in call_ids:
                    return False
                call_ids.add(call.id or "")
        elif msg.role == "tool" and msg.tool_call_id not in call_ids:
            return False
    return True


def _check_calls(t: Trajectory, i: int, calls: list[ToolCall], offered: set[str],
                 call_ids: set[str], issues: list[Issue]) -> None:
    for k, call in enumerate(calls):
        if call.id in call_ids:
            issues.append(Issue("error", "duplicate_tool_call_id",
                                f"messages[{i}].tool_calls[{k}].id",
                                f"tool call id {call.id!r} is used twice", t.id))
        call_ids.add(call.id or "")
        if call.function.name not in offered:
            # A warning: irrelevance data legitimately calls tools it was not given.
            issues.append(Issue("warning", "undefined_tool",
                                f"messages[{i}].tool_calls[{k}].function.name",
                                f"calls {call.function.name!r}, which is not in tools "
                                f"({sorted(offered) or 'none offered'})", t.id))


def validate_record(raw: Any) -> Checked:
    """Validate one decoded JSON value as a ``Trajectory``."""
    if not isinstance(raw, dict):
        return Checked(None, [Issue("error", "not_object", "",
                                    f"expected a JSON object, got {type(raw).__name__}")])
    rid = raw.get("id") if isinstance(raw.get("id"), str) else None
    try:
        record = Trajectory.model_validate(raw)
    except ValidationError as exc:
        return Checked(None, from_pydantic(exc, rid))
    return Checked(record, consistency_issues(record))


def check(t: Trajectory) -> Checked:
    """Consistency-check a record built in code (already type-valid)."""
    return Checked(t, consistency_issues(t))


class IdRegistry:
    """Ids must be unique within a file; this remembers the ones seen."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def claim(self, record_id: str, where: str) -> Issue | None:
        """``where`` names the row ("file:line"); a second row with the id is an error."""
        first = self._seen.setdefault(record_id, where)
        if first != where:
            return Issue("error", "duplicate_id", "id",
                         f"id {record_id!r} already used at {first}", record_id)
        return None
