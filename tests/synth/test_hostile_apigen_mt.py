"""APIGen-MT on hostile model replies (scripted servers, real HTTP on 127.0.0.1): a
blueprint whose generator reply or reviews cannot be kept is one reject with its reason,
a play that breaks is one reject, the others are kept, and every file is written (and
reads back with the strict parser)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.support.hostile import HUGE_INT_TEXT, LONE_SURROGATE, REPLY_TEXTS
from tests.support.scripted_agents import GOOD_BLUEPRINT, agent_script, user_script
from tests.support.scripted_server import Reply, ScriptedServer

from lamstudio.io import parse_json
from lamstudio.llm import OpenAIBackend
from lamstudio.synth import (
    BlueprintConfig,
    blueprints,
    trajectories,
    write_blueprints,
    write_trajectories,
)

GOOD = json.dumps(GOOD_BLUEPRINT)
BAD = 1  # of blueprints 0, 1, 2

REPLY_CODES = {"lone_surrogate": "bad_json", "nested_100k": "bad_json",
               "huge_int": "number_too_large", "nan_argument": "non_finite_number",
               "open_braces_2mb": "bad_json", "role_forgery": "bad_json"}
IN_SHAPE = {
    "instruction_surrogate": (GOOD.replace("You are Noah", "You are \\udc00 Noah"),
                              "bad_encoding"),
    "argument_huge_int": (re.sub(r'"order_id": "[^"]*"', '"order_id": ' + HUGE_INT_TEXT,
                                 GOOD, count=1), "number_too_large"),
    "outputs_too_deep": (GOOD.replace('"outputs": [', '"outputs": ' + "[" * 500 + "]" * 499
                                      + ", ", 1), "too_deep"),
}


def _lines(path: Path) -> list[Any]:
    return [parse_json(line) for line in path.read_text("utf-8").splitlines()]


def _blueprints(tmp_path: Path, bad_reply: str):
    def generator(body: dict[str, Any]) -> Reply:
        return Reply(bad_reply if body["seed"] // 10 == BAD else GOOD)

    def reviewer(body: dict[str, Any]) -> Reply:
        return Reply('{"pass": true, "feedback": ""}')

    with ScriptedServer(generator) as g, ScriptedServer(reviewer) as r:
        run = blueprints(OpenAIBackend(g.base_url, g.model, api_key_env=None),
                         [OpenAIBackend(r.base_url, r.model, api_key_env=None)],
                         BlueprintConfig(count=3, rounds=1, reviewers=1, concurrency=1))
    paths = write_blueprints(run, tmp_path)
    return run, _lines(paths["blueprints"]), _lines(paths["rejects"])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(REPLY_CODES) + sorted(IN_SHAPE))
def test_a_hostile_blueprint_reply_is_one_reject(tmp_path, name):
    reply, code = (REPLY_TEXTS[name], REPLY_CODES[name]) if name in REPLY_CODES \
        else IN_SHAPE[name]
    run, accepted, rejects = _blueprints(tmp_path, reply)
    assert run.yields["requested"] == 3 == len(accepted) + len(rejects)
    assert [r["id"] for r in accepted] == ["bp-retail-0-0", "bp-retail-0-2"]
    [reject] = rejects
    assert (reject["id"], reject["reason"], reject["phase"]) == ("bp-retail-0-1", code,
                                                                 "format")
    assert run.yields["rejected_by_reason"] == {code: 1}


@pytest.mark.parametrize("review", [REPLY_TEXTS["nested_100k"], REPLY_TEXTS["huge_int"],
                                    '{"pass": true, "feedback": "ok \\ud800"}'])
def test_a_hostile_review_is_an_unreadable_vote(tmp_path, review):
    def generator(body: dict[str, Any]) -> Reply:
        return Reply(GOOD)

    with ScriptedServer(generator) as g, ScriptedServer([Reply(review)]) as r:
        run = blueprints(OpenAIBackend(g.base_url, g.model, api_key_env=None),
                         [OpenAIBackend(r.base_url, r.model, api_key_env=None)],
                         BlueprintConfig(count=1, rounds=1, reviewers=1))
    paths = write_blueprints(run, tmp_path)
    [reject] = _lines(paths["rejects"])
    assert reject["reason"] == "committee_rejected"
    assert "unreadable review" in reject["history"][0]["detail"]


def _play(blueprints_: list[dict[str, Any]], agent, user):
    with ScriptedServer(agent) as a, ScriptedServer(user, model="user-sim") as u:
        return trajectories(blueprints_, OpenAIBackend(a.base_url, a.model, api_key_env=None),
                            OpenAIBackend(u.base_url, u.model, api_key_env=None))


BP = {"id": "bp-retail-0-0", "env": "tau2:retail", **GOOD_BLUEPRINT}


def test_a_play_that_breaks_is_one_reject_and_the_others_are_kept(tmp_path):
    broken = {**BP, "id": "bp-broken", "actions": [["garbage((("]]}
    run = _play([BP, broken], agent_script(BP["actions"], "Switched to your Mastercard."),
                user_script())
    assert run.yields["plays"] == 2 == run.yields["kept"] + run.yields["rejected"]
    [kept] = run.kept
    assert kept["meta"]["apigen_mt"]["blueprint_id"] == BP["id"]
    [reject] = run.rejected
    assert reject["blueprint_id"] == "bp-broken" and reject["reason"] == "internal_error"
    assert run.yields["by_reason"]["internal_error"] == 1
    paths = write_trajectories(run, tmp_path)
    assert len(_lines(paths["trajectories"])) == 1 and len(_lines(paths["rejects"])) == 1


def test_a_lone_surrogate_from_the_user_endpoint_arrives_repaired_and_the_play_is_kept(
        tmp_path):
    # The HTTP client replaces it by U+FFFD (llm: no writer could keep it), so the play
    # goes on and its record can be written.
    def user(body: dict[str, Any]) -> Reply:
        spoke = sum(1 for m in body["messages"] if m["role"] == "assistant")
        if spoke == 0:
            return Reply("Hi, I want to change the payment of my order " + LONE_SURROGATE)
        return Reply("###STOP###")

    run = _play([BP], agent_script(BP["actions"], "Switched to your Mastercard."), user)
    assert run.yields["plays"] == 1 == run.yields["kept"] + run.yields["rejected"]
    paths = write_trajectories(run, tmp_path)
    [kept] = _lines(paths["trajectories"])
    assert any("\ufffd" in (m.get("content") or "") for m in kept["messages"])
