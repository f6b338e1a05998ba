"""``lamstudio agent run`` against a real OpenAI-compatible server on 127.0.0.1 (scripted
answers) with tools run in the sandbox; then ``lamstudio verify`` on what it wrote.

The scripted model picks its reply from the task's prompt and the tool results it has
been sent, so its answers prove what it saw.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import HERE, Fail, Reply, ScriptedServer, cli, read_jsonl, write_jsonl

from lamstudio.schema import Trajectory


def _tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(m["content"]) for m in body["messages"] if m["role"] == "tool"]


def _answer_with_results(call: list[dict[str, Any]]) -> Any:
    def step(results: list[dict[str, Any]]) -> Reply:
        if not results:
            return Reply(tool_calls=call)
        return Reply(f"results: {json.dumps(results, sort_keys=True)}")
    return step


SCRIPTS = {
    "What is 5 factorial?": _answer_with_results([{"name": "factorial", "arguments": {"n": 5}}]),
    "Is 7 prime, and what is 4!?": _answer_with_results(
        [{"name": "is_prime", "arguments": {"n": 7}},
         {"name": "factorial", "arguments": {"n": 4}}]),
    "Price of ACME?": _answer_with_results([{"name": "lookup_stock",
                                             "arguments": {"symbol": "ACME"}}]),
    "Beam me up.": _answer_with_results([{"name": "teleport", "arguments": {"to": "ship"}}]),
    "What is five factorial?": _answer_with_results([{"name": "factorial",
                                                      "arguments": {"n": "five"}}]),
    "Count forever.": lambda results: Reply(tool_calls=[{"name": "factorial",
                                                         "arguments": {"n": len(results)}}]),
    "Crash the model.": lambda results: Fail(400, "context length exceeded"),
    "Report on tides.": _answer_with_results([{"name": "slow_report",
                                               "arguments": {"topic": "tides"}}]),
}


def model(body: dict[str, Any]) -> Any:
    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return SCRIPTS[prompt](_tool_results(body))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("agent-tools")
    rows = [{"id": f"t{k}", "prompt": p} for k, p in enumerate(SCRIPTS)]
    rows[0]["tools"] = ["factorial"]  # a task may choose its tools by name
    rows.append({"id": "bad", "prompt": "x", "tools": ["no_such_tool"]})
    rows.append({"id": "junk", "question": "no prompt here"})
    tasks = write_jsonl(tmp / "tasks.jsonl", rows)
    with ScriptedServer(model) as srv:
        result = cli("agent", "run", "--model", srv.model, "--base-url", srv.base_url,
                     "--tasks", tasks, "--tools", HERE / "agent_tools.py", "--max-steps", "3",
                     "--tool-timeout", "1",
                     "-o", tmp / "episodes.jsonl")
        requests = list(srv.requests)
    episodes = {e["id"]: e for e in read_jsonl(tmp / "episodes.jsonl")}
    return {"tmp": tmp, "episodes": episodes, "output": result.output, "requests": requests,
            "rejects": read_jsonl(tmp / "episodes.rejects.jsonl"),
            "summary": json.loads((tmp / "episodes.summary.json").read_text())}


def agent(ep: dict[str, Any]) -> dict[str, Any]:
    return ep["meta"]["agent"]


def test_call_result_answer(run: dict[str, Any]) -> None:
    ep = run["episodes"]["t0"]
    roles = [m["role"] for m in ep["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert json.loads(ep["messages"][2]["content"]) == {"n": 5, "factorial": 120} or \
        "120" in ep["messages"][2]["content"]
    assert "120" in ep["messages"][3]["content"]  # the model was sent the result
    assert [t["function"]["name"] for t in ep["tools"]] == ["factorial"]
    a = agent(ep)
    assert a["stop"] == "answered" and a["steps"] == 2 and a["tool_calls"] == 1
    assert a["tool_errors"] == {} and a["endpoint"].startswith("http://127.0.0.1:")
    assert a["model"] == "scripted-model"
    Trajectory.model_validate(ep)


def test_tools_go_over_the_wire_as_openai_expects(run: dict[str, Any]) -> None:
    first = next(r for r in run["requests"]
                 if r["messages"][0]["content"] == "What is 5 factorial?"
                 and any(m["role"] == "tool" for m in r["messages"]))
    assert [t["function"]["name"] for t in first["tools"]] == ["factorial"]
    call = first["messages"][1]["tool_calls"][0]
    assert isinstance(call["function"]["arguments"], str)  # a JSON string on the wire
    assert first["messages"][2]["tool_call_id"] == call["id"]


def test_parallel_calls_each_get_a_result(run: dict[str, Any]) -> None:
    ep = run["episodes"]["t1"]
    calls = ep["messages"][1]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["is_prime", "factorial"]
    results = ep["messages"][2:4]
    assert [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
    assert len({c["id"] for c in calls}) == 2
    assert "true" in results[0]["content"].lower() and "24" in results[1]["content"]
    assert agent(ep)["stop"] == "answered" and agent(ep)["tool_calls"] == 2
    assert len(ep["tools"]) > 70  # no tool list in the task: every built-in and user tool


def _error(ep: dict[str, Any]) -> dict[str, Any]:
    return json.loads(next(m for m in ep["messages"] if m["role"] == "tool")["content"])


def test_a_tool_that_raises_goes_back_as_a_tool_message(run: dict[str, Any]) -> None:
    ep = run["episodes"]["t2"]
    err = _error(ep)
    assert err["error_code"] == "tool_error"
    assert "ConnectionError" in err["error"] and "price feed unreachable for ACME" in err["error"]
    assert "price feed unreachable" in ep["messages"][-1]["content"]  # the model saw it
    assert agent(ep)["stop"] == "answered" and agent(ep)["tool_errors"] == {"tool_error": 1}


def test_unknown_tool_is_an_error_the_model_sees(run: dict[str, Any]) -> None:
    ep = run["episodes"]["t3"]
    err = _error(ep)
    assert err["error_code"] == "unknown_tool"
    assert err["error"].startswith("unknown tool 'teleport'; ")
    assert f"{len(ep['tools'])} tools are available" in err["error"]
    assert agent(ep)["stop"] == "answered"


def test_arguments_against_the_schema_are_refused(run: dict[str, Any]) -> None:
    err = _error(run["episodes"]["t4"])
    assert err["error_code"] == "bad_arguments"
    assert "factorial" in err["error"] and "'five' is not of type 'integer'" in err["error"]


def test_a_tool_past_its_time_limit_is_an_error_the_model_sees(run: dict[str, Any]) -> None:
    ep = run["episodes"]["t7"]
    err = _error(ep)
    assert err == {"error": "tool ran past the 1 s time limit", "error_code": "timeout"}
    assert agent(ep)["stop"] == "answered" and agent(ep)["tool_errors"] == {"timeout": 1}


def test_step_limit(run: dict[str, Any]) -> None:
    ep = run["episodes"]["t5"]
    a = agent(ep)
    assert a["stop"] == "step_limit" and a["steps"] == 3 and a["tool_calls"] == 3
    assert ep["messages"][-1]["role"] == "tool"


def test_model_error_ends_the_episode_and_is_recorded(run: dict[str, Any]) -> None:
    ep = run["episodes"]["t6"]
    a = agent(ep)
    assert a["stop"] == "model_error" and a["steps"] == 0
    assert "context length exceeded" in a["error"]
    assert [m["role"] for m in ep["messages"]] == ["user"]


def test_counts_balance_and_failures_have_reasons(run: dict[str, Any]) -> None:
    s = run["summary"]
    assert s["tasks"] == 10 and s["written"] == 8 and s["failed"] == 2 and s["balanced"]
    assert s["stops"] == {"answered": 6, "step_limit": 1, "model_error": 1}
    assert s["failed_by_reason"] == {"unknown_tools": 1, "not_a_task": 1}
    by_id = {r["id"]: r for r in run["rejects"]}
    assert "no_such_tool" in by_id["bad"]["message"] and by_id["bad"]["line"] == 9
    assert by_id["junk"]["code"] == "not_a_task" and by_id["junk"]["stage"] == "agent"
    assert list(run["episodes"]) == [f"t{k}" for k in range(8)]  # task order kept


def test_verify_accepts_the_clean_episodes(run: dict[str, Any]) -> None:
    """Episodes whose calls ran cleanly pass every stage (their recorded results match
    fresh ones); those that went wrong are rejected for exactly what went wrong."""
    tmp: Path = run["tmp"]
    cli("verify", tmp / "episodes.jsonl", "-o", tmp / "kept.jsonl",
        "--tools", HERE / "agent_tools.py")
    kept = {r["id"] for r in read_jsonl(tmp / "kept.jsonl")}
    rejected = {r["id"]: r["code"] for r in read_jsonl(tmp / "kept.rejects.jsonl")}
    assert kept == {"t0", "t1", "t5"}
    assert rejected == {"t2": "tool_error", "t3": "IFN", "t4": "IAT",
                        "t6": "no_assistant_turn", "t7": "timeout"}


def test_a_refused_key_stops_the_run_and_writes_nothing(tmp_path: Path) -> None:
    """401/403/404 are faults of the whole run: it stops with what to fix, and no output
    pretends to be complete. Other model errors end only their own episode (above)."""
    tasks = write_jsonl(tmp_path / "tasks.jsonl", [{"prompt": "hi"}] * 3)
    with ScriptedServer([Fail(401, "invalid api key")] * 3) as srv:
        result = cli("agent", "run", "--model", srv.model, "--base-url", srv.base_url,
                     "--tasks", tasks, "--no-builtin-tools", "--tools",
                     HERE / "agent_tools.py", "-o", tmp_path / "ep.jsonl", code=2)
    assert "refused the run" in result.output and "401" in result.output
    assert not (tmp_path / "ep.jsonl").exists()
