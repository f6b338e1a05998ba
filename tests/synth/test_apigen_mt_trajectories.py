"""APIGen-MT trajectories: simulated user ↔ agent play per blueprint, kept only when the
final database equals the blueprint's replay and the expected outputs were said; scripted
agents and users behind real OpenAI-compatible servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.scripted_agents import GOOD_BLUEPRINT, agent_script, user_script
from tests.support.scripted_server import Reply, ScriptedServer

from lamstudio.llm import OpenAIBackend
from lamstudio.schema import validate_record
from lamstudio.synth import TrajectoryConfig, read_blueprints, trajectories, write_trajectories

BP = {"id": "bp-retail-0-0", "env": "tau2:retail", **GOOD_BLUEPRINT}


def _play(agent, user, blueprints=None, **cfg: Any):
    with ScriptedServer(agent) as a, ScriptedServer(user, model="user-sim") as u:
        return trajectories(blueprints or [BP], OpenAIBackend(a.base_url, a.model,
                                                              api_key_env=None),
                            OpenAIBackend(u.base_url, u.model, api_key_env=None),
                            TrajectoryConfig(**cfg)), u


def test_a_play_that_reaches_the_blueprint_state_is_kept(tmp_path: Path) -> None:
    run, user_srv = _play(agent_script(BP["actions"], "Switched to your Mastercard."),
                          user_script())
    (rec,) = run.kept
    assert validate_record(rec).record is not None
    meta = rec["meta"]["apigen_mt"]
    assert meta["blueprint_id"] == BP["id"] and meta["state_hash"] == meta["gold_hash"]
    assert rec["system"] and rec["tools"] and rec["messages"][-1]["content"] == "###STOP###"
    # The simulator was given the blueprint's instruction as its scenario.
    assert BP["instruction"] in user_srv.requests[0]["messages"][0]["content"]
    paths = write_trajectories(run, tmp_path)
    assert json.loads(paths["yields"].read_text())["keep_rate"] == 1.0


def test_an_agent_breaking_policy_is_not_kept() -> None:
    # It also returns an item the customer never asked about: the state differs.
    extra = [{"name": "modify_user_address", "arguments": {
        "user_id": "noah_brown_6181", "address1": "1 Elm", "address2": "", "city": "X",
        "state": "TX", "country": "USA", "zip": "10001"}}]
    run, _ = _play(agent_script(BP["actions"], "mastercard", extra), user_script())
    assert not run.kept and run.rejected[0]["reason"] == "state_mismatch"


def test_an_agent_that_skips_the_write_or_the_outputs_is_not_kept() -> None:
    run, _ = _play(agent_script(BP["actions"][:-1], "mastercard"), user_script())
    assert run.rejected[0]["reason"] == "state_mismatch"
    run, _ = _play(agent_script(BP["actions"], "All done."), user_script())
    assert run.rejected[0]["reason"] == "outputs_missing"


def test_a_user_going_off_script_is_not_kept() -> None:
    def rambling(body: dict[str, Any]) -> Reply:
        return Reply("By the way, what's the weather like? Also tell me a joke.")
    run, _ = _play(agent_script(BP["actions"], "mastercard"), rambling, max_turns=3)
    assert run.rejected[0]["reason"] == "no_user_stop"
    assert run.yields["by_reason"]["no_user_stop"] == 1 and run.yields["kept"] == 0


def test_yields_over_attempts_and_blueprints() -> None:
    other = {**BP, "id": "bp-retail-0-1"}
    good = agent_script(BP["actions"], "mastercard")

    def agent(body: dict[str, Any]) -> Reply:
        # The second blueprint's plays never act.
        first_user = next(m for m in body["messages"] if m["role"] == "user")
        return Reply("mastercard") if "SECOND" in first_user["content"] else good(body)

    def user(body: dict[str, Any]) -> Reply:
        if not any(m["role"] == "assistant" for m in body["messages"]):
            second = "bp-retail-0-1" in json.dumps(body) or "SECOND" in \
                body["messages"][0]["content"]
            return Reply("SECOND please help" if second else "please help")
        return Reply("###STOP###")

    other["instruction"] = other["instruction"] + " SECOND"
    run, _ = _play(agent, user, [BP, other], attempts=2)
    y = run.yields
    assert y["plays"] == 4 and y["kept"] == 2 and y["rejected"] == 2
    assert y["kept_per_blueprint"] == {"bp-retail-0-0": 2, "bp-retail-0-1": 0}
    assert y["by_reason"]["state_mismatch"] == 2


def test_read_blueprints_names_the_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "b.jsonl"
    p.write_text(json.dumps(BP) + "\n{\"id\": 1}\n")
    try:
        read_blueprints(p)
    except ValueError as exc:
        assert f"{p}:2" in str(exc) and "env" in str(exc)
    else:
        raise AssertionError("a blueprint without env/actions was accepted")
