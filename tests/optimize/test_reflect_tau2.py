"""Reflection across trials on a tau2 retail task, and the eval command's --reflect: a
scripted agent that acts only once the lesson is in its prompt, a scripted customer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.scripted_agents import agent_script, user_script
from tests.support.scripted_server import Reply
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.envs import ground_truth, load_tasks
from lamstudio.optimize import ReflectConfig, open_suite, run_trials_with_reflection

from .conftest import system_of

LESSON = "Next time, change the payment method as asked and say 60 and mastercard."
TASK = next(t for t in load_tasks("retail") if t["id"] == "40")


def learner(body: dict[str, Any]) -> Reply:
    if LESSON not in system_of(body):
        return Reply("Sorry, I cannot help with that.")
    return agent_script(ground_truth(TASK), "Done: 60 dollars, paid with Mastercard.")(body)


def test_a_tau2_task_fails_plainly_and_succeeds_after_a_reflection(serve) -> None:
    _, agent = serve(learner, "agent")
    _, user = serve(user_script(), "user-sim")
    reflector_srv, reflector = serve(lambda body: Reply(LESSON), "reflector")
    suite = open_suite("tau2:retail", user=user, task_ids=["40"])
    res = run_trials_with_reflection(suite, agent, reflector, ReflectConfig(trials=2))
    s = res.summary
    assert s["plain"]["pass^k"]["2"] == 0.0 and s["reflect"]["success_within"]["2"] == 1.0
    assert s["plain"]["llm_calls"]["user"] >= 2  # the simulated customer is a cost too
    # The policy is in the agent's prompt, then the reflection; the reflector reads the
    # conversation but never the customer's hidden scenario.
    record = next(a for a in res.attempts if a["meta"]["optimize"]["arm"] == "reflect")
    assert record["system"].index("policy") < record["system"].index(LESSON)
    assert record["meta"]["tau2"]["reward"] == 1.0
    prompt = reflector_srv.requests[0]["messages"][1]["content"]
    assert "Sorry, I cannot help with that." in prompt
    assert "Noah" not in prompt and "Reason for call" not in prompt


def test_the_eval_command_reports_plain_and_reflection_side_by_side(tmp_path: Path,
                                                                     serve) -> None:
    agent_srv, _ = serve(lambda body: learner_store(body), "agent")
    reflector_srv, _ = serve(lambda body: Reply(STORE_LESSON), "reflector")
    res = CliRunner().invoke(app, [
        "eval", "run", "--suite", "env:store", "--model", "agent", "--backend", "openai",
        "--base-url", agent_srv.base_url, "--trials", "3", "--reflect",
        "--reflector-model", "reflector", "--reflector-base-url", reflector_srv.base_url,
        "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "| plain |" in res.output and "| reflect |" in res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    # store_2 (a read, then a request to decline) needs no write: doing nothing succeeds.
    assert summary["plain"]["success_within"]["3"] == 1 / 3
    assert summary["reflect"]["success_within"]["3"] == 2 / 3  # and store_1 learns
    assert (tmp_path / "reflections.improved.jsonl").read_text().count("\n") == 1


STORE_LESSON = "Next time, transfer the money before placing the order."


def learner_store(body: dict[str, Any]) -> Reply:
    if STORE_LESSON not in system_of(body):
        return Reply("I cannot do that.")
    return agent_script([
        {"name": "transfer", "arguments": {"sender": "alice", "recipient": "bob",
                                           "amount": 10.0}},
        {"name": "place_order", "arguments": {"customer": "bob", "product": "mug",
                                              "quantity": 1}}], "Done.")(body)


def test_the_eval_command_refuses_unknown_env_suites(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["eval", "run", "--suite", "env:bank", "--model", "m",
                                   "--backend", "openai", "--base-url",
                                   "http://127.0.0.1:9/v1", "-o", str(tmp_path)])
    assert res.exit_code == 2 and "env:NAME" in res.output
