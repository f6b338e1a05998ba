"""``lamstudio agent run`` when a model's reply is hostile, in the middle of a run.

One run of the real CLI against a real OpenAI-compatible server on 127.0.0.1: every entry
of the hostile catalogue (``tests/support/hostile.py``) is one task whose first reply is
that entry, between well-behaved tasks. The contract: every episode is written (the bad
reply becomes tool errors inside its episode, or a ``model_error`` stop, with the
offending value quoted), the file reads back strictly, and tasks in = written + rejected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import Reply, ScriptedServer, cli, write_jsonl
from tests.support import hostile
from tests.support.scripted_server import Raw

from lamstudio.io import parse_json
from lamstudio.schema import validate_record


def _call(name: str | None, arguments: Any) -> dict[str, Any]:
    fn: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        fn["name"] = name
    return {"id": "call_0", "type": "function", "function": fn}


# case -> the assistant message the server sends as the task's first reply
CASES: dict[str, dict[str, Any]] = {
    **{f"content:{k}": {"role": "assistant", "content": v}
       for k, v in hostile.REPLY_TEXTS.items()},
    **{f"arguments:{k}": {"role": "assistant", "content": None,
                          "tool_calls": [_call("get_balance", v)]}
       for k, v in hostile.ARGUMENT_STRINGS.items()},
    **{f"call:{k}": {"role": "assistant", "content": None, "tool_calls": [v]}
       for k, v in hostile.BAD_TOOL_CALLS.items()},
    **{f"bad_content:{k}": {"role": "assistant", "content": v}
       for k, v in hostile.BAD_CONTENT.items()},
    # issue 23 item 9: NaN for a string argument
    "nan_customer": {"role": "assistant", "content": None,
                     "tool_calls": [_call("get_balance", '{"customer": NaN}')]},
    "surrogate_in_name": {"role": "assistant", "content": None,
                          "tool_calls": [_call("get_\ud800balance", "{}")]},
}
GOOD = {"role": "assistant", "content": None,
        "tool_calls": [_call("get_balance", '{"customer": "alice"}')]}


def model(body: dict[str, Any]) -> Any:
    msgs = body["messages"]
    if any(m["role"] == "tool" for m in msgs):
        return Reply("done")
    case = msgs[0]["content"]
    return Raw(hostile.completion_body(CASES.get(case, GOOD)))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("agent-hostile")
    rows = [{"id": "good-first", "env": "store", "turns": ["good"]}]
    rows += [{"id": case, "env": "store", "turns": [case]} for case in CASES]
    rows += [{"id": "good-last", "env": "store", "turns": ["good"]}]
    tasks = write_jsonl(tmp / "tasks.jsonl", rows)
    with ScriptedServer(model) as srv:
        cli("agent", "run", "--model", srv.model, "--base-url", srv.base_url,
            "--tasks", tasks, "-o", tmp / "ep.jsonl", "--max-steps", "3")
    lines = (tmp / "ep.jsonl").read_bytes().splitlines()
    episodes = {}
    for line in lines:  # the strict reader: the file holds nothing a reader refuses
        checked = validate_record(parse_json(line))
        assert checked.record is not None, checked.errors
        episodes[checked.record.id] = checked.record.model_dump(mode="json",
                                                                exclude_none=True)
    return {"episodes": episodes, "rows": rows,
            "rejects": (tmp / "ep.rejects.jsonl").read_text().splitlines(),
            "summary": json.loads((tmp / "ep.summary.json").read_text())}


def _tool_error(ep: dict[str, Any]) -> dict[str, Any]:
    tool = next(m for m in ep["messages"] if m["role"] == "tool")
    return json.loads(tool["content"])


def _first_call(ep: dict[str, Any]) -> dict[str, Any]:
    return ep["messages"][1]["tool_calls"][0]["function"]


def test_every_episode_is_written_and_the_books_balance(run: dict[str, Any]) -> None:
    s = run["summary"]
    assert list(run["episodes"]) == [r["id"] for r in run["rows"]]  # all, in task order
    assert s["tasks"] == len(run["rows"]) == s["written"] + s["failed"] and s["balanced"]
    assert s["failed"] == 0 and run["rejects"] == []
    assert s["stops"] == {"answered": len(CASES) + 2 - len(hostile.BAD_CONTENT),
                          "model_error": len(hostile.BAD_CONTENT)}
    # the bad calls are counted where they happened: as tool errors in their episodes
    assert s["tool_errors"] == {"bad_arguments": len(hostile.ARGUMENT_STRINGS) + 2,
                                "unknown_tool": 3}
    assert s["replaced_surrogates"] == 2


def test_well_behaved_tasks_around_the_hostile_ones_are_untouched(run: dict[str, Any]) -> None:
    for rid in ("good-first", "good-last"):
        ep = run["episodes"][rid]
        assert json.loads(ep["messages"][2]["content"]) == {"customer": "alice",
                                                            "balance": 120.0}
        assert ep["meta"]["agent"]["tool_errors"] == {}


@pytest.mark.parametrize("key", list(hostile.REPLY_TEXTS))
def test_reply_text_is_kept_as_said_and_made_writable(run: dict[str, Any], key: str) -> None:
    ep = run["episodes"][f"content:{key}"]
    said = hostile.REPLY_TEXTS[key]
    assert ep["meta"]["agent"]["stop"] == "answered"
    assert ep["messages"][1] == {"role": "assistant", "content": said.replace("\ud800",
                                                                             "\ufffd")}
    if "\ud800" in said:  # made writable the documented way, and counted
        assert ep["meta"]["agent"]["replaced_surrogates"] == 1
    else:
        assert "replaced_surrogates" not in ep["meta"]["agent"]


@pytest.mark.parametrize("key", list(hostile.ARGUMENT_STRINGS))
def test_unkeepable_arguments_are_a_tool_error_quoting_them(run: dict[str, Any],
                                                            key: str) -> None:
    ep = run["episodes"][f"arguments:{key}"]
    sent = hostile.ARGUMENT_STRINGS[key]
    err = _tool_error(ep)
    assert err["error_code"] == "bad_arguments"
    if key != "not_object":
        assert "not valid JSON" in err["error"] and repr(sent[:60])[:-1] in err["error"]
    assert _first_call(ep) == {"name": "get_balance", "arguments": {}}  # nothing invented
    assert ep["messages"][-1] == {"role": "assistant", "content": "done"}  # the model saw it


@pytest.mark.parametrize(("key", "code", "name", "quoted"), [
    ("no_name", "unknown_tool", "<missing>", "name is missing"),
    ("function_is_string", "unknown_tool", "<missing>", "'get_order_details'"),
    ("arguments_object_huge", "bad_arguments", "f", "5007 characters"),
])
def test_calls_without_a_usable_name_or_arguments(run: dict[str, Any], key: str, code: str,
                                                  name: str, quoted: str) -> None:
    ep = run["episodes"][f"call:{key}"]
    err = _tool_error(ep)
    assert err["error_code"] == code and quoted in err["error"]
    assert _first_call(ep)["name"] == name
    assert ep["meta"]["agent"]["stop"] == "answered"


def test_a_surrogate_in_a_tool_name_is_an_unknown_tool(run: dict[str, Any]) -> None:
    ep = run["episodes"]["surrogate_in_name"]
    assert _first_call(ep)["name"] == "get_\ufffdbalance"
    assert _tool_error(ep)["error_code"] == "unknown_tool"
    assert ep["meta"]["agent"]["replaced_surrogates"] == 1


@pytest.mark.parametrize("key", list(hostile.BAD_CONTENT))
def test_content_that_is_not_text_ends_the_episode_as_a_model_error(
        run: dict[str, Any], key: str) -> None:
    ep = run["episodes"][f"bad_content:{key}"]
    agent = ep["meta"]["agent"]
    assert agent["stop"] == "model_error" and agent["steps"] == 1
    kind = type(hostile.BAD_CONTENT[key]).__name__
    assert agent["error"] == f"bad_content: the reply's content is a {kind}, not text"
    assert [m["role"] for m in ep["messages"]] == ["user"]


def test_nan_arguments_are_not_recorded_as_null(run: dict[str, Any]) -> None:
    """Issue 23 item 9: the record must say what the model said, or refuse the call and
    quote it; never record ``{"customer": null}`` while the error talks about nan."""
    ep = run["episodes"]["nan_customer"]
    err = _tool_error(ep)
    assert err["error_code"] == "bad_arguments"
    assert "NaN" in err["error"] and """'{"customer": NaN}'""" in err["error"]
    assert _first_call(ep)["arguments"] == {}
    assert "null" not in json.dumps(ep["messages"][1])


def test_the_next_request_carries_only_writable_text(tmp_path: Path) -> None:
    """A lone surrogate kept in the conversation would make the *next* request unsendable
    (httpx encodes bodies as strict UTF-8): the model is sent the repaired text."""
    seen: list[dict[str, Any]] = []

    def script(body: dict[str, Any]) -> Any:
        seen.append(body)
        if len(seen) == 1:
            return Raw(hostile.completion_body({"role": "assistant", "content": None,
                                                "tool_calls": [_call("get_\ud800", "{}")]}))
        return Reply("done")

    tasks = write_jsonl(tmp_path / "t.jsonl", [{"env": "store", "turns": ["hi"]}])
    with ScriptedServer(script) as srv:
        cli("agent", "run", "--model", srv.model, "--base-url", srv.base_url,
            "--tasks", tasks, "-o", tmp_path / "ep.jsonl")
    assert len(seen) == 2
    assert seen[1]["messages"][1]["tool_calls"][0]["function"]["name"] == "get_\ufffd"
