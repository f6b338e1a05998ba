"""The execution check against the real tool sandbox (separate worker processes)."""

from __future__ import annotations

import json

import pytest
from tests.verify.conftest import FIXTURE_TOOLS, call, record, spec

from lamstudio.schema import Trajectory
from lamstudio.tools import Sandbox
from lamstudio.verify import ExecutionChecker, ExecutionOptions, result_matches, values_match

NUM = {"type": "number"}
STR = {"type": "string"}
TOOLS = [spec("add", {"a": NUM, "b": NUM}, ["a", "b"]), spec("shout", {"text": STR}),
         spec("explode", {"reason": STR}), spec("refuse", {"item": STR}),
         spec("nap", {"seconds": NUM}), spec("teleport", {"to": STR})]


@pytest.fixture(scope="module")
def box():
    with Sandbox([FIXTURE_TOOLS], workers=2, timeout_s=1.0) as sandbox:
        yield sandbox


def run(box, *raws, **opts):
    checker = ExecutionChecker(box, ExecutionOptions(**opts))
    return checker.check_many([Trajectory.model_validate(r) for r in raws])


def test_results_are_inserted_after_the_calling_turn_in_call_order(box):
    parallel = [call("add", {"a": 1, "b": 2}), call("shout", {"text": "hi"})]
    [(v, t)] = run(box, record("add and shout", parallel, TOOLS))
    assert v.passed and v.details == {"calls": 2, "compared": 0, "inserted": 2}
    roles = [m.role for m in t.messages]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    assert json.loads(t.messages[2].content)["sum"] == 3
    assert t.messages[2].tool_call_id == "c0" and t.messages[3].content == '"HI"'


def test_recorded_results_are_compared_tolerantly(box):
    ok = record("x", [call("add", {"a": 0.1, "b": 0.2})], TOOLS,
                results=['{ "inputs": [0.1, 0.2],\n "sum": 0.30000000001 }'])
    [(v, t)] = run(box, ok)
    assert v.passed and v.details["compared"] == 1 and v.details["inserted"] == 0
    assert len(t.messages) == 4, "nothing inserted when the record has the result"
    wrong = record("x", [call("add", {"a": 1, "b": 2})], TOOLS,
                   results=['{"sum": 4, "inputs": [1, 2]}'])
    [(v, _)] = run(box, wrong)
    assert v.code == "result_mismatch" and "sum" in v.message
    [(v, _)] = run(box, wrong, compare_results=False)
    assert v.passed


def test_failures_reject_with_the_sandbox_code(box):
    [(raises, _), (payload, _), (slow, _), (bad_args, _)] = run(
        box,
        record("x", [call("explode", {"reason": "boom"})], TOOLS),
        record("x", [call("refuse", {"item": "x"})], TOOLS),
        record("x", [call("nap", {"seconds": 5})], TOOLS),
        record("x", [call("add", {"a": 1})], TOOLS))
    assert raises.code == "tool_error" and "boom" in raises.message
    assert payload.code == "error_payload"
    assert slow.code == "timeout"
    assert bad_args.code == "bad_arguments"


def test_unexecutable_tools_reject_or_skip(box):
    rec = record("x", [call("teleport", {"to": "Mars"})], TOOLS)
    [(v, _)] = run(box, rec)
    assert not v.passed and v.code == "no_executable_tool" and v.details["missing"] == ["teleport"]
    [(v, _)] = run(box, rec, skip_unexecutable=True)
    assert v.passed and v.skipped and v.code == "no_executable_tool"


def test_a_tool_that_only_shares_the_name_is_not_executed(box):
    other_add = spec("add", {"x": NUM, "y": NUM}, ["x", "y"])
    [(v, _)] = run(box, record("x", [call("add", {"x": 1, "y": 2})], [other_add]))
    assert v.code == "no_executable_tool" and v.details["missing"] == ["add"]


def test_records_without_calls_pass(box):
    [(v, t)] = run(box, record("hello", [], TOOLS))
    assert v.passed and v.details["calls"] == 0


def test_match_rules():
    assert values_match({"a": [1, 2.0], "b": " x y"}, {"b": "x y", "a": [1.0000000001, 2]})
    assert not values_match({"a": True}, {"a": 1})
    assert not values_match([1, 2], [2, 1])
    assert result_matches("  HELLO world\n", "HELLO world")


def test_a_recorded_result_nested_100k_deep_is_compared_as_text_not_a_crash():
    assert not result_matches("[" * 100_000, {"a": 1})


def test_integers_and_strings_compare_exactly_only_floats_get_a_tolerance():
    assert not result_matches("2000001", 2000000)
    assert not result_matches('{"n": 2000001}', {"n": 2000000})
    assert not result_matches(str(2**70 + 1), 2**70)
    assert not values_match("x  y", "x y")
    assert result_matches("2000000.000001", 2000000.0) and result_matches("2.0", 2)
    assert not result_matches("2000002.5", 2000000.0)
    assert result_matches('"HI"', "HI") and not result_matches("HI!", "HI")
