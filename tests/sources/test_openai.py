"""OpenAI chat-completions rows: system message, JSON-string arguments, tool results by id."""

import json

import pytest

from lamstudio.schema import Trajectory
from lamstudio.sources import openai

TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}
ROW = {"id": "w-1", "tools": [TOOL], "messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Rome?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_9", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}]},
    {"role": "tool", "tool_call_id": "call_9", "content": "{\"temp\": 19}"},
    {"role": "assistant", "content": "19 °C."}]}


def test_row_becomes_the_exact_record(load_rows):
    records, rejects = load_rows(openai, [ROW])
    assert rejects == []
    assert records == [Trajectory.model_validate({
        "id": "w-1", "system": "Be brief.", "tools": [TOOL],
        "messages": [
            {"role": "user", "content": "Weather in Rome?"},
            {"role": "assistant", "tool_calls": [{"id": "call_9", "function": {
                "name": "get_weather", "arguments": {"city": "Rome"}}}]},
            {"role": "tool", "tool_call_id": "call_9", "content": "{\"temp\": 19}"},
            {"role": "assistant", "content": "19 °C."}]})]


def test_dump_writes_arguments_as_json_strings_like_the_api(load_rows):
    (record,), _ = load_rows(openai, [ROW])
    out = openai.to_row(record)
    assert out["messages"][0] == {"role": "system", "content": "Be brief."}
    call = out["messages"][2]["tool_calls"][0]
    assert call == {"id": "call_9", "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}


def test_response_shaped_and_legacy_messages_are_read(load_rows):
    row = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "2**10"},
                                     {"type": "text", "text": "?"}]},
        {"role": "assistant", "content": None, "refusal": None, "annotations": [],
         "function_call": {"name": "calc", "arguments": "{\"e\": \"2**10\"}"}},
        {"role": "function", "name": "calc", "content": "1024"},
        {"role": "assistant", "content": "1024", "weight": 1}]}
    (record,), rejects = load_rows(openai, [row])
    assert rejects == []
    assert record.id == "openai-rows-000001"  # derived from file and line
    assert record.messages[0].content == "2**10?"
    assert record.messages[1].tool_calls[0].function.arguments == {"e": "2**10"}
    assert (record.messages[2].role, record.messages[2].tool_call_id) == ("tool", "call_1_0")
    assert record.messages[3].weight == 1


@pytest.mark.parametrize(("bad", "code", "field"), [
    ({"messages": None}, "missing_field", "messages"),
    ({"messages": "user: hi"}, "wrong_type", "messages"),
    ({"messages": ["hi"]}, "wrong_type", "messages[0]"),
    ({"messages": [{"content": "hi"}]}, "missing_field", "messages[0].role"),
    ({"messages": [{"role": "bot", "content": "hi"}]}, "invalid_role", "messages[0].role"),
    ({"messages": [{"role": "user", "content": 5}]}, "wrong_type", "messages[0].content"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
     "unsupported_content", "messages[0].content[0]"),
    ({"tools": '[{"type": "function"'}, "bad_tools_json", "tools"),
    ({"messages": [{"role": "assistant", "tool_calls": ["f(1)"]}]}, "bad_function_call",
     "messages[0].tool_calls[0]"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"function": {
        "name": "get_weather", "arguments": "{\"city\": "}}]}]}, "bad_arguments_json",
     "messages[0].tool_calls[0].function.arguments"),
    ({"messages": [{"role": "user", "content": "x"},
                   {"role": "tool", "tool_call_id": "nope", "content": "1"}]},
     "orphan_tool_message", "messages[1].tool_call_id"),
    ({"messages": [{"role": "user", "content": "x", "tool_call": "typo"}]}, "unknown_field",
     "messages[0].tool_call"),
])
def test_bad_rows_are_rejected_with_reason_and_field(reject_of, bad, code, field):
    reject = reject_of(openai, {**ROW, **bad})
    assert (reject.code, reject.field) == (code, field), reject.message


def test_samples_load_without_rejects(samples):
    rejects = []
    records = list(openai.load(samples / "openai.jsonl", on_reject=rejects.append))
    assert rejects == [] and len(records) == len((samples / "openai.jsonl").read_text()
                                                 .splitlines())
    assert json.dumps(openai.to_row(records[0]))  # dumps cleanly
