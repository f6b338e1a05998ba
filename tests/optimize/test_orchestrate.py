"""BOLAA orchestration: a controller routes each task to one specialist, whose episode
offers and runs only that specialist's tools; a controller reply that cannot be used falls
back to the keyword router with a counted reason. Scripted controller and agent behind real
OpenAI-compatible servers, on the toy store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.support.scripted_server import Fail, Reply, ScriptedServer

from lamstudio.agent import AgentConfig, EnvToolbox, env_tasks
from lamstudio.llm import OpenAIBackend
from lamstudio.optimize import Orchestrator, Specialist, keyword_route

TASKS = {t.id: t for t in env_tasks("store")}
BANKER = Specialist("banker", ("get_balance", "transfer"), "money: balances and transfers",
                    keywords=("money", "balance", "send", "transfer"))
SHOP = Specialist("shop", ("place_order", "cancel_order", "get_order"),
                  "orders: buy and cancel")


def shopper(body: dict[str, Any]) -> Reply:
    """Store task 0, with a stray transfer in parallel with the first order."""
    tools = [m for m in body["messages"] if m["role"] == "tool"]
    users = [m for m in body["messages"] if m["role"] == "user"]
    if not tools:
        return Reply(tool_calls=[
            {"name": "transfer", "arguments": {"sender": "alice", "recipient": "bob",
                                               "amount": 5}},
            {"name": "place_order", "arguments": {"customer": "alice", "product": "lamp",
                                                  "quantity": 2}}])
    if len(users) == 2 and len(tools) == 2:
        return Reply(tool_calls=[{"name": "cancel_order", "arguments": {"order_id": "o1"}}])
    return Reply("Done.")


def _run(controller: Any, task_id: str = "store_0", agent: Any = shopper):
    task = TASKS[task_id]
    with ScriptedServer(agent) as a, ScriptedServer(controller, model="router") as c:
        orch = Orchestrator([BANKER, SHOP], OpenAIBackend(a.base_url, a.model,
                                                          api_key_env=None),
                            OpenAIBackend(c.base_url, c.model, api_key_env=None))
        record = asyncio.run(orch.run(task, EnvToolbox(task.env, task.initial_state,
                                                       task.ground_truth),
                                      config=AgentConfig(max_steps=8)))
        return record, orch, a.requests, c.requests


def test_the_controller_routes_and_the_episode_uses_only_that_specialists_tools() -> None:
    record, orch, agent_reqs, ctrl_reqs = _run([Reply('{"specialist": "shop"}')])
    assert "Alice wants two lamps." in ctrl_reqs[0]["messages"][0]["content"]
    assert record.meta["orchestration"] == {"specialist": "shop", "by": "controller",
                                            "fallback": "", "tools": sorted(SHOP.tools)}
    offered = {tuple(sorted(t["function"]["name"] for t in r["tools"])) for r in agent_reqs}
    assert offered == {tuple(sorted(SHOP.tools))}
    # The banker's transfer was refused before it reached the store; the order ran.
    refused, placed = [m for m in record.messages if m.role == "tool"][:2]
    assert json.loads(refused.content)["error_code"] == "unknown_tool"
    assert json.loads(placed.content)["order_id"] == "o1"
    assert record.meta["agent"]["reward"] == 1.0 and orch.counts == {"routed:shop": 1}


@pytest.mark.parametrize(("reply", "why"), [
    (Reply("Let me think... probably a chef"), "unknown_specialist"),
    (Reply('{"specialist": "chef"}'), "unknown_specialist"),
    (Reply('{"specialist": oops'), "unreadable_reply"),
    (Reply('{"agent": "banker"}'), "unreadable_reply"),
    (Reply(""), "unreadable_reply"),
    (Fail(400, "refused"), "controller_error"),
])
def test_a_bad_controller_reply_falls_back_to_keywords_with_a_counted_reason(
        reply: Any, why: str) -> None:
    record, orch, agent_reqs, _ = _run([reply], "store_2", lambda b: Reply("Bob has 15.5."))
    meta = record.meta["orchestration"]
    assert meta["specialist"] == "banker" and meta["by"] == "keywords"  # "money"
    assert meta["fallback"] == why
    assert orch.counts == {f"fallback:{why}": 1, "routed:banker": 1}
    assert {t["function"]["name"] for t in agent_reqs[0]["tools"]} == set(BANKER.tools)


def test_a_bare_name_or_a_fenced_object_is_read() -> None:
    for reply in ("banker", '```json\n{"specialist": "Banker"}\n```'):
        record, *_ = _run([Reply(reply)], "store_2", lambda b: Reply("ok"))
        assert record.meta["orchestration"]["by"] == "controller"
        assert record.meta["orchestration"]["specialist"] == "banker"


def test_the_keyword_router_picks_the_most_mentioned_specialist() -> None:
    assert keyword_route("Alice wants two lamps. Actually, cancel that order.",
                         [BANKER, SHOP]) is SHOP
    assert keyword_route("How much money does bob have?", [BANKER, SHOP]) is BANKER
    assert keyword_route("hello", [BANKER, SHOP]) is BANKER  # no mention: the first
