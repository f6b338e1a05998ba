"""SpecTool's seven error patterns of tool-use output, assigned to every failed case.

IAC insufficient API calls · IAV incorrect argument value · IAN incorrect argument name ·
IAT incorrect argument type · RAC repeated (or unneeded) API calls · IFN incorrect function
name · IFE invalid format — and ``other`` when a reason fits none of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from lamstudio.eval._verdict import CallVerdict
from lamstudio.tools import Call

PATTERNS = ("IAC", "IAV", "IAN", "IAT", "RAC", "IFN", "IFE", "other")
PATTERN_NAMES = {
    "IAC": "insufficient API calls", "IAV": "incorrect argument value",
    "IAN": "incorrect argument name", "IAT": "incorrect argument type",
    "RAC": "repeated API calls", "IFN": "incorrect function name", "IFE": "invalid format",
    "other": "other",
}

_BY_CODE = {
    "wrong_func_name": "IFN",
    "missing_required": "IAN", "unexpected_param": "IAN", "missing_optional": "IAN",
    "value_dict_key": "IAN",
    "type_error": "IAT", "type_error_nested": "IAT", "type_error_java": "IAT",
    "type_error_js": "IAT",
    "value_string": "IAV", "value_list": "IAV", "value_dict_value": "IAV",
    "value_dict_unclear": "IAV", "value_list_dict_count": "IAV", "value_other": "IAV",
    "bad_format": "IFE", "unparseable": "IFE",
    "no_call": "IAC", "missing_prediction": "IAC",
    "called_when_irrelevant": "RAC",
    "bad_doc": "other",
}


def classify(verdict: CallVerdict, calls: Sequence[Call], n_expected: int | None = None) -> str:
    """The SpecTool pattern of a failed verdict (sets ``verdict.pattern`` and returns it)."""
    if verdict.valid:
        return ""
    code = verdict.sub_code if verdict.code == "no_match" and verdict.sub_code else verdict.code
    if verdict.code == "wrong_count":
        pattern = _count_pattern(calls, n_expected)
    elif code == "wrong_count":
        pattern = "IAC"
    else:
        pattern = _BY_CODE.get(code, "other")
    verdict.pattern = pattern
    return pattern


def _count_pattern(calls: Sequence[Call], n_expected: int | None) -> str:
    if n_expected is None or len(calls) < n_expected:
        return "IAC"
    # Too many calls: SpecTool's "repeated API calls" (duplicates, or calls not asked for).
    return "RAC"
