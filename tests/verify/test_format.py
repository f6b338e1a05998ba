"""The format check: one reason code per failure, SpecTool's seven where they fit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from tests.verify.conftest import WEATHER, call, record, spec, traj

from lamstudio.schema import Trajectory
from lamstudio.verify import FormatChecker, FormatOptions, Verdict, check_format
from lamstudio.verify._format import _fast_validator


def codes(v: Verdict) -> list[str]:
    return [i["code"] for i in v.details.get("issues", [])]


def test_a_good_record_passes_with_a_verdict_not_a_bool():
    v = check_format(traj())
    assert isinstance(v, Verdict) and v.passed and v.code is None and v.stage == "format"
    assert v.details["calls"] == 1


@pytest.mark.parametrize("args, code, where", [
    ({"city": "Paris", "zip": "75001"}, "IAN", "arguments.zip"),
    ({"city": 75}, "IAT", "arguments.city"),
    ({"city": "Paris", "days": "3"}, "IAT", "arguments.days"),
    ({"city": "Paris", "unit": "kelvin"}, "IAV", "arguments.unit"),
    ({"city": "Paris", "days": 30}, "IAV", "arguments.days"),
    ({"city": ""}, "IAV", "arguments.city"),
    ({"city": "Paris", "tags": ["ok", "Not-OK"]}, "IAV", "arguments.tags[1]"),
    ({"city": "Paris", "where": {}}, "IAV", "arguments.where"),
    ({"city": "Paris", "where": {"lat": "north"}}, "IAT", "arguments.where.lat"),
    ({"unit": "celsius"}, "IAV", "arguments"),
])
def test_argument_errors_get_spectool_codes(args, code, where):
    v = check_format(traj(calls=[call("get_weather", args)]))
    assert not v.passed and v.code == code
    assert v.details["issues"][0]["path"].endswith(where)


def test_missing_required_argument_is_named():
    v = check_format(traj(calls=[call("get_weather", {"unit": "celsius"})]))
    assert v.code == "IAV" and "missing required argument" in v.message and "city" in v.message


def test_unknown_function_is_ifn():
    v = check_format(traj(calls=[call("get_wether", {"city": "Paris"})]))
    assert v.code == "IFN" and "get_wether" in v.message and "get_weather" in v.message


def test_open_schemas_accept_undeclared_arguments():
    open_tool = spec("f", {"a": {"type": "string"}}, additionalProperties=True)
    v = check_format(traj(tools=[open_tool], calls=[call("f", {"a": "x", "b": 1})]))
    assert v.passed
    closed = spec("f", {"a": {"type": "string"}}, additionalProperties=False)
    v = check_format(traj(tools=[closed], calls=[call("f", {"a": "x", "b": 1})]))
    assert v.code == "IAN" and codes(v) == ["IAN"]  # reported once, not twice


def test_repeated_identical_calls_are_rac_unless_retrying_an_error():
    same = [call("get_weather", {"city": "Paris"}), call("get_weather", {"city": "Paris"})]
    assert check_format(traj(calls=same)).code == "RAC"
    two = [call("get_weather", {"city": "Paris"}), call("get_weather", {"city": "Oslo"})]
    assert check_format(traj(calls=two)).passed
    raw = record()
    raw["messages"][2:2] = [{"role": "tool", "tool_call_id": "c0", "content": '{"error": "busy"}'},
                            {"role": "assistant", "tool_calls": [
                                call("get_weather", {"city": "Paris"}, "c9")]}]
    assert check_format(Trajectory.model_validate(raw)).passed, "a retry after an error is fine"


def test_call_left_in_assistant_text_is_ife():
    raw = record(calls=[], final='{"name": "get_weather", "arguments": {"city": "Paris"}}')
    assert check_format(Trajectory.model_validate(raw)).code == "IFE"
    raw = record(calls=[], final="<tool_call>get_weather(Paris)</tool_call>")
    assert check_format(Trajectory.model_validate(raw)).code == "IFE"


def test_invalid_tool_schema_and_duplicate_tools():
    bad = spec("f", {"a": {"type": "strin"}})
    v = check_format(traj(tools=[WEATHER, bad]))
    assert v.code == "invalid_tool_schema" and "f" in v.message
    not_object = {"type": "function", "function": {"name": "g", "parameters": {"type": "array"}}}
    assert check_format(traj(tools=[WEATHER, not_object])).code == "invalid_tool_schema"
    other = spec("get_weather", {"town": {"type": "string"}})
    assert check_format(traj(tools=[WEATHER, other])).code == "duplicate_tool"


def test_python_style_types_are_mapped_unless_strict():
    bfcl = spec("calc", {"x": {"type": "float"}, "opts": {"type": "dict", "properties": {
        "mode": {"type": "str"}}}, "items": {"type": "tuple"}, "v": {"type": "any"}}, ["x"])
    bfcl["function"]["parameters"]["type"] = "dict"
    t = traj(tools=[bfcl], calls=[call("calc", {"x": 1.5, "opts": {"mode": "a"}, "v": [1]})])
    v = FormatChecker().check(t)
    assert v.passed and v.details["normalized_types"] is True
    bad = traj(tools=[bfcl], calls=[call("calc", {"x": "1.5"})])
    assert FormatChecker().check(bad).code == "IAT"
    strict = FormatChecker(FormatOptions(lenient_types=False)).check(t)
    assert strict.code == "invalid_tool_schema"


@pytest.mark.parametrize("category, calls, code", [
    ("irrelevance", [], None),
    ("irrelevance", [call("get_weather", {"city": "Paris"})], "irrelevance_call"),
    ("live_irrelevance", [call("get_weather", {"city": "Paris"})], "irrelevance_call"),
    ("simple", [], "IAC"),
    ("live_relevance", [], "IAC"),
    ("parallel", [call("get_weather", {"city": "Paris"})], "IAC"),
    ("parallel", [call("get_weather", {"city": "Paris"}), call("get_weather", {"city": "Oslo"})],
     None),
    ("chitchat", [], None),
])
def test_calls_expected_by_category(category, calls, code):
    v = check_format(traj(calls=calls, category=category))
    assert v.code == code and v.passed == (code is None)


def test_require_calls_option_and_missing_assistant():
    no_call = traj(calls=[])
    assert check_format(no_call).passed
    assert check_format(no_call, FormatOptions(require_calls=True)).code == "IAC"
    only_user = Trajectory.model_validate(record(calls=[], final=None))
    assert check_format(only_user).code == "no_assistant_turn"
    prompt = Trajectory.model_validate(record(calls=[], final=None, category="irrelevance"))
    assert check_format(prompt).passed, "an irrelevance prompt's right answer is no call"


def test_schema_cache_compiles_each_distinct_schema_once():
    checker = FormatChecker()
    for i in range(50):
        assert checker.check(traj(rid=str(i))).passed
    assert len(checker._specs) == 1


def test_fast_path_is_used_for_typical_tool_schemas():
    assert _fast_validator(WEATHER["function"]["parameters"]) is not None
    assert _fast_validator({"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}},
                            "$defs": {"x": {"type": "string"}}}) is None


# The fast path (fastjsonschema) must agree with jsonschema, the authority.
_leaf = st.sampled_from([
    {"type": "string"}, {"type": "integer", "minimum": 0}, {"type": "number", "maximum": 10},
    {"type": "boolean"}, {"type": "string", "enum": ["a", "b"]}, {"type": "null"},
    {"type": "array", "items": {"type": "integer"}, "minItems": 1},
    {"type": "string", "pattern": "^[0-9]+$", "maxLength": 3}, {"type": ["string", "null"]},
    {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 2}]},
    {"type": "integer", "enum": [0, 1]}, {"const": 1}, {"type": "integer", "exclusiveMaximum": 5},
])
_value = st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats(-20, 20, allow_nan=False)
    | st.sampled_from(["a", "b", "12", "1234", "", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("pq"), inner,
                                                                max_size=2),
    max_leaves=4)


@settings(max_examples=150, deadline=None)
@given(props=st.dictionaries(st.sampled_from(["p", "q", "r"]), _leaf, min_size=1),
       required=st.lists(st.sampled_from(["p", "q", "r"]), unique=True),
       closed=st.booleans(),
       args=st.dictionaries(st.sampled_from(["p", "q", "r", "s"]), _value))
def test_fast_path_agrees_with_jsonschema(props, required, closed, args):
    schema = {"type": "object", "properties": props, "required": required}
    if closed:
        schema["additionalProperties"] = False
    fast = _fast_validator(schema)
    if fast is None:  # schemas fastjsonschema cannot compile: jsonschema alone decides
        return
    try:
        fast(args)
        fast_ok = True
    except Exception:  # noqa: BLE001
        fast_ok = False
    assert fast_ok == Draft202012Validator(schema).is_valid(args)
