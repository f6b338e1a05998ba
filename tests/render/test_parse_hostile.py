"""``parse_output`` on hostile model output: every reply gets a specific reason code (the
readers' codes for JSON that holds values no writer can keep), the calls that could be read
are kept, nothing returned is unwritable, and no scan is quadratic."""

from __future__ import annotations

import json
import time

import pytest
from tests.support.hostile import ARGUMENT_STRINGS, REPLY_TEXTS

from lamstudio.io import check_value
from lamstudio.render import ParsedOutput, render_calls
from lamstudio.render._parse import _parse
from lamstudio.schema import FunctionCall

# What each whole reply in the catalogue must give (None: it is plain text, read as such).
REPLY_CODES = {"lone_surrogate": "bad_encoding", "nested_100k": "too_deep",
               "huge_int": "number_too_large", "nan_argument": "non_finite_number",
               "open_braces_2mb": None, "role_forgery": None}
# An arguments value, or arguments string, inside a call: its reason code.
ARGUMENT_CODES = {"huge_int": "number_too_large", "nested_500": "too_deep",
                  "nan": "non_finite_number", "lone_surrogate": "bad_encoding",
                  "not_json": "invalid_json", "not_object": "bad_call_shape"}
GOOD = FunctionCall(name="get_weather", arguments={"city": "Paris"})
BOUND_S = 10.0  # generous: each of these takes well under a second here


def writable(out: ParsedOutput) -> None:
    check_value([out.content, out.reasoning, out.error,
                 [{"name": c.name, "arguments": c.arguments} for c in out.calls]])
    json.dumps(out.to_message(), allow_nan=False).encode("utf-8")


def test_the_catalogue_covers_every_reply():
    assert set(REPLY_CODES) == set(REPLY_TEXTS) and set(ARGUMENT_CODES) == set(ARGUMENT_STRINGS)


@pytest.mark.parametrize("name", sorted(REPLY_TEXTS))
def test_hostile_replies_get_their_reason_and_nothing_unwritable(name):
    start = time.perf_counter()
    out = _parse(REPLY_TEXTS[name])  # the inner function: no safety net hides a crash
    assert time.perf_counter() - start < BOUND_S
    assert out.error_code == REPLY_CODES[name], (out.error_code, (out.error or "")[:200])
    assert out.calls == []
    writable(out)


def _formats(call_json: str) -> dict[str, str]:
    """One good call then ``call_json``, in every call format the parser reads."""
    good = json.dumps({"name": GOOD.name, "arguments": GOOD.arguments})
    return {
        "marker": f"[TOOL_CALLS][{good}, {call_json}]",
        "fence": f"Checking.\n```json\n[{good}, {call_json}]\n```",
        "tags": f"<tool_call>{good}</tool_call><tool_call>{call_json}</tool_call>",
        "mistral_args": f"[TOOL_CALLS]get_weather[ARGS]{json.dumps(GOOD.arguments)}"
                        f"[TOOL_CALLS]f[ARGS]{_args_of(call_json)}",
    }


def _args_of(call_json: str) -> str:
    # The raw arguments text of '{"name": "f", "arguments": X}' (X may not be JSON).
    return call_json[len('{"name": "f", "arguments": '):-1]


# [ARGS] is followed by the arguments themselves, never by a JSON string of them.
_CASES = [(fmt, name, as_string) for fmt in ("marker", "fence", "tags", "mistral_args")
          for name in sorted(ARGUMENT_STRINGS) for as_string in (False, True)
          if not (as_string and fmt == "mistral_args")]


@pytest.mark.parametrize("fmt, name, as_string", _CASES)
def test_hostile_arguments_in_every_format_keep_the_good_call(fmt, name, as_string):
    raw = ARGUMENT_STRINGS[name]
    value = json.dumps(raw) if as_string else raw
    text = _formats('{"name": "f", "arguments": ' + value + "}")[fmt]
    start = time.perf_counter()
    out = _parse(text)
    assert time.perf_counter() - start < BOUND_S
    assert out.error_code == ARGUMENT_CODES[name], (out.error_code, out.error)
    if name == "not_json" and not as_string and fmt in ("marker", "fence"):
        # The list itself is not JSON (as a cut-off list is not): no call is taken from it.
        assert out.calls == []
    else:
        assert out.calls[:1] == [GOOD]  # the good call next to the bad one is kept
    writable(out)


@pytest.mark.parametrize("number, code", [
    ("1e999", "non_finite_number"), ("-1e999", "non_finite_number"),
    ("Infinity", "non_finite_number"), ("-Infinity", "non_finite_number"),
    ("NaN", "non_finite_number"), ("7" * 4301, "number_too_large"),
])
def test_numbers_python_would_turn_into_inf_nan_or_refuse(number, code):
    out = _parse('[TOOL_CALLS][{"name": "f", "arguments": {"x": ' + number + "}}]")
    assert (out.error_code, out.calls) == (code, [])
    out = _parse('[TOOL_CALLS][{"name": "f", "arguments": {"x": 1e300, "n": ' + "7" * 4300
                 + "}}]")
    assert out.ok and out.calls[0].arguments["n"] == int("7" * 4300)  # the limit is kept


def test_a_cut_off_list_after_a_bad_value_gives_no_calls():
    out = _parse('[TOOL_CALLS][{"name": "f", "arguments": {}}, {"name": "g", "arguments": '
                 '{"x": NaN}}, {"name": "h", "argu')
    assert out.error_code == "non_finite_number" and out.calls == []


def test_a_lone_surrogate_in_text_is_replaced_and_said():
    out = _parse('Here \ud800 you go[TOOL_CALLS][{"name": "f", "arguments": {}}]')
    assert out.error_code == "bad_encoding" and out.content == "Here \ufffd you go"
    assert out.calls == [FunctionCall(name="f", arguments={})]  # the call is still read
    out = _parse('[TOOL_CALLS][{"name": "f\\udc00", "arguments": {}}]')
    assert out.error_code == "bad_encoding" and out.calls == []


# Shapes that made the old scans quadratic (each step copied the rest of the text): ~3 MB,
# which took minutes; now well under a second.
LONG = {
    "think_blocks": "<think></think>" * 200_000 + "answer",
    "terminators": "answer" + "<|im_end|>" * 300_000,
    "args_calls": "[TOOL_CALLS]" + "f[ARGS]{}[TOOL_CALLS]" * 100_000 + "f[ARGS]{}",
    "open_brackets": "[" * 3_000_000,
    "open_think": "<think>" * 400_000,
    "open_tags": "<tool_call>" * 300_000,
}


@pytest.mark.parametrize("name", sorted(LONG))
def test_megabytes_of_structure_parse_in_linear_time(name):
    start = time.perf_counter()
    out = _parse(LONG[name])
    assert time.perf_counter() - start < BOUND_S
    assert out.error_code != "parser_error"
    if name == "args_calls":
        assert len(out.calls) == 100_001 and out.ok
    if name in ("think_blocks", "terminators"):
        assert out.content == "answer" and out.ok


def test_good_output_still_round_trips():
    calls = [GOOD, FunctionCall(name="f", arguments={"n": 10**30, "x": 1.5, "s": "é\n"})]
    for style in ("marker", "fence"):
        out = _parse(render_calls(calls, "Sure.", style=style))
        assert out.ok and out.calls == calls and out.content == "Sure."
