"""Decoding BFCL-style outputs and prediction files on hostile input: a call whose
arguments cannot be kept is an unreadable (or invalid-format) call with the reason, never
a crash and never a value the result files cannot hold."""

from __future__ import annotations

import json

import pytest
from tests.support.hostile import ARGUMENT_STRINGS, REPLY_TEXTS, deep_object

from lamstudio.eval._decode import calls_from_json, decode_output
from lamstudio.io import check_value

# Each arguments string, given in a prediction file's calls: what the call keeps.
READABLE = {"not_object": [1, 2]}  # valid JSON, the wrong type: the checker's IFE


@pytest.mark.parametrize("name", sorted(ARGUMENT_STRINGS))
def test_argument_strings_in_prediction_calls(name):
    raw = ARGUMENT_STRINGS[name]
    calls, error = calls_from_json([{"name": "f", "arguments": raw}])
    assert error is None and len(calls) == 1
    # Unreadable arguments stay the (cleaned) string: scored as an invalid format.
    assert calls[0].arguments == READABLE.get(name, raw)
    check_value([c.to_dict() for c in calls])


@pytest.mark.parametrize("value, code", [
    ({"x": float("nan")}, "non_finite_number"), ({"x": float("inf")}, "non_finite_number"),
    ({"n": 7 ** 6000}, "number_too_large"), (deep_object(300), "too_deep"),
    ({"s": "bad \ud800"}, "bad_encoding"),
])
def test_argument_values_no_writer_keeps_are_refused_with_their_code(value, code):
    calls, error = calls_from_json([{"name": "f", "arguments": value}])
    assert calls is None and error.startswith(code)
    json.dumps(error).encode("utf-8")
    calls, error = calls_from_json([{"name": 7 ** 6000}])  # repr would fail: still a reason
    assert calls is None and "without a name" in error


@pytest.mark.parametrize("name", sorted(REPLY_TEXTS))
def test_hostile_replies_decode_to_calls_or_a_reason(name):
    calls, error = decode_output(REPLY_TEXTS[name])
    assert (calls is None) != (error is None)
    check_value([[c.to_dict() for c in calls or []], error])


@pytest.mark.parametrize("text, code", [
    ("[f(x=1e999)]", "non_finite_number"),
    ('[TOOL_CALLS][{"name": "f", "arguments": {"x": 1e999}}]', "non_finite_number"),
    ('<tool_call>{"name": "f", "arguments": "{\\"n\\": ' + "7" * 5000 + '}"}</tool_call>',
     "number_too_large"),
])
def test_python_and_json_calls_with_unkeepable_values_are_unreadable(text, code):
    calls, error = decode_output(text)
    assert calls is None and error.startswith(code), error
