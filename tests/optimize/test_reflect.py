"""Reflection across trials (Retroformer's loop) on the store environment: a scripted agent
that succeeds only when a lesson is in its system prompt, a scripted reflector that writes
the lesson, both behind real HTTP servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.hostile import completion_body
from tests.support.scripted_agents import agent_script
from tests.support.scripted_server import Fail, Raw, Reply

from lamstudio.optimize import ReflectConfig, open_suite, run_trials_with_reflection
from lamstudio.schema import validate_record

from .conftest import system_of

LESSON = "Next time, transfer the money before placing the order."
# store_1: "Send 10 from alice to bob, then have bob buy a mug."
PLAN = [{"name": "transfer", "arguments": {"sender": "alice", "recipient": "bob",
                                           "amount": 10.0}},
        {"name": "place_order", "arguments": {"customer": "bob", "product": "mug",
                                              "quantity": 1}}]


def learner(body: dict[str, Any]) -> Reply:
    """Gives up unless the lesson is in its system prompt; then plays store_1's plan."""
    if LESSON not in system_of(body):
        return Reply("I cannot do that.")
    return agent_script(PLAN, "Done.")(body)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_reflection_the_next_trial_reads_beats_plain_retries(tmp_path: Path, serve) -> None:
    _, agent = serve(learner, "agent")
    reflector_srv, reflector = serve(lambda body: Reply(LESSON), "reflector")
    # store_1 learns from the lesson; store_0 (a different task) does not.
    suite = open_suite("env:store", task_ids=["store_0", "store_1"])
    res = run_trials_with_reflection(suite, agent, reflector, ReflectConfig(trials=3),
                                     out=tmp_path)
    s = res.summary
    assert s["plain"]["pass^k"] == {"1": 0.0, "2": 0.0, "3": 0.0}
    assert s["plain"]["success_within"]["3"] == 0.0
    assert s["reflect"]["success_within"] == {"1": 0.0, "2": 0.5, "3": 0.5}
    rows = {r["id"]: r for r in res.rows}
    assert rows["store_1"]["reflect"] == [0.0, 1.0]  # solved: no third trial
    assert rows["store_0"]["reflect"] == [0.0, 0.0, 0.0]
    assert s["reflect"]["llm_calls"]["reflector"] == 3 and s["reflect"]["improved"] == 1
    # The reflector read the task, the failed conversation and its reward.
    prompt = reflector_srv.requests[0]["messages"][1]["content"]
    assert "I cannot do that." in prompt and "Reward: 0" in prompt
    assert "Send 10 from alice to bob" in prompt or "two lamps" in prompt
    # Every reflection a trial saw is a record with the reward before and after it.
    data = _lines(res.paths["reflections"])
    assert len(data) == 3 and all(validate_record(d).record for d in data)
    solved = next(d for d in data if d["meta"]["reflection"]["task_id"] == "store_1")
    assert solved["messages"][1] == {"role": "assistant", "content": LESSON}
    assert solved["meta"]["reflection"] | {"reward_before": 0.0, "reward_after": 1.0,
                                           "improved": True} == solved["meta"]["reflection"]
    assert [d["id"] for d in _lines(res.paths["improved"])] == [solved["id"]]
    # The reflected trial's record keeps the block the agent saw.
    tried = [t for t in _lines(res.paths["trajectories"])
             if t["meta"]["optimize"]["arm"] == "reflect"]
    assert tried and all("# Reflections on earlier attempts" in t["system"] and LESSON in
                         t["system"] for t in tried)
    report = res.paths["report"].read_text()
    assert "| plain | 0.000 | 0.000 | 0.000 |" in report and "| reflect |" in report


def test_the_reflector_can_reflect_without_the_reward(tmp_path: Path, serve) -> None:
    _, agent = serve(learner, "agent")
    srv, reflector = serve(lambda body: Reply(LESSON), "reflector")
    res = run_trials_with_reflection(open_suite("env:store", task_ids=["store_1"]), agent,
                                     reflector, ReflectConfig(trials=2, show_reward=False))
    assert res.summary["reflect"]["success_within"]["2"] == 1.0
    assert "reward" not in json.dumps(srv.requests).lower()


def test_unusable_reflector_replies_are_counted_and_the_trial_runs_without(
        tmp_path: Path, serve) -> None:
    _, agent = serve(learner, "agent")
    bad = [Reply(""), Raw(completion_body({"role": "assistant", "content": {"a": 1}})),
           Reply("x" * 3000), Fail(500)]
    _, reflector = serve(bad, "reflector")
    res = run_trials_with_reflection(open_suite("env:store", task_ids=["store_1"]), agent,
                                     reflector, ReflectConfig(trials=5), out=tmp_path)
    r = res.summary["reflect"]
    assert r["unusable"] == {"empty": 1, "bad_content": 1, "too_long": 1,
                             "reflector_error": 1}
    assert r["reflections"] == 0 and res.rows[0]["reflect"] == [0.0] * 5
    # Without a reflection a trial is the plain arm's own trial, not played twice.
    assert r["llm_calls"]["agent"] == res.summary["plain"]["llm_calls"]["agent"] == 5
    assert res.paths["reflections"].read_text() == ""


def test_an_agent_whose_reply_is_unusable_is_a_failed_trial_to_reflect_on(serve) -> None:
    calls = iter(range(100))

    def agent(body: dict[str, Any]) -> Any:
        if next(calls) == 0:  # the first trial's reply is not text
            return Raw(completion_body({"role": "assistant", "content": 42}))
        return learner(body)

    _, backend = serve(agent, "agent")
    _, reflector = serve(lambda body: Reply(LESSON), "reflector")
    res = run_trials_with_reflection(open_suite("env:store", task_ids=["store_1"]), backend,
                                     reflector, ReflectConfig(trials=2, concurrency=1))
    (row,) = res.rows
    assert row["reflect"] == [0.0, 1.0] and row["errors"][0].startswith("model_error")


def test_without_reflect_only_the_plain_arm_is_played(tmp_path: Path, serve) -> None:
    srv, agent = serve(learner, "agent")
    res = run_trials_with_reflection(open_suite("env:store", task_ids=["store_1"]), agent,
                                     None, ReflectConfig(trials=2, reflect=False), out=tmp_path)
    assert res.summary["plain"]["pass^k"] == {"1": 0.0, "2": 0.0}
    assert len(srv.requests) == 2 and res.reflections == []
    assert "| reflect |" not in res.paths["report"].read_text()
