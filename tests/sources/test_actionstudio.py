"""ActionStudio unified format 2.0: task_instruction, tools, conversation; the repairs its
released data needs; JSON-array output for ActionStudio's own loader."""

import json

import pytest

from lamstudio.schema import Trajectory
from lamstudio.sources import actionstudio

TOOL = {"type": "function", "function": {"name": "go_to", "description": "Go somewhere.",
        "parameters": {"type": "object", "properties": {"target": {"type": "string"}},
                       "required": ["target"]}}}
ROW = {"unique_trajectory_id": "alfworld---train---5", "dataset": "alfworld", "split": "train",
       "task_instruction": "Solve the household task.", "format_instruction": None,
       "few_shot_examples": None, "tools": [TOOL], "conversation": [
           {"role": "user", "content": "Put a mug in the coffeemachine."},
           {"role": "assistant", "content": "Look on the counter.", "tool_calls": [
               {"type": "function", "id": "173924900",
                "function": {"name": "go_to", "arguments": {"target": "countertop 1"}}}]},
           {"role": "tool", "name": "go_to", "content": "You see a mug 1.",
            "tool_call_id": "173924900"},
           {"role": "assistant", "content": "Found the mug."}]}


def test_row_becomes_the_exact_record(load_rows):
    records, rejects = load_rows(actionstudio, [ROW])
    assert rejects == []
    assert records == [Trajectory.model_validate({
        "id": "alfworld---train---5", "source": "alfworld",
        "system": "Solve the household task.", "tools": [TOOL],
        "messages": [
            {"role": "user", "content": "Put a mug in the coffeemachine."},
            {"role": "assistant", "content": "Look on the counter.", "tool_calls": [
                {"id": "173924900", "function": {"name": "go_to",
                                                 "arguments": {"target": "countertop 1"}}}]},
            {"role": "tool", "name": "go_to", "content": "You see a mug 1.",
             "tool_call_id": "173924900"},
            {"role": "assistant", "content": "Found the mug."}],
        "meta": {"actionstudio": {"split": "train"}}})]


def test_released_data_quirks_are_repaired_and_counted(load_rows):
    conversation = [
        {"role": "system", "content": "Solve the household task."},
        {"role": "user", "content": "Market trends?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "id": 418706783,
             "function": {"name": "go_to", "arguments": {"target": "x"}}}]},
        # ActionStudio's own example: content is JSON and the id answers no call.
        {"role": "tool", "content": [{"name": "go_to", "results": {"ok": True}}],
         "tool_call_id": "649343337"},
        {"role": "assistant", "content": "Done."}]
    (record,), rejects = load_rows(actionstudio, [{**ROW, "conversation": conversation}])
    assert rejects == []
    assert record.messages[0].role == "user"  # the duplicate system message is gone
    assert record.messages[1].tool_calls[0].id == "418706783"
    assert record.messages[2].tool_call_id == "418706783"
    assert json.loads(record.messages[2].content) == [{"name": "go_to", "results": {"ok": True}}]
    assert record.meta["actionstudio"]["repairs"] == {"json_tool_content": 1,
                                                      "relinked_tool_call_id": 1}


def test_flat_tools_are_accepted_and_written_back_wrapped(load_rows):
    (record,), _ = load_rows(actionstudio, [{**ROW, "tools": [TOOL["function"]]}])
    assert actionstudio.to_row(record)["tools"] == [TOOL]


def test_dump_to_json_writes_an_array_actionstudio_can_json_load(load_rows, tmp_path):
    (record,), _ = load_rows(actionstudio, [ROW])
    out = tmp_path / "train" / "train.json"
    assert actionstudio.dump([record, record.model_copy(update={"id": "b"})], out) == 2
    data = json.load(open(out))
    assert [d["unique_trajectory_id"] for d in data] == ["alfworld---train---5", "b"]
    assert data[0]["task_instruction"] == ROW["task_instruction"]
    assert data[0]["conversation"][1]["tool_calls"][0]["function"]["arguments"] == {
        "target": "countertop 1"}
    assert list(actionstudio.load(out)) == [record, record.model_copy(update={"id": "b"})]


@pytest.mark.parametrize(("bad", "code", "field"), [
    ({"unique_trajectory_id": None}, "missing_field", "unique_trajectory_id"),
    ({"unique_trajectory_id": ["x"]}, "wrong_type", "unique_trajectory_id"),
    ({"conversation": None}, "missing_field", "conversation"),
    ({"conversation": "user: hi"}, "wrong_type", "conversation"),
    ({"conversation": ["hi"]}, "wrong_type", "conversation[0]"),
    ({"conversation": [{"content": "hi"}]}, "missing_field", "conversation[0].role"),
    ({"conversation": [{"role": "user", "content": {"text": "hi"}}]}, "wrong_type",
     "conversation[0].content"),
    ({"conversation": [{"role": "assistant", "tool_calls": [["go_to", {}]]}]},
     "bad_function_call", "conversation[0].tool_calls[0]"),
    ({"task_instruction": 3}, "wrong_type", "task_instruction"),
    ({"tools": "not json"}, "bad_tools_json", "tools"),
    ({"meta": "x"}, "wrong_type", "meta"),
])
def test_bad_rows_are_rejected_with_reason_and_field(reject_of, bad, code, field):
    reject = reject_of(actionstudio, {**ROW, **bad})
    assert (reject.code, reject.field) == (code, field), reject.message
