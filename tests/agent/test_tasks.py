"""Task rows: three shapes read, anything else rejected with a code and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_helpers import Reply, ScriptedServer, cli, read_jsonl, write_jsonl

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
    # issue 23 item 8: malformed rows that used to end the run with a traceback
    ({"prompt": "hi", "tools": [{"function": "abc"}]}, "bad_tools", "tools[0]"),
    ({"prompt": "hi", "tools": [{"function": {"name": 5}}]}, "bad_tools", "tools[0]"),
    ({"prompt": "hi", "meta": "ab"}, "bad_meta", "meta"),
    ({"prompt": "hi", "meta": [1]}, "bad_meta", "meta"),
    ({"env": "store", "turns": ["hi"], "meta": 5}, "bad_meta", "meta"),
    ({"prompt": "hi", "env": ["store"]}, "bad_env", "env"),
    ({"prompt": "hi", "id": {"a": 1}}, "bad_id", "id"),
    ({"prompt": "hi", "env": "moon"}, "unknown_env", "env"),
    ({"prompt": "hi", "meta": {"x": float("nan")}}, "non_finite_number", ""),
    # a ground truth that cannot run would score an agent that does nothing as 1.0
    ({"env": "store", "turns": ["hi"], "ground_truth": [["garbage((("]]}, "bad_ground_truth",
     "ground_truth[0][0]"),
    ({"env": "store", "turns": ["hi"], "ground_truth": [[], ["fly(to='moon')"]]},
     "bad_ground_truth", "ground_truth[1][0]"),
    ({"env": "store", "turns": ["hi"], "ground_truth": [[
        "place_order(customer='alice', product='piano')"]]}, "bad_ground_truth",
     "ground_truth[0][0]"),
    ({"env": "store", "turns": ["hi"], "ground_truth": [["(" * 100_000 + ")" * 100_000]]},
     "bad_ground_truth", "ground_truth[0][0]"),
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


def test_malformed_rows_in_a_run_are_rejects_and_the_rest_runs(tmp_path: Path) -> None:
    """Issue 23 item 8 through the CLI: each malformed row is one reject with its file,
    line, field and reason; every good row is played; tasks in = written + rejected."""
    rows = [{"id": "ok-1", "env": "store", "turns": ["hi"]},
            {"id": "tools", "prompt": "hi", "tools": [{"function": "abc"}]},
            {"id": "meta-str", "prompt": "hi", "meta": "ab"},
            {"id": "meta-list", "prompt": "hi", "meta": [1]},
            {"id": "env-meta", "env": "store", "turns": ["hi"], "meta": 5},
            {"id": "garbage", "env": "store", "turns": ["hi"],
             "ground_truth": [["garbage((("]]},
            {"id": "ok-2", "env": "store", "turns": ["hi"], "ground_truth": [[]]}]
    tasks = write_jsonl(tmp_path / "tasks.jsonl", rows)
    with ScriptedServer(lambda body: Reply("Nothing to do.")) as srv:
        result = cli("agent", "run", "--model", srv.model, "--base-url", srv.base_url,
                     "--tasks", tasks, "-o", tmp_path / "ep.jsonl")
    assert "Traceback" not in result.output
    assert [e["id"] for e in read_jsonl(tmp_path / "ep.jsonl")] == ["ok-1", "ok-2"]
    rejects = {r["id"]: r for r in read_jsonl(tmp_path / "ep.rejects.jsonl")}
    assert {k: (r["code"], r["field"], r["line"]) for k, r in rejects.items()} == {
        "tools": ("bad_tools", "tools[0]", 2), "meta-str": ("bad_meta", "meta", 3),
        "meta-list": ("bad_meta", "meta", 4), "env-meta": ("bad_meta", "meta", 5),
        "garbage": ("bad_ground_truth", "ground_truth[0][0]", 6)}
    assert all(r["file"] == str(tasks) and r["stage"] == "agent" for r in rejects.values())
    assert "garbage(((" in rejects["garbage"]["message"]
    summary = json.loads((tmp_path / "ep.summary.json").read_text())
    assert (summary["tasks"], summary["written"], summary["failed"]) == (7, 2, 5)
    assert summary["balanced"]
    # the agent that did nothing: 1.0 only where doing nothing IS the ground truth
    assert summary["rewarded_episodes"] == 1 and summary["mean_reward"] == 1.0
