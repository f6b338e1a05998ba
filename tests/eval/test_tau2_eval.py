"""Multi-turn evaluation on tau2-bench's retail tasks: a scripted agent and a scripted user
simulator behind real OpenAI-compatible HTTP servers; scored as tau2 scores it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.scripted_agents import agent_script, user_script
from tests.support.scripted_server import Reply, ScriptedServer

from lamstudio.envs import ground_truth, load_tasks
from lamstudio.eval._tau2 import load_tau2_suite, pass_hat_k
from lamstudio.eval._tau2_run import Tau2Config, evaluate_tau2
from lamstudio.llm import OpenAIBackend
from lamstudio.schema import validate_record

TASK = "40"  # 4 ground-truth actions; the agent must say '60' and 'mastercard'


def _task(task_id: str) -> dict[str, Any]:
    return next(t for t in load_tasks("retail") if t["id"] == task_id)


def _run(tmp_path: Path, agent, user, suite: str = "tau2:retail", **cfg: Any):
    with ScriptedServer(agent) as a, ScriptedServer(user, model="user-sim") as u:
        agent_b = OpenAIBackend(a.base_url, a.model, api_key_env=None)
        user_b = OpenAIBackend(u.base_url, u.model, api_key_env=None)
        res = evaluate_tau2(suite, agent_b, user_b, tmp_path, Tau2Config(**cfg),
                            task_ids=[TASK])
        return res, a, u


def test_an_agent_that_follows_the_ground_truth_passes(tmp_path: Path) -> None:
    calls = ground_truth(_task(TASK))
    res, agent_srv, user_srv = _run(
        tmp_path, agent_script(calls, "Done: 60 dollars refunded, paid with Mastercard."),
        user_script())
    (r,) = res.results
    assert r["reward"] == 1.0 and r["db_match"] and r["stop"] == "user_stop"
    assert res.summary["pass^k"] == {"1": 1.0}
    # The agent saw the policy and tau2's tools; the user simulator saw its scenario.
    first = agent_srv.requests[0]
    assert first["messages"][0]["role"] == "system" and "policy" in \
        first["messages"][0]["content"].lower()
    assert {t["function"]["name"] for t in first["tools"]} >= {c["name"] for c in calls}
    assert "Reason for call" in user_srv.requests[0]["messages"][0]["content"]
    traj = [json.loads(x) for x in res.paths["trajectories"].read_text().splitlines()]
    assert validate_record(traj[0]).record is not None
    tau2, loop = traj[0]["meta"]["tau2"], traj[0]["meta"]["agent"]
    assert tau2["reward"] == 1.0 and len(tau2["state_hash"]) == 64
    # The episode ran on lamstudio.agent's loop: its meta says so, with the DB reward.
    assert loop["reward"] == 1.0 and loop["state_hash"] == tau2["state_hash"]
    assert traj[0]["messages"][-1] == {"role": "user", "content": "###STOP###"}
    assert "tau2:retail" in res.paths["report"].read_text()


def test_saying_the_outcome_is_part_of_the_score(tmp_path: Path) -> None:
    calls = ground_truth(_task(TASK))
    res, *_ = _run(tmp_path, agent_script(calls, "All done."), user_script())
    (r,) = res.results
    assert r["db_match"] and r["reward"] == 0.0
    assert r["communicated"] == {"60": False, "mastercard": False}


def test_an_agent_breaking_policy_fails_and_its_errors_are_classified(tmp_path: Path) -> None:
    calls = ground_truth(_task(TASK))
    extra = [{"name": "refund_everything", "arguments": {}},  # no such tool
             {"name": "get_order_details", "arguments": {}},  # missing order_id
             {"name": "get_order_details", "arguments": {"order_id": 7}},  # wrong type
             # An unrequested write: another order of the user cancelled.
             {"name": "cancel_pending_order",
              "arguments": {"order_id": "#W0000000", "reason": "no longer needed"}}]
    res, *_ = _run(tmp_path, agent_script(calls, "60 mastercard", extra), user_script())
    (r,) = res.results
    assert r["patterns"][:4] == ["IFN", "IAN", "IAT", "IAV"]
    assert res.summary["error_patterns"]["IFN"]["count"] == 1


def test_a_write_outside_the_ground_truth_breaks_the_database_match(tmp_path: Path) -> None:
    calls = ground_truth(_task(TASK))
    extra = [{"name": "modify_user_address", "arguments": {
        "user_id": "noah_brown_6181", "address1": "1 Elm", "address2": "", "city": "X",
        "state": "TX", "country": "USA", "zip": "10001"}}]
    res, *_ = _run(tmp_path, agent_script(calls, "60 mastercard", extra), user_script())
    (r,) = res.results
    assert not r["db_match"] and r["reward"] == 0.0


def test_a_user_that_never_stops_ends_the_episode_at_max_turns(tmp_path: Path) -> None:
    calls = ground_truth(_task(TASK))
    res, *_ = _run(tmp_path, agent_script(calls, "60 mastercard"), user_script(stop=False),
                   max_turns=3)
    (r,) = res.results
    assert r["stop"] == "max_turns" and r["db_match"] and r["reward"] == 0.0


def test_pass_hat_k_over_trials(tmp_path: Path) -> None:
    calls = ground_truth(_task(TASK))
    good = agent_script(calls, "60 mastercard")

    def flaky(body: dict[str, Any]) -> Reply:
        # Trial is told apart by the user's seed; trial 1 answers without acting.
        return good(body) if _trial[0] % 2 == 0 else Reply("60 mastercard")

    _trial = [0]

    def user(body: dict[str, Any]) -> Reply:
        _trial[0] = body.get("seed", 0)
        return user_script()(body)

    res, *_ = _run(tmp_path, flaky, user, trials=2, concurrency=1)
    assert sorted(r["reward"] for r in res.results) == [0.0, 1.0]
    assert res.summary["pass^k"] == {"1": 0.5, "2": 0.0}
    assert pass_hat_k([3, 1], 4, 2) == pytest.approx((3 / 6 + 0) / 2)


def test_suites_and_splits() -> None:
    assert len(load_tau2_suite("tau2:retail:test")) == 40
    assert len(load_tau2_suite("tau2:airline", limit=5)) == 5
    with pytest.raises(ValueError, match="no split"):
        load_tau2_suite("tau2:retail:dev")
    with pytest.raises(ValueError, match="unknown tau2 domain"):
        load_tau2_suite("tau2:bank")


def test_the_eval_command_runs_a_tau2_suite(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lamstudio.cli import app

    calls = ground_truth(_task("5"))  # the first task of the test split
    with ScriptedServer(agent_script(calls, "done")) as a, \
            ScriptedServer(user_script(), model="user-sim") as u:
        res = CliRunner().invoke(app, [
            "eval", "run", "--suite", "tau2:retail:test", "--limit", "1", "--model", a.model,
            "--backend", "openai", "--base-url", a.base_url, "--user-model", u.model,
            "--user-base-url", u.base_url, "-o", str(tmp_path)],
            env={"OPENAI_API_KEY": "k"})
    assert res.exit_code == 0, res.output
    assert "pass^1 1.000" in res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tasks"] == 1 and summary["per_task"] == {"5": 1}
    res = CliRunner().invoke(app, ["eval", "run", "--suite", "tau2:retail", "--model", "m",
                                   "--backend", "openai", "--base-url", "http://x/v1"])
    assert res.exit_code != 0 and "--user-model" in res.output
