"""The answer of every check: a ``Verdict`` with a reason code, never a bare bool.

Reason codes of the format stage follow SpecTool's seven error patterns where they fit:

=====  =========================================================================
IFN    incorrect function name: a call names a tool the record does not offer
IAN    incorrect argument name: an argument the tool's schema does not declare
IAT    incorrect argument type: a value of the wrong JSON type
IAV    incorrect argument value: enum / range / pattern / length violations, and
       missing required arguments
IFE    invalid format: arguments or assistant output that do not parse, a tool call
       left in the assistant's text instead of ``tool_calls``
RAC    repeated API calls: the identical call (name + arguments) issued twice
IAC    insufficient API calls: no call where the record's category requires one
=====  =========================================================================

Codes of our own (lower case) cover what SpecTool does not name: ``invalid_tool_schema``,
``duplicate_tool``, ``no_assistant_turn``, ``irrelevance_call`` and the other stages' codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SPECTOOL_CODES = {
    "IFN": "incorrect function name",
    "IAN": "incorrect argument name",
    "IAT": "incorrect argument type",
    "IAV": "incorrect argument value",
    "IFE": "invalid format",
    "RAC": "repeated API calls",
    "IAC": "insufficient API calls",
}


@dataclass(frozen=True)
class Verdict:
    """One stage's answer for one record. ``skipped`` verdicts pass (nothing was checked)
    and say why in ``code`` (e.g. ``no_judge``, ``no_executable_tool``)."""

    passed: bool
    code: str | None
    message: str
    stage: str
    details: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False

    @classmethod
    def ok(cls, stage: str, message: str = "ok", **details: Any) -> Verdict:
        return cls(True, None, message, stage, details)

    @classmethod
    def fail(cls, stage: str, code: str, message: str, **details: Any) -> Verdict:
        return cls(False, code, message, stage, details)

    @classmethod
    def skip(cls, stage: str, code: str, message: str, **details: Any) -> Verdict:
        return cls(True, code, message, stage, details, skipped=True)

    def to_dict(self) -> dict[str, Any]:
        """Compact form stored in ``meta.verification``: empty fields are left out."""
        out: dict[str, Any] = {"passed": self.passed}
        if self.skipped:
            out["skipped"] = True
        if self.code:
            out["code"] = self.code
        if self.message and self.message != "ok":
            out["message"] = self.message
        if self.details:
            out["details"] = self.details
        return out

    @classmethod
    def from_dict(cls, stage: str, data: dict[str, Any]) -> Verdict:
        return cls(bool(data["passed"]), data.get("code"), data.get("message", "ok"), stage,
                   dict(data.get("details") or {}), bool(data.get("skipped", False)))
