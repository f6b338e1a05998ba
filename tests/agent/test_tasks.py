"""Task rows: three shapes read, anything else rejected with a code and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import write_jsonl

from lamstudio.agent import AgentTask, TaskError, read_tasks, task_from_row
from lamstudio.io import Reject


def test_a_record_plays_its_prompt_and_later_user_turns() -> None:
    rec = {"id": "r1", "system": "Be brief.",
           "tools": [{"type": "function", "function": {"name": "factorial"}}],
           "messages": [{"role": "user", "content": "5!?"},
                        {"role": "assistant", "content": "120"},
                        {"role": "user", "content": "And 6!?"},
                        {"role": "assistant", "content": "720"}],
           "meta": {"category": "simple"}}
    t = task_from_row(rec)
    assert t.messages == [{"role": "user", "content": "5!?"}]
    assert t.turns == ["And 6!?"] and t.tools == ["factorial"] and t.system == "Be brief."
    assert t.meta == {"category": "simple"} and t.env is None


def test_prompt_rows_and_env_tasks() -> None:
    t = task_from_row({"prompt": "hi", "tools": ["a", {"function": {"name": "b"}}]}, line=7)
    assert t.id == "task-7" and t.tools == ["a", "b"] and t.turns == []
    e = task_from_row({"id": "x", "turns": ["one", "two"], "ground_truth": [["list_tasks()"], []]},
                      env="todo")
    assert e.env == "todo" and e.messages[0]["content"] == "one" and e.turns == ["two"]


@pytest.mark.parametrize(("row", "code", "field"), [
    (["not", "an", "object"], "not_an_object", ""),
    ({"question": "?"}, "not_a_task", ""),
    ({"prompt": ""}, "empty_prompt", "prompt"),
    ({"prompt": "hi", "tools": [3]}, "bad_tools", "tools[0]"),
    ({"turns": ["hi"]}, "no_env", "env"),
    ({"env": "store", "turns": []}, "no_turns", "turns"),
    ({"env": "store", "turns": ["hi"], "ground_truth": ["f()"]}, "bad_ground_truth",
     "ground_truth"),
    ({"messages": [{"role": "assistant", "content": "hi"}]}, "no_prompt", "messages"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "invalid_record", "messages"),
])
def test_bad_rows_name_what_is_wrong(row: object, code: str, field: str) -> None:
    with pytest.raises(TaskError) as err:
        task_from_row(row)
    assert (err.value.code, err.value.field) == (code, field)


def test_read_tasks_gives_file_and_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"prompt": "a"}, {"prompt": 3}])
    with path.open("a") as fh:
        fh.write("{broken\n")
    items = list(read_tasks(path))
    assert isinstance(items[0], AgentTask) and (items[0].file, items[0].line) == (str(path), 1)
    assert isinstance(items[1], Reject) and (items[1].code, items[1].line) == ("empty_prompt", 2)
    assert isinstance(items[2], Reject) and items[2].line == 3 and items[2].stage == "agent"
