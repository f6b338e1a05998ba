"""What a check returns: a verdict with a reason code, never a bare bool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Reason codes of the single-turn checker, with the BFCL ``error_type`` each corresponds to
# (the agreement test compares both the verdict and this mapping).
BFCL_ERROR_TYPE: dict[str, str] = {
    "ok": "",
    "wrong_count": "wrong_count",
    "wrong_func_name": "simple_function_checker:wrong_func_name",
    "missing_required": "simple_function_checker:missing_required",
    "unexpected_param": "simple_function_checker:unexpected_param",
    "missing_optional": "simple_function_checker:missing_optional",
    "type_error": "type_error:simple",
    "type_error_nested": "type_error:nested",
    "type_error_java": "type_error:java",
    "type_error_js": "type_error:js",
    "value_string": "value_error:string",
    "value_list": "value_error:list/tuple",
    "value_dict_key": "value_error:dict_key",
    "value_dict_value": "value_error:dict_value",
    "value_dict_unclear": "dict_checker:unclear",
    "value_list_dict_count": "value_error:list_dict_count",
    "value_other": "value_error:others",
    "no_match": "parallel_function_checker_no_order:cannot_find_match",
    "called_when_irrelevant": "irrelevance_error:decoder_success",
    "no_call": "relevance_error:decoder_failed",
    "bad_format": "ast_decoder:decoder_wrong_output_format",
    "unparseable": "ast_decoder:decoder_failed",
    "bad_doc": "checker_crash",
    "missing_prediction": "missing_prediction",
}


@dataclass(slots=True)
class CallVerdict:
    """``valid`` plus why not: ``code`` (see ``BFCL_ERROR_TYPE``), a human ``detail`` and,
    for failures, the SpecTool error ``pattern`` (IAC, IAV, IAN, IAT, RAC, IFN, IFE, other)."""

    valid: bool
    code: str = "ok"
    detail: str = ""
    pattern: str | None = None
    # For parallel matching: the reason the closest candidate call was rejected.
    sub_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"valid": self.valid, "code": self.code}
        if not self.valid:
            out.update(detail=self.detail, pattern=self.pattern)
            if self.sub_code:
                out["sub_code"] = self.sub_code
        return out


OK = CallVerdict(True)


def fail(code: str, detail: str, sub_code: str | None = None) -> CallVerdict:
    return CallVerdict(False, code, detail, None, sub_code)
