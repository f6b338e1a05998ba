"""The record: shape, validation messages with id + field path + expectation, consistency."""

import json

import pytest

from lamstudio.schema import (
    Trajectory,
    check,
    consistent,
    from_arrow_row,
    json_schema,
    to_arrow_row,
    validate_record,
)

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather now",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


def record(**over):
    base = {"id": "r1", "source": "test", "tools": [WEATHER], "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "c0", "type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "tool_call_id": "c0", "name": "get_weather", "content": "{\"t\": 11}"},
        {"role": "assistant", "content": "It is 11 °C."}]}
    base.update(over)
    return base


def codes(raw):
    return [i.code for i in validate_record(raw).errors]


def test_design_md_example_validates():
    checked = validate_record(record())
    assert checked.ok and not checked.warnings
    t = checked.record
    assert t.calls()[0].arguments == {"city": "Paris"}
    assert t.tool_names() == ["get_weather"]


def test_arguments_json_string_is_parsed_to_a_dict():
    raw = record()
    raw["messages"][1]["tool_calls"][0]["function"]["arguments"] = '{"city": "Paris"}'
    assert validate_record(raw).record.calls()[0].arguments == {"city": "Paris"}


def test_broken_arguments_json_names_id_path_and_expectation():
    raw = record()
    raw["messages"][1]["tool_calls"][0]["function"]["arguments"] = '{"city": '
    [issue] = validate_record(raw).errors
    assert issue.code == "bad_arguments_json"
    assert issue.record_id == "r1"
    assert issue.path == "messages[1].tool_calls[0].function.arguments"
    assert "not valid JSON" in str(issue)


@pytest.mark.parametrize("field,value,code,path", [
    ("id", 7, "wrong_type", "id"),
    ("id", "", "invalid_value", "id"),
    ("source", ["x"], "wrong_type", "source"),
    ("system", {"a": 1}, "wrong_type", "system"),
    ("tools", "get_weather", "wrong_type", "tools"),
    ("tools", [{"type": "function"}], "missing_field", "tools[0].function"),
    ("tools", [{"type": "function", "function": {"name": 3}}], "wrong_type",
     "tools[0].function.name"),
    ("messages", "hello", "wrong_type", "messages"),
    ("messages", [], "empty_messages", "messages"),
    ("messages", [{"role": "robot", "content": "x"}], "invalid_role", "messages[0].role"),
    ("messages", [{"role": "user", "content": 5}], "wrong_type", "messages[0].content"),
    ("messages", [{"role": "user", "content": "x", "train": "yes"}], "wrong_type",
     "messages[0].train"),
    ("messages", [{"role": "assistant", "tool_calls": {"a": 1}}], "wrong_type",
     "messages[0].tool_calls"),
    ("messages", [{"role": "assistant", "tool_calls": [{"function": {"name": "f",
                                                                     "arguments": 3}}]}],
     "wrong_type", "messages[0].tool_calls[0].function.arguments"),
    ("messages", [{"role": "user", "content": "x", "contents": "y"}], "unknown_field",
     "messages[0].contents"),
    ("meta", [1], "wrong_type", "meta"),
])
def test_wrong_types_in_every_field(field, value, code, path):
    [issue] = validate_record(record(**{field: value})).errors
    assert (issue.code, issue.path) == (code, path)


def test_a_value_that_is_not_an_object():
    assert codes([1, 2]) == ["not_object"]
    assert codes("text") == ["not_object"]


def test_tool_message_must_answer_an_earlier_call():
    raw = record()
    raw["messages"][2]["tool_call_id"] = "nope"
    assert codes(raw) == ["orphan_tool_message"]
    lonely = record(messages=[{"role": "user", "content": "hi"},
                              {"role": "tool", "content": "42"}])
    assert codes(lonely) == ["orphan_tool_message"]


