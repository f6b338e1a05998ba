"""tau2 evaluation when the agent's or the simulated user's reply is hostile, in the middle
of a run: scripted agent and user behind real OpenAI-compatible servers on 127.0.0.1.

One evaluation plays one retail task per hostile catalogue entry (``tests/support/
hostile.py``) between well-behaved ones. The contract: every episode is played, scored and
written (the bad reply is a tool error inside its episode, or the episode's stop says whose
fault it was); trajectories, summary and report are always written; episodes planned =
written + rejected.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.support import hostile
from tests.support.scripted_server import Raw, Reply, ScriptedServer

from lamstudio.eval._tau2 import load_tau2_suite
from lamstudio.eval._tau2_run import Tau2Config, evaluate_tau2
from lamstudio.io import parse_json
from lamstudio.llm import OpenAIBackend
from lamstudio.schema import validate_record


def _call(name: str | None, arguments: Any) -> dict[str, Any]:
    fn: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        fn["name"] = name
    return {"id": "call_0", "type": "function", "function": fn}


def _assistant(**message: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, **message}


# The agent's first reply in its episode.
AGENT_CASES: dict[str, dict[str, Any]] = {
    "content:lone_surrogate": _assistant(content=hostile.REPLY_TEXTS["lone_surrogate"]),
    **{f"arguments:{k}": _assistant(tool_calls=[_call("get_order_details", v)])
       for k, v in hostile.ARGUMENT_STRINGS.items()},
    **{f"call:{k}": _assistant(tool_calls=[v]) for k, v in hostile.BAD_TOOL_CALLS.items()},
    "bad_content:object": _assistant(content=hostile.BAD_CONTENT["object"]),
}
# The simulated user's first reply in its episode.
USER_CASES: dict[str, dict[str, Any]] = {
    "user:object": _assistant(content=hostile.BAD_CONTENT["object"]),
    "user:lone_surrogate": _assistant(content=hostile.REPLY_TEXTS["lone_surrogate"]),
}
CASES = ["good", *AGENT_CASES, *USER_CASES, "good"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("tau2-hostile")
    tasks = load_tau2_suite("tau2:retail")[:len(CASES)]
    case_of = {t.scenario: c for t, c in zip(tasks, CASES, strict=True)}

    def user(body: dict[str, Any]) -> Any:
        msgs = body["messages"]
        case = next(c for s, c in case_of.items() if msgs[0]["content"].endswith(s))
        if any(m["role"] == "assistant" for m in msgs):  # it spoke already: done
            return Reply("###STOP###")
        if case in USER_CASES:
            return Raw(hostile.completion_body(USER_CASES[case]))
        return Reply(f"Hello, this is case {case}.")

    def agent(body: dict[str, Any]) -> Any:
        msgs = body["messages"]
        said = re.search(r"case (\S+)\.", next(m["content"] for m in msgs
                                               if m["role"] == "user"))
        case = said.group(1) if said else ""
        if case in AGENT_CASES and not any(m["role"] == "tool" for m in msgs):
            return Raw(hostile.completion_body(AGENT_CASES[case]))
        return Reply("All done.")

    with ScriptedServer(agent) as a, ScriptedServer(user, model="user-sim") as u:
        res = evaluate_tau2("tau2:retail", OpenAIBackend(a.base_url, a.model, api_key_env=None),
                            OpenAIBackend(u.base_url, u.model, api_key_env=None), tmp,
                            Tau2Config(), task_ids=[t.id for t in tasks])
    by_case = {}
    for line in res.paths["trajectories"].read_bytes().splitlines():
        checked = validate_record(parse_json(line))  # read back strictly
        assert checked.record is not None, checked.errors
        rec = checked.record.model_dump(mode="json", exclude_none=True)
        by_case.setdefault(case_of[next(t.scenario for t in tasks
                                        if t.id == rec["meta"]["tau2"]["task_id"])], rec)
    results = {case_of[next(t.scenario for t in tasks if t.id == r["id"])]: r
               for r in res.results}
    return {"res": res, "records": by_case, "results": results, "tasks": tasks}


def test_every_episode_is_written_and_the_books_balance(run: dict[str, Any]) -> None:
    res = run["res"]
    s = res.summary
    assert len(res.results) == len(CASES) and res.rejects == []
    assert (s["planned"], s["episodes"], s["rejected"], s["balanced"]) == (
        len(CASES), len(CASES), 0, True)
    assert res.paths["rejects"].read_text() == ""
    assert json.loads(res.paths["summary"].read_text())["episodes"] == len(CASES)
    assert "tau2:retail" in res.paths["report"].read_text()
    assert s["stops"] == {"user_stop": len(CASES) - 2, "agent_error": 1, "user_error": 1}


@pytest.mark.parametrize("case", [c for c in AGENT_CASES if c.startswith(("arguments:",
                                                                            "call:"))])
def test_a_bad_call_is_a_tool_error_inside_its_episode(run: dict[str, Any], case: str) -> None:
    r = run["results"][case]
    assert r["stop"] == "user_stop"
    (failed,) = r["failed_calls"]
    want = "unknown_tool" if case in ("call:no_name", "call:function_is_string") \
        else "bad_arguments"
    assert failed["code"] == want and failed["arguments"] == {}
    rec = run["records"][case]
    tool = next(m for m in rec["messages"] if m["role"] == "tool")
    assert json.loads(tool["content"])["error_code"] == want  # the model was told
    assert r["patterns"][0] in ("IFE", "IFN", "IAT", "IAN")


def test_assistant_content_that_is_not_text_is_an_agent_error(run: dict[str, Any]) -> None:
    r = run["results"]["bad_content:object"]
    assert r["stop"] == "agent_error" and r["reward"] == 0.0
    assert r["error"] == "bad_content: the reply's content is a dict, not text"


def test_a_user_whose_content_is_not_text_ends_its_episode(run: dict[str, Any]) -> None:
    r = run["results"]["user:object"]
    assert r["stop"] == "user_error" and r["reward"] == 0.0
    assert r["error"].startswith("bad_content")
    assert run["records"]["user:object"]["messages"] == [
        {"role": "assistant", "content": "Hi! How can I help you today?"}]


def test_lone_surrogates_are_replaced_and_counted(run: dict[str, Any]) -> None:
    said = hostile.REPLY_TEXTS["lone_surrogate"].replace("\ud800", "\ufffd")
    agent = run["records"]["content:lone_surrogate"]
    assert {"role": "assistant", "content": said} in agent["messages"]
    assert agent["meta"]["agent"]["replaced_surrogates"] == 1
    user = run["records"]["user:lone_surrogate"]
    assert user["messages"][1] == {"role": "user", "content": said}
    assert user["meta"]["tau2"]["user_replaced_surrogates"] == 1
    assert run["results"]["user:lone_surrogate"]["stop"] == "user_stop"


def test_an_episode_that_cannot_be_recorded_is_a_reject_and_the_rest_is_written(
        tmp_path: Path) -> None:
    """A model name holding a lone surrogate (what Python makes of a non-UTF-8 byte in
    argv) cannot be written in any record: each episode is one reject with the readers'
    code and the field, and the command still writes everything and says so."""
    from typer.testing import CliRunner

    from lamstudio.cli import app

    with ScriptedServer(lambda body: Reply("All done.")) as a, \
            ScriptedServer(lambda body: Reply("###STOP###"), model="user-sim") as u:
        res = CliRunner().invoke(app, [
            "eval", "run", "--suite", "tau2:retail:test", "--limit", "2",
            "--model", "scripted-\udce9", "--backend", "openai", "--base-url", a.base_url,
            "--user-model", u.model, "--user-base-url", u.base_url, "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "2 planned = 0 written + 2 rejected" in res.output
    rejects = [json.loads(x) for x in (tmp_path / "trajectories.rejects.jsonl")
               .read_text().splitlines()]
    assert [(r["code"], r["field"], r["stage"]) for r in rejects] == [
        ("bad_encoding", "meta", "eval")] * 2
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["balanced"] and summary["pass^k"] == {"1": 0.0}
    for name in ("results.jsonl", "trajectories.jsonl", "report.html"):
        assert (tmp_path / name).exists()
