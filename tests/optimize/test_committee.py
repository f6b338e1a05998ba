"""The DEI committee on the store environment: members that disagree, a selector that never
sees the reward and may pick wrongly, agreement of final states, and the DEI table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.hostile import completion_body
from tests.support.scripted_agents import agent_script
from tests.support.scripted_server import Fail, Raw, Reply

from lamstudio.llm import OpenAIBackend
from lamstudio.optimize import CommitteeConfig, Member, open_suite, parse_choice, run_committee

from .conftest import system_of

TRANSFER = {"name": "transfer", "arguments": {"sender": "alice", "recipient": "bob",
                                              "amount": 10.0}}
MUG = {"name": "place_order", "arguments": {"customer": "bob", "product": "mug",
                                            "quantity": 1}}
LAMPS = [{"name": "place_order", "arguments": {"customer": "alice", "product": "lamp",
                                               "quantity": 2}},
         {"name": "cancel_order", "arguments": {"order_id": "o1"}}]


def player(store_1_plan: list[dict[str, Any]], store_0_plan: list[dict[str, Any]] = LAMPS):
    """store_1 (transfer, then a mug) played with ``store_1_plan``; store_0 (two lamps,
    then cancel) with ``store_0_plan`` (by default right)."""
    def step(body: dict[str, Any]) -> Reply:
        first = next(m["content"] for m in body["messages"] if m["role"] == "user")
        plan = store_1_plan if "Send 10" in first else store_0_plan
        return agent_script(plan, "Done.")(body)
    return step


def _committee(serve, names_scripts: list[tuple[str, Any]], **member: Any) -> CommitteeConfig:
    members = []
    for name, script in names_scripts:
        srv, _ = serve(script, name)
        members.append(Member(name, name, base_url=srv.base_url, api_key_env=None, **member))
    return CommitteeConfig(members)


def _no_retry(config: CommitteeConfig) -> dict[str, OpenAIBackend]:
    """Backends that do not retry: the default client retries a 500 four times."""
    return {m.name: OpenAIBackend(m.base_url, m.model, api_key_env=None, max_retries=0)
            for m in config.members}


def _run(serve, config: CommitteeConfig, selector_script: Any = None, tasks=None, **kw: Any):
    """Members' (and the selector's) backends opened from the config, unless given."""
    selector_srv, selector = None, None
    if selector_script is not None:
        selector_srv, selector = serve(selector_script, "selector")
        config.selector = Member("selector", "selector", base_url=selector_srv.base_url,
                                 api_key_env=None)
    suite = open_suite("env:store", task_ids=tasks or ["store_0", "store_1"])
    if "backends" in kw:
        kw["selector"] = selector
    return run_committee(suite, config, **kw), selector_srv


def test_agreement_and_a_wrong_llm_pick_fall_short_of_the_oracle(tmp_path: Path, serve) -> None:
    config = _committee(serve, [("careful", player([TRANSFER, MUG])),
                                ("hasty", player([TRANSFER])), ("hasty2", player([TRANSFER]))])
    res, selector = _run(serve, config, lambda body: Reply("Candidate 2 is the best."),
                         out=tmp_path, concurrency=1)
    s = res.summary
    assert [(m["name"], m["reward"]) for m in s["members"]] == [
        ("careful", 1.0), ("hasty", 0.5), ("hasty2", 0.5)]
    assert s["best_member"] == {"name": "careful", "reward": 1.0} and s["oracle"] == 1.0
    # store_1: two hasty members share a wrong final state, and outvote the right one.
    row = {r["id"]: r for r in res.rows}["store_1"]
    assert row["agreement"] == {"pick": "hasty", "reward": 0.0}
    assert row["llm"]["pick"] == "hasty" and row["llm"]["reward"] == 0.0
    assert s["selectors"]["agreement"]["reward"] == 0.5 == s["selectors"]["llm"]["reward"]
    # store_0: everyone agrees and succeeds.
    assert {r["id"]: r for r in res.rows}["store_0"]["agreement"]["reward"] == 1.0
    table = res.paths["table"].read_text()
    assert "| env:store | selector: llm | 0.500 |" in table
    assert "| env:store | oracle (some member succeeded) | 1.000 |" in table
    assert "| env:store | best member: careful | 1.000 |" in table
    assert "DEI table" in res.paths["report"].read_text()
    assert s["selectors"]["llm"]["llm_calls"] == 2 and s["llm_calls"] == sum(
        m["llm_calls"] for m in s["members"]) + 2


def test_the_selector_never_sees_the_reward_or_who_played(serve) -> None:
    config = _committee(serve, [("careful", player([TRANSFER, MUG])),
                                ("hasty", player([TRANSFER]))])
    res, selector = _run(serve, config, lambda body: Reply('{"candidate": 1}'))
    prompts = json.dumps([r["messages"] for r in selector.requests])
    assert len(selector.requests) == 2  # one per task: both tasks have two candidates
    for hidden in ("reward", "careful", "hasty", "expected_state_hash", "state_hash"):
        assert hidden not in prompts.lower()
    # ... but it sees what each candidate changed, numbered, and their conversations.
    assert "Candidate 1" in prompts and "Candidate 2" in prompts
    assert "accounts.bob" in prompts and "place_order" in prompts


def test_an_llm_selector_reading_the_state_changes_beats_every_member(serve) -> None:
    def wise(body: dict[str, Any]) -> Reply:
        """Reads each candidate's state changes: a mug ordered, or the lamps cancelled."""
        parts = body["messages"][1]["content"].split("# Candidate ")[1:]
        changes = [p.split("## Conversation")[0] for p in parts]
        return Reply(next(f"Candidate {i}" for i, c in enumerate(changes, 1)
                          if "mug" in c or "cancelled" in c))

    # Each member gets one task right: alone each scores 0.5.
    config = _committee(serve, [("a", player([TRANSFER])),
                                ("b", player([TRANSFER, MUG], LAMPS[:1]))])
    res, _ = _run(serve, config, wise)
    s = res.summary
    assert [m["reward"] for m in s["members"]] == [0.5, 0.5]
    assert s["selectors"]["agreement"]["reward"] == 0.5  # a tie: the first listed member
    assert s["selectors"]["llm"]["reward"] == 1.0 == s["oracle"]


