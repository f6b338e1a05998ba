"""APIGen-MT trajectories with REX exploration (``--explore M``): a scripted agent whose
greedy first action is a wrong write, while one of its sampled candidates starts the
blueprint's actions; a scripted user simulator; both behind real OpenAI-compatible
servers. Exploring keeps a verified trajectory where plain play keeps none, and the yields
say what each cost."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from tests.support.scripted_agents import GOOD_BLUEPRINT, user_script
from tests.support.scripted_server import Reply, ScriptedServer
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.llm import OpenAIBackend
from lamstudio.optimize import RexConfig, explore_episode
from lamstudio.synth import TrajectoryConfig, blueprint_reward, trajectories

BP = {"id": "bp-retail-0-0", "env": "tau2:retail", **GOOD_BLUEPRINT}
PLAN = BP["actions"]
WRONG = {"name": "modify_user_address", "arguments": {
    "user_id": "noah_brown_6181", "address1": "1 Elm", "address2": "", "city": "X",
    "state": "TX", "country": "USA", "zip": "10001"}}


def agent(body: dict[str, Any]) -> Reply:
    """Greedy: the wrong write, then the plan, then "mastercard". Sampled first step,
    by ``seed % 3``: the wrong write again, the plan's first call, an empty reply."""
    made = [c["function"]["name"] for m in body["messages"] for c in m.get("tool_calls") or []]
    if not made and body.get("temperature", 0) > 0:
        return [Reply(tool_calls=[WRONG]), Reply(tool_calls=[PLAN[0]]),
                Reply("")][body["seed"] % 3]
    seq = PLAN if made and made[0] == PLAN[0]["name"] else [WRONG, *PLAN]
    return Reply(tool_calls=[seq[len(made)]]) if len(made) < len(seq) else \
        Reply("Done: paid with your mastercard.")


def _run(explore: Any) -> tuple[Any, int, int]:
    with ScriptedServer(agent) as a, ScriptedServer(user_script(), model="user-sim") as u:
        run = trajectories([BP], OpenAIBackend(a.base_url, a.model, api_key_env=None),
                           OpenAIBackend(u.base_url, u.model, api_key_env=None),
                           TrajectoryConfig(explore=explore))
        return run, len(a.requests), len(u.requests)


def test_plain_play_of_a_wrong_first_action_is_not_kept() -> None:
    run, agent_calls, user_calls = _run(None)
    assert run.yields["kept"] == 0 and run.rejected[0]["reason"] == "state_mismatch"
    assert run.yields["llm_calls"] == {"agent": agent_calls, "user": user_calls}
    assert "rex" not in run.yields


def test_exploring_keeps_a_verified_trajectory_and_reports_both_costs() -> None:
    plain, plain_agent, plain_user = _run(None)
    run, agent_calls, user_calls = _run(partial(explore_episode, config=RexConfig()))
    (rec,) = run.kept
    first = rec["messages"][2]["tool_calls"][0]["function"]
    assert first["name"] == PLAN[0]["name"] and run.yields["kept"] == 1
    meta = rec["meta"]["apigen_mt"]
    assert meta["state_hash"] == meta["gold_hash"] and meta["plain_reason"] == "state_mismatch"
    rex = run.yields["rex"]
    # The exploration's first rollout is plain play: same verdict, same calls.
    assert rex["plain"]["kept"] == 0 and rex["plain"]["llm_calls"] == {
        "agent": plain_agent, "user": plain_user, "total": plain_agent + plain_user}
    assert rex["explore"]["kept"] == 1 and rex["explore"]["llm_calls"]["agent"] == \
        agent_calls == run.yields["llm_calls"]["agent"] > plain_agent
    assert run.yields["llm_calls"]["user"] == user_calls
    assert rex["candidates"] == {"sampled": 3, "distinct": 1, "duplicate": 1,
                                 "unusable": {"empty": 1}, "rollout_errors": 0}
    assert rex["stops"] == {"verified": 1}


def test_exploration_is_deterministic() -> None:
    runs = [_run(partial(explore_episode, config=RexConfig(seed=3)))[0] for _ in range(2)]
    assert runs[0].yields == runs[1].yields
    assert runs[0].kept[0]["messages"] == runs[1].kept[0]["messages"]


def test_reward_is_one_when_kept_else_partial_credit_for_blueprint_calls() -> None:
    def said(*calls: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": c} for i, c in enumerate(calls)]}]
    assert blueprint_reward("kept", [], PLAN) == 1.0
    assert blueprint_reward("state_mismatch", said(WRONG), PLAN) == 0.0
    assert blueprint_reward("state_mismatch", said(PLAN[0], PLAN[0], WRONG, PLAN[1]),
                            PLAN) == 0.9 * 2 / 4
    assert blueprint_reward("outputs_missing", said(*PLAN), PLAN) == 0.9


def test_cli_explore_prints_plain_and_exploring(tmp_path: Path) -> None:
    bp_file = tmp_path / "blueprints.jsonl"
    bp_file.write_text(json.dumps(BP) + "\n")
    with ScriptedServer(agent) as a, ScriptedServer(user_script()) as u:
        res = CliRunner().invoke(app, [
            "synth", "apigen-mt", "trajectories", "--blueprints", str(bp_file), "-o",
            str(tmp_path / "tr"), "--agent-base-url", a.base_url, "--user-base-url",
            u.base_url, "--api-key-env", "NO_SUCH_KEY_VAR", "--explore", "3",
            "--explore-budget", "100"])
    assert res.exit_code == 0, res.output
    assert "plain:   0/1 kept" in res.output and "explore: 1/1 kept" in res.output
    yields = json.loads((tmp_path / "tr" / "yields.json").read_text())
    assert yields["rex"]["explore"]["kept"] == yields["kept"] == 1
    res = CliRunner().invoke(app, [
        "synth", "apigen-mt", "trajectories", "--blueprints", str(bp_file), "-o",
        str(tmp_path / "x"), "--agent-base-url", "http://127.0.0.1:9/v1", "--explore", "3",
        "--explore-temperature", "0"])
    assert res.exit_code != 0 and "--explore-temperature" in res.output


def test_principles_reach_the_agent_and_the_kept_record(tmp_path: Path) -> None:
    from lamstudio.agent import principles_block

    bp_file, rules = tmp_path / "blueprints.jsonl", tmp_path / "best.json"
    bp_file.write_text(json.dumps(BP) + "\n")
    rules.write_text(json.dumps({"principles": ["Read the order before changing it."]}))
    with ScriptedServer(agent) as a, ScriptedServer(user_script()) as u:
        res = CliRunner().invoke(app, [
            "synth", "apigen-mt", "trajectories", "--blueprints", str(bp_file), "-o",
            str(tmp_path / "tr"), "--agent-base-url", a.base_url, "--user-base-url",
            u.base_url, "--api-key-env", "NO_SUCH_KEY_VAR", "--explore", "3",
            "--explore-budget", "100", "--principles", str(rules)])
    assert res.exit_code == 0, res.output
    block = principles_block(["Read the order before changing it."])
    assert all(r["messages"][0]["content"].endswith("\n\n" + block) for r in a.requests)
    kept = [json.loads(line) for line in
            (tmp_path / "tr" / "trajectories.jsonl").read_text().splitlines()]
    assert kept and all(r["system"].endswith("\n\n" + block) for r in kept)
    assert kept[0]["meta"]["agent"]["principles"] == ["Read the order before changing it."]
