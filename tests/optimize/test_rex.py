"""REX exploration (``lamstudio.optimize.explore_episode``) on the toy store: a scripted
agent behind a real OpenAI-compatible server whose greedy first action is wrong, while one
of its sampled candidates is right."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.support.scripted_server import Fail, Raw, Reply, ScriptedServer

from lamstudio.agent import AgentConfig, EnvToolbox, env_tasks, run_episode
from lamstudio.llm import ChatResult, OpenAIBackend
from lamstudio.optimize import RexConfig, action_key, explore_episode, ucb

TASK = next(t for t in env_tasks("store") if t.id == "store_1")  # send 10, then buy a mug
WRONG = {"name": "transfer", "arguments": {"sender": "alice", "recipient": "bob", "amount": 100}}
RIGHT = {"name": "transfer", "arguments": {"sender": "alice", "recipient": "bob", "amount": 10}}
MUG = {"name": "place_order", "arguments": {"customer": "bob", "product": "mug"}}


def agent(samples: dict[int, Any] | None = None, greedy: dict[str, Any] = WRONG):
    """Greedy: ``greedy`` first, then the mug, then an answer. A sampled first step
    (temperature > 0) answers by ``seed % 3`` from ``samples`` (default: the greedy
    action again, the right transfer, an unknown tool); later steps follow the plan."""
    samples = samples if samples is not None else {
        0: Reply(tool_calls=[greedy]), 1: Reply("Sending 10.", tool_calls=[RIGHT]),
        2: Reply(tool_calls=[{"name": "teleport", "arguments": {}}])}

    def step(body: dict[str, Any]) -> Any:
        done = [m for m in body["messages"] if m["role"] == "tool"]
        if not done:
            return samples[body["seed"] % 3] if body.get("temperature", 0) > 0 \
                else Reply(tool_calls=[greedy])
        return Reply(tool_calls=[MUG]) if len(done) == 1 else Reply("Done.")
    return step


async def _rollout(backend: Any, user: Any) -> tuple[Any, float]:
    assert user is None  # the task's scripted turns are the user
    toolbox = EnvToolbox(TASK.env, TASK.initial_state, TASK.ground_truth)
    record = await run_episode(backend, TASK, toolbox, None, AgentConfig(max_steps=6))
    return record, record.meta["agent"]["reward"]


def _explore(script: Any, **cfg: Any):
    with ScriptedServer(script) as srv:
        backend = OpenAIBackend(srv.base_url, srv.model, api_key_env=None)
        out = asyncio.run(explore_episode(_rollout, backend, None, RexConfig(**cfg)))
        return out, srv.requests


def _calls(record: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(c.function.name, c.function.arguments) for m in record.messages
            for c in m.tool_calls or []]


def test_exploring_finds_the_right_first_action_that_plain_play_misses() -> None:
    out, requests = _explore(agent())
    assert out.plain["reward"] == 0.0 and _calls(out.plain_outcome)[0] == ("transfer", {
        "sender": "alice", "recipient": "bob", "amount": 100})
    assert out.reward == 1.0 and _calls(out.outcome) == [
        ("transfer", RIGHT["arguments"]), ("place_order", MUG["arguments"])]
    assert out.report["stop"] == "verified" and out.report["steps_explored"] == 1
    # Three samples: one repeats the greedy action, one is new, one names no such tool.
    assert out.report["candidates"] == {"sampled": 3, "distinct": 1, "duplicate": 1,
                                        "unusable": {"unknown_tool": 1}, "rollout_errors": 0}
    # Every model request is counted once; the forks' replayed prefixes cost nothing.
    assert out.report["agent_calls"] == len(requests) == 3 + 3 + 2
    assert out.plain["agent_calls"] == 3 and out.report["user_calls"] == 0


def test_a_partly_right_candidate_is_committed_and_the_next_step_explored() -> None:
    lamp = {"name": "place_order", "arguments": {"customer": "bob", "product": "lamp"}}

    def two_mistakes(body: dict[str, Any]) -> Any:  # greedy buys a lamp at step 1 too
        done = [m for m in body["messages"] if m["role"] == "tool"]
        if len(done) == 1:
            sampled = body.get("temperature", 0) > 0 and body["seed"] % 3 == 1
            return Reply(tool_calls=[MUG if sampled else lamp])
        return agent()(body)

    async def partial(backend: Any, user: Any) -> tuple[Any, float]:
        record, reward = await _rollout(backend, user)
        sent_ten = ("transfer", RIGHT["arguments"]) in _calls(record)
        return record, reward or 0.5 * sent_ten  # credit for the right transfer

    with ScriptedServer(two_mistakes) as srv:
        out = asyncio.run(explore_episode(
            partial, OpenAIBackend(srv.base_url, srv.model, api_key_env=None), None))
    assert out.plain["reward"] == 0.0 and out.reward == 1.0
    assert out.report["steps_explored"] == 2 and out.report["stop"] == "verified"
    step0, step1 = out.report["trace"]
    assert step0["rewards"] == [0.0, 0.5] and step0["chosen"] == 1  # the right transfer
    assert step1["rewards"] == [0.5, 1.0] and step1["chosen"] == 1  # then the mug


def test_exploration_is_deterministic_given_the_seed() -> None:
    one, _ = _explore(agent(), seed=5)
    two, _ = _explore(agent(), seed=5)
    assert one.report == two.report
    assert one.outcome.model_dump(exclude={"meta"}) == two.outcome.model_dump(exclude={"meta"})


def test_the_seed_decides_which_candidates_are_drawn() -> None:
    def rare(body: dict[str, Any]) -> Any:  # one sample seed in five draws the right one
        if body.get("temperature", 0) > 0 and not any(m["role"] == "tool"
                                                      for m in body["messages"]):
            return Reply(tool_calls=[RIGHT if body["seed"] % 5 == 4 else WRONG])
        return agent()(body)
    found = [_explore(rare, seed=seed)[0].reward for seed in (0, 1, 2, 2)]
    assert found == [0.0, 0.0, 1.0, 1.0]


def test_plain_success_costs_nothing_more() -> None:
    out, requests = _explore(agent(greedy=RIGHT))
    assert out.report["stop"] == "verified" and out.report["steps_explored"] == 0
    assert out.report["agent_calls"] == out.plain["agent_calls"] == len(requests) == 3
    assert out.report["candidates"]["sampled"] == 0


def test_the_budget_ends_exploration_and_the_play_finishes_greedily() -> None:
    out, requests = _explore(agent(), budget=3)  # plain play alone spends 3 calls
    assert out.report["stop"] == "budget" and out.reward == 0.0
    assert out.outcome is out.plain_outcome and len(requests) == 3


def test_max_steps_limits_the_steps_explored() -> None:
    out, _ = _explore(agent(), max_steps=0)
    assert out.report["stop"] == "max_steps" and out.reward == 0.0


def test_every_unusable_sample_is_a_counted_reject_never_a_crash() -> None:
    bad = {0: Raw(json.dumps({"choices": [{"message": {"role": "assistant",
                                                       "content": {"an": "object"}},
                                           "finish_reason": "stop"}]})),
           1: Reply(tool_calls=[{"name": "transfer", "arguments": "{not json"}]),
           2: Reply("")}
    out, _ = _explore(agent(bad))
    c = out.report["candidates"]
    assert c["unusable"] == {"bad_arguments": 1, "bad_content": 1, "empty": 1}
    assert c["sampled"] == c["distinct"] + c["duplicate"] + sum(c["unusable"].values())
    assert out.reward == 0.0 and out.report["stop"] == "ended"
    refused = {0: Fail(400, "bad request"), 1: Reply(tool_calls=[RIGHT]),
               2: Reply(tool_calls=[WRONG])}
    out, _ = _explore(agent(refused))
    assert out.report["candidates"]["unusable"] == {"sample_error": 1} and out.reward == 1.0


def test_ucb_prefers_reward_then_the_less_tried() -> None:
    assert ucb(1.0, 1, 4, 1.4) > ucb(0.0, 1, 4, 1.4)
    assert ucb(0.5, 1, 4, 1.4) > ucb(1.5, 3, 4, 1.4)  # same mean, fewer tries
    assert ucb(0.0, 0, 4, 1.4) == float("inf")


def test_an_action_is_its_calls_not_the_thought_around_them() -> None:
    a = ChatResult("I will send it.", [{"function": {"name": "transfer",
                                                      "arguments": '{"amount": 10}'}}])
    b = ChatResult(None, [{"function": {"name": "transfer", "arguments": {"amount": 10}}}])
    assert action_key(a) == action_key(b) != action_key(ChatResult("I will send it."))


@pytest.mark.parametrize("args", ["[" * 100_000, '{"n": ' + "9" * 5000 + "}",
                                  '{"x": NaN}', '{"amount": 10'])
def test_arguments_no_parser_keeps_are_compared_as_their_text(args: str) -> None:
    one = ChatResult(None, [{"function": {"name": "transfer", "arguments": args}}])
    other = ChatResult(None, [{"function": {"name": "transfer", "arguments": args + " "}}])
    assert action_key(one) == action_key(one) != action_key(other)


def test_a_rollout_that_breaks_is_a_counted_reject() -> None:
    async def fragile(backend: Any, user: Any) -> tuple[Any, float]:
        record, reward = await _rollout(backend, user)
        if ("transfer", RIGHT["arguments"]) in _calls(record):
            raise RuntimeError("the scorer broke")
        return record, reward

    with ScriptedServer(agent()) as srv:
        out = asyncio.run(explore_episode(
            fragile, OpenAIBackend(srv.base_url, srv.model, api_key_env=None), None))
    assert out.report["candidates"]["rollout_errors"] == 1
    assert out.reward == 0.0 and out.outcome is not None