def test_unusable_selector_replies_are_counted_and_fall_back_to_agreement(serve) -> None:
    # Members that disagree on every store task, so each task asks the selector.
    config = _committee(serve, [("lazy", lambda body: Reply("Done.")),
                                ("busy", player([TRANSFER, MUG]))])
    bad = [Reply("They all look fine."), Raw(completion_body({"role": "assistant",
                                                               "content": [1, 2]})),
           Fail(500)]
    res, _ = _run(serve, config, bad, tasks=["store_0", "store_1", "store_2"],
                  backends=_no_retry(config))
    llm = res.summary["selectors"]["llm"]
    assert llm["unusable"] == {"no_choice": 1, "bad_content": 1, "selector_error": 1}
    assert llm["fallbacks"] == 3 and llm["llm_calls"] == 3
    for r in res.rows:  # the fallback is agreement's pick: the first listed on a tie
        assert r["llm"]["pick"] == r["agreement"]["pick"] == "lazy"


def test_a_member_whose_model_fails_is_a_reject_with_a_reason(serve) -> None:
    config = _committee(serve, [("down", lambda body: Fail(500)),
                                ("garbled", lambda body: Raw(completion_body(
                                    {"role": "assistant", "content": {"x": 1}}))),
                                ("ok", player([TRANSFER, MUG]))])
    res, selector = _run(serve, config, lambda body: Reply("1"), backends=_no_retry(config))
    for r in res.rows:
        assert r["members"]["down"]["rejected"].startswith("model_error")
        assert "bad_content" in r["members"]["garbled"]["rejected"]
        assert r["agreement"]["pick"] == r["llm"]["pick"] == "ok"
    assert selector.requests == []  # one usable candidate: taken without asking
    assert [m["rejected"] for m in res.summary["members"]] == [2, 2, 0]


def test_an_episode_that_fails_after_reaching_the_goal_scores_zero_everywhere(serve) -> None:
    """A model error ends the episode as a reject: its reward is 0 in the member's row, the
    member's mean and the oracle alike, even when the state already matched."""
    def finishes_then_fails(body: dict[str, Any]) -> Reply | Fail:
        made = [c for m in body["messages"] for c in m.get("tool_calls") or []]
        return player([TRANSFER, MUG])(body) if len(made) < 2 else Fail(500)

    config = _committee(serve, [("flaky", finishes_then_fails)])
    res, _ = _run(serve, config, tasks=["store_1"], backends=_no_retry(config))
    (row,) = res.rows
    member = row["members"]["flaky"]
    assert member["rejected"].startswith("model_error") and member["reward"] == 0.0
    assert res.summary["members"][0]["reward"] == 0.0 and res.summary["oracle"] == 0.0


def test_member_principles_and_settings_reach_the_agent(serve) -> None:
    srv_a, _ = serve(player([TRANSFER, MUG]), "a")
    srv_b, _ = serve(player([TRANSFER]), "b")
    config = CommitteeConfig([
        Member("a", "a", base_url=srv_a.base_url, api_key_env=None,
               principles=("Transfer before you order.",), temperature=0.7, seed=5),
        Member("b", "b", base_url=srv_b.base_url, api_key_env=None)])
    _run(serve, config, tasks=["store_1"])
    first = srv_a.requests[0]
    assert "1. Transfer before you order." in system_of(first)
    assert first["temperature"] == 0.7 and first["seed"] == 5
    assert system_of(srv_b.requests[0]) == ""


def test_parse_choice_reads_numbers_in_the_shapes_models_write() -> None:
    assert parse_choice('{"candidate": 2}', 3) == (1, "")
    assert parse_choice("```json\n{\"candidate\": 3}\n```", 3) == (2, "")
    assert parse_choice("Candidate 2", 3) == (1, "")
    assert parse_choice("I pick candidate #1 because it cancelled.", 3) == (0, "")
    assert parse_choice(" 2. ", 3) == (1, "")
    assert parse_choice('"Candidate 3"', 3) == (2, "")
    assert parse_choice("", 3) == (None, "empty")
    assert parse_choice("the second one", 3) == (None, "no_choice")
    assert parse_choice("Candidate 1 beats Candidate 2", 3) == (None, "ambiguous")
    assert parse_choice("Candidate 4", 3) == (None, "out_of_range")
    assert parse_choice('{"candidate": true}', 3) == (None, "no_choice")
