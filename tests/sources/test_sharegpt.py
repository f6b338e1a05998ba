"""ShareGPT rows: speakers, JSON-string tools and calls, parallel calls, results linked by order."""

import json

import pytest

from lamstudio.schema import Trajectory
from lamstudio.sources import sharegpt

TOOLS = [{"name": "get_order", "description": "Order status.", "parameters": {
    "type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}]


def fc(*calls):
    value = [{"name": "get_order", "arguments": {"order_id": c}} for c in calls]
    return {"from": "function_call", "value": json.dumps(value[0] if len(value) == 1 else value)}


ROW = {"id": "mt-1", "system": "Retail policy.", "tools": json.dumps(TOOLS), "conversations": [
    {"from": "human", "value": "Status of #1 and #2?"},
    {"from": "gpt", "value": "Checking both."},
    fc("#1", "#2"),
    {"from": "observation", "value": "pending"},
    {"from": "observation", "value": "delivered"},
    {"from": "gpt", "value": "#1 is pending, #2 delivered."},
    {"from": "human", "value": "And #3?"},
    fc("#3"),
    {"from": "observation", "value": "cancelled"},
    {"from": "gpt", "value": "#3 was cancelled."}]}


def test_row_becomes_the_exact_record(load_rows):
    records, rejects = load_rows(sharegpt, [ROW])
    assert rejects == []

    def call(cid, order):
        return {"id": cid, "function": {"name": "get_order", "arguments": {"order_id": order}}}

    def result(cid, text):
        return {"role": "tool", "tool_call_id": cid, "name": "get_order", "content": text}

    assert records == [Trajectory.model_validate({
        "id": "mt-1", "system": "Retail policy.",
        "tools": [{"type": "function", "function": TOOLS[0]}],
        "messages": [
            {"role": "user", "content": "Status of #1 and #2?"},
            {"role": "assistant", "content": "Checking both.",
             "tool_calls": [call("call_1_0", "#1"), call("call_1_1", "#2")]},
            result("call_1_0", "pending"), result("call_1_1", "delivered"),
            {"role": "assistant", "content": "#1 is pending, #2 delivered."},
            {"role": "user", "content": "And #3?"},
            {"role": "assistant", "tool_calls": [call("call_6_0", "#3")]},
            result("call_6_0", "cancelled"),
            {"role": "assistant", "content": "#3 was cancelled."}]})]


def test_dump_writes_llama_factory_fields(load_rows):
    (record,), _ = load_rows(sharegpt, [ROW])
    out = sharegpt.to_row(record)
    assert isinstance(out["tools"], str) and json.loads(out["tools"]) == TOOLS
    assert out["system"] == "Retail policy."
    assert [t["from"] for t in out["conversations"]] == [t["from"] for t in ROW["conversations"]]
    assert json.loads(out["conversations"][2]["value"]) == json.loads(ROW["conversations"][2]
                                                                      ["value"])


def test_leading_system_turn_and_aliases_and_empty_tools(load_rows):
    row = {"tools": "", "system": "", "conversations": [
        {"from": "system", "value": "Be nice."}, {"from": "user", "value": "hi"},
        {"from": "assistant", "value": "hello"}]}
    (record,), rejects = load_rows(sharegpt, [row])
    assert rejects == [] and record.tools == [] and record.system == "Be nice."
    assert [m.role for m in record.messages] == ["user", "assistant"]


def test_function_call_value_may_be_an_object_and_arguments_a_string(load_rows):
    row = {"conversations": [{"from": "human", "value": "x"}, {"from": "function_call", "value": {
        "name": "get_order", "arguments": "{\"order_id\": \"#9\"}"}}]}
    (record,), rejects = load_rows(sharegpt, [row])
    assert rejects == [] and record.calls()[0].arguments == {"order_id": "#9"}


@pytest.mark.parametrize(("bad", "code", "field"), [
    ({"conversations": None}, "missing_field", "conversations"),
    ({"conversations": {"from": "human"}}, "wrong_type", "conversations"),
    ({"conversations": ["hi"]}, "wrong_type", "conversations[0]"),
    ({"conversations": [{"value": "hi"}]}, "missing_field", "conversations[0].from"),
    ({"conversations": [{"from": "bot", "value": "hi"}]}, "unknown_speaker",
     "conversations[0].from"),
    ({"conversations": [{"from": "human"}]}, "missing_field", "conversations[0].value"),
    ({"conversations": [{"from": "human", "value": 3}]}, "wrong_type",
     "conversations[0].value"),
    ({"conversations": [{"from": "function_call", "value": "{\"name\": "}]},
     "bad_function_call", "conversations[0].value"),
    ({"conversations": [{"from": "function_call", "value": "[{\"arguments\": {}}]"}]},
     "bad_function_call", "conversations[0].value[0].name"),
    ({"conversations": [{"from": "function_call", "value": "[]"}]}, "bad_function_call",
     "conversations[0].value"),
    ({"tools": "[{\"name\": "}, "bad_tools_json", "tools"),
    ({"tools": "[{\"description\": \"no name\"}]"}, "missing_field", "tools[0].name"),
    ({"system": ["x"]}, "wrong_type", "system"),
    ({"conversations": [{"from": "human", "value": "x"}, {"from": "observation", "value": "r"}]},
     "orphan_tool_message", "messages[1].tool_call_id"),
])
def test_bad_rows_are_rejected_with_reason_and_field(reject_of, bad, code, field):
    reject = reject_of(sharegpt, {**ROW, **bad})
    assert (reject.code, reject.field) == (code, field), reject.message
