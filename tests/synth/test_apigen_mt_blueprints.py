"""APIGen-MT blueprints on tau2's retail domain, every phase driven by scripted LLMs behind
real OpenAI-compatible servers: format, execution, policy as code, a reviewer committee
that disagrees, and feedback rounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.scripted_agents import GOOD_BLUEPRINT
from tests.support.scripted_server import Reply, ScriptedServer

from lamstudio.llm import OpenAIBackend
from lamstudio.synth import BlueprintConfig, blueprints, write_blueprints

GOOD = GOOD_BLUEPRINT
UNAUTHENTICATED = {**GOOD, "actions": GOOD["actions"][1:]}  # the email lookup dropped
FAILS = {**GOOD, "actions": GOOD["actions"][:1] + [
    {"name": "return_delivered_order_items",
     "arguments": {"order_id": "#W7678072", "item_ids": ["1"], "payment_method_id": "x"}}]}


def _index(body: dict[str, Any]) -> tuple[int, int]:
    seed = body["seed"]  # BlueprintConfig seed 0: index * 10 + round
    return seed // 10, seed % 10


def generator(plan: dict[int, list[Any]]):
    def step(body: dict[str, Any]) -> Reply:
        index, round_ = _index(body)
        out = plan[index][min(round_, len(plan[index]) - 1)]
        return Reply(out if isinstance(out, str) else "```json\n" + json.dumps(out) + "\n```")
    return step


def reviewers(verdicts: dict[str, list[bool]]):
    """Per instruction text: the votes of reviewers 0, 1, 2."""
    def step(body: dict[str, Any]) -> Reply:
        prompt = body["messages"][0]["content"]
        votes = next(v for key, v in verdicts.items() if key in prompt)
        ok = votes[body["seed"]]
        return Reply(json.dumps({"pass": ok, "feedback": "" if ok else "say the last four "
                                 "digits of the card"}))
    return step


def _run(tmp_path: Path, plan: dict[int, list[Any]], verdicts: dict[str, list[bool]],
         rounds: int = 2):
    with ScriptedServer(generator(plan)) as g, ScriptedServer(reviewers(verdicts)) as r:
        run = blueprints(OpenAIBackend(g.base_url, g.model, api_key_env=None),
                         [OpenAIBackend(r.base_url, r.model, api_key_env=None)],
                         BlueprintConfig(count=len(plan), rounds=rounds, concurrency=1))
        return run, g, r


def test_a_grounded_blueprint_with_a_majority_is_accepted(tmp_path: Path) -> None:
    run, _, rev = _run(tmp_path, {0: [GOOD]}, {"Noah": [True, False, True]})
    (bp,) = run.accepted
    assert bp["actions"] == GOOD["actions"] and bp["meta"]["round"] == 0
    assert len(rev.requests) == 3 and "modify_pending_order_payment ->" in \
        rev.requests[0]["messages"][0]["content"]  # reviewers see the execution
    assert run.yields["phases"]["review"] == {"in": 1, "passed": 1}
    paths = write_blueprints(run, tmp_path)
    assert json.loads(paths["blueprints"].read_text())["id"] == bp["id"]
    assert json.loads(paths["yields"].read_text())["accept_rate"] == 1.0


def test_committee_rejection_feeds_back_into_the_next_round(tmp_path: Path) -> None:
    fixed = {**GOOD, "instruction": GOOD["instruction"] + " Card ending 1234."}
    run, gen, _ = _run(tmp_path, {0: [GOOD, fixed]},
                       {"ending 1234": [True, True, False], "Noah": [False, True, False]})
    (bp,) = run.accepted
    assert bp["meta"]["round"] == 1
    assert bp["meta"]["history"][0]["code"] == "committee_rejected"
    second = gen.requests[1]["messages"][0]["content"]
    assert "say the last four digits of the card" in second  # the reviewers' feedback
    y = run.yields
    assert y["rounds"]["0"]["review"] == {"in": 1, "passed": 0}
    assert y["rounds"]["1"]["review"] == {"in": 1, "passed": 1}
    assert y["accept_rate"] == 1.0 and y["accept_rate_first_round"] == 0.0


def test_each_phase_rejects_with_its_reason(tmp_path: Path) -> None:
    plan = {0: ["not json at all"], 1: [FAILS], 2: [UNAUTHENTICATED],
            3: [{**GOOD, "actions": GOOD["actions"][:1]}]}  # lookups only
    run, _, rev = _run(tmp_path, plan, {"Noah": [True, True, True]}, rounds=1)
    reasons = {r["id"].rsplit("-", 1)[1]: (r["phase"], r["reason"]) for r in run.rejected}
    assert reasons == {"0": ("format", "bad_json"), "1": ("execution", "action_failed"),
                       "2": ("policy", "write_before_authentication"),
                       "3": ("execution", "no_write")}
    assert not run.accepted and not rev.requests  # nothing reached the committee
    assert run.yields["requested"] == run.yields["accepted"] + run.yields["rejected"] == 4
    assert run.yields["phases"]["format"] == {"in": 4, "passed": 3}
    assert run.yields["phases"]["policy"] == {"in": 1, "passed": 0}


def test_unreadable_reviews_count_against(tmp_path: Path) -> None:
    with ScriptedServer(generator({0: [GOOD]})) as g, \
            ScriptedServer([Reply("looks fine to me")] * 3) as r:
        run = blueprints(OpenAIBackend(g.base_url, g.model, api_key_env=None),
                         [OpenAIBackend(r.base_url, r.model, api_key_env=None)],
                         BlueprintConfig(count=1, rounds=1))
    assert run.rejected[0]["reason"] == "committee_rejected"
    assert "unreadable review" in run.rejected[0]["history"][0]["detail"]