def test_results_without_ids_are_linked_to_pending_calls_in_order():
    raw = record(messages=[
        {"role": "user", "content": "Paris and Rome?"},
        {"role": "assistant", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
            {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
        {"role": "tool", "content": "p"}, {"role": "tool", "content": "r"}])
    t = validate_record(raw).record
    ids = [c.id for c in t.messages[1].tool_calls]
    assert [t.messages[2].tool_call_id, t.messages[3].tool_call_id] == ids
    assert len(set(ids)) == 2 and t.messages[2].name == "get_weather"


def test_call_to_undefined_tool_is_a_warning_so_irrelevance_data_loads():
    raw = record(tools=[])
    checked = validate_record(raw)
    assert checked.ok
    assert [w.code for w in checked.warnings] == ["undefined_tool"]


def test_duplicate_tool_call_id_in_a_record_is_an_error():
    raw = record()
    raw["messages"].insert(3, {"role": "assistant", "tool_calls": [
        {"id": "c0", "function": {"name": "get_weather", "arguments": {}}}]})
    assert codes(raw) == ["duplicate_tool_call_id"]


def test_only_assistants_carry_tool_calls():
    raw = record(messages=[{"role": "user", "content": "x", "tool_calls": [
        {"function": {"name": "get_weather", "arguments": {}}}]}])
    assert codes(raw) == ["invalid_value"]


def test_json_schema_export_is_valid_and_describes_the_record():
    import jsonschema

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) == {"id", "messages"}
    # A record that pydantic accepts passes the exported schema too.
    jsonschema.validate(json.loads(Trajectory.model_validate(record()).model_dump_json()), schema)


def test_arrow_row_keeps_heterogeneous_arguments_as_json_strings():
    t = Trajectory.model_validate(record())
    row = to_arrow_row(t)
    assert isinstance(row["tools"], str)
    assert isinstance(row["messages"][1]["tool_calls"][0]["function"]["arguments"], str)
    assert validate_record(from_arrow_row(row)).record == t


def test_consistent_agrees_with_the_consistency_errors():
    orphan = record()
    orphan["messages"][2]["tool_call_id"] = "nope"
    twice = record()
    twice["messages"].insert(3, {"role": "assistant", "tool_calls": [
        {"id": "c0", "function": {"name": "get_weather", "arguments": {}}}]})
    cases = [record(), record(tools=[]), orphan, twice,
             record(messages=[{"role": "user", "content": "hi"},
                              {"role": "tool", "content": "42"}])]
    for raw in cases:
        t = Trajectory.model_validate(raw)
        assert consistent(t) == (not check(t).errors)
    assert [consistent(Trajectory.model_validate(r)) for r in cases] == \
        [True, True, False, False, False]


# Values made in memory (a model's reply, a tool's result) must be writable: the record
# refuses them with the readers' reason code and the field path, before any writer sees them.
@pytest.mark.parametrize("raw, code, path", [
    ({"id": "a", "messages": [{"role": "user", "content": "bad \ud800"}]},
     "bad_encoding", "messages[0].content"),
    ({"id": "a", "messages": [{"role": "assistant", "tool_calls": [
        {"function": {"name": "f", "arguments": {"x": float("nan")}}}]}]},
     "non_finite_number", "messages[0].tool_calls[0].function.arguments"),
    ({"id": "a", "meta": {"n": 10**5000}, "messages": [{"role": "user", "content": "x"}]},
     "number_too_large", "meta"),
    ({"id": "a", "tools": [{"function": {"name": "f", "parameters": {"d": "\udc00"}}}],
      "messages": [{"role": "user", "content": "x"}]},
     "bad_encoding", "tools[0].function.parameters"),
    ({"id": "a", "system": "s\ud800", "messages": [{"role": "user", "content": "x"}]},
     "bad_encoding", "system"),
], ids=["content", "arguments", "meta", "parameters", "system"])
def test_values_a_writer_cannot_keep_are_rejected_with_their_path(raw, code, path):
    checked = validate_record(raw)
    assert checked.record is None
    [issue] = checked.errors
    assert (issue.code, issue.path) == (code, path)
