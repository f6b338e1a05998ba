"""Environment episodes against a real OpenAI-compatible server on 127.0.0.1: the final
state hash decides the reward; user turns are played by a ``User``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import Reply, ScriptedServer, cli, read_jsonl, write_jsonl

from lamstudio.agent import AgentConfig, AgentTask, EnvToolbox, env_tasks, run_episode
from lamstudio.envs import TASKS
from lamstudio.llm import OpenAIBackend

RIGHT = "Send 10 from alice to bob, then have bob buy a mug."
WRONG = "Alice pays bob 10, and bob buys a mug."
TRUTH = [["transfer(sender='alice', recipient='bob', amount=10.0)",
          "place_order(customer='bob', product='mug', quantity=1)"]]


def _pay(amount: float) -> list[dict[str, Any]]:
    return [{"name": "transfer", "arguments": {"sender": "alice", "recipient": "bob",
                                               "amount": amount}},
            {"name": "place_order", "arguments": {"customer": "bob", "product": "mug"}}]


def model(body: dict[str, Any]) -> Reply:
    """Acts on the latest user message; answers once a tool result came back."""
    msgs = body["messages"]
    if msgs[-1]["role"] == "tool":
        return Reply("Done: " + msgs[-1]["content"])
    said = msgs[-1]["content"]
    return Reply(tool_calls={
        RIGHT: _pay(10.0),
        WRONG: _pay(20.0),  # pays the wrong amount: a different final state
        "Alice wants two lamps.": [{"name": "place_order", "arguments": {
            "customer": "alice", "product": "lamp", "quantity": 2}}],
        "Actually, cancel that order.": [{"name": "cancel_order",
                                          "arguments": {"order_id": "o1"}}],
    }[said])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("agent-env")
    store_0 = next(t for t in TASKS if t["id"] == "store_0")  # two user turns
    tasks = write_jsonl(tmp / "tasks.jsonl", [
        {"id": "right", "env": "store", "turns": [RIGHT], "ground_truth": TRUTH},
        {"id": "wrong", "env": "store", "turns": [WRONG], "ground_truth": TRUTH},
        store_0,
        {"id": "nowhere", "env": "moon", "turns": ["hi"]},
    ])
    with ScriptedServer(model) as srv:
        cli("agent", "run", "--model", srv.model, "--base-url", srv.base_url,
            "--tasks", tasks, "-o", tmp / "episodes.jsonl")
    return {"tmp": tmp, "episodes": {e["id"]: e for e in read_jsonl(tmp / "episodes.jsonl")},
            "rejects": read_jsonl(tmp / "episodes.rejects.jsonl")}


def test_right_actions_earn_reward_1(run: dict[str, Any]) -> None:
    a = run["episodes"]["right"]["meta"]["agent"]
    assert a["env"] == "store" and a["stop"] == "answered"
    assert a["state_hash"] == a["expected_state_hash"] and a["reward"] == 1.0
    assert [t["function"]["name"] for t in run["episodes"]["right"]["tools"]] == [
        "cancel_order", "get_balance", "get_order", "place_order", "transfer"]


def test_a_wrong_action_earns_0(run: dict[str, Any]) -> None:
    a = run["episodes"]["wrong"]["meta"]["agent"]
    assert a["state_hash"] != a["expected_state_hash"] and a["reward"] == 0.0
    assert a["tool_errors"] == {}  # every call succeeded: only the state tells


def test_follow_up_turns_are_played_by_the_user(run: dict[str, Any]) -> None:
    ep = run["episodes"]["store_0"]
    users = [m["content"] for m in ep["messages"] if m["role"] == "user"]
    assert users == store_0_turns()
    assert ep["meta"]["agent"]["reward"] == 1.0 and ep["meta"]["agent"]["steps"] == 4
    refund = json.loads(ep["messages"][-2]["content"])
    assert refund == {"order_id": "o1", "refunded": 50.0}


def store_0_turns() -> list[str]:
    return next(t for t in TASKS if t["id"] == "store_0")["turns"]


def test_unknown_env_is_a_failed_task(run: dict[str, Any]) -> None:
    assert [(r["id"], r["code"]) for r in run["rejects"]] == [("nowhere", "unknown_env")]
    assert "moon" in run["rejects"][0]["message"]


def test_verify_accepts_env_episodes(run: dict[str, Any]) -> None:
    """Environment tools are not in the sandbox: verify passes their calls as skipped."""
    tmp: Path = run["tmp"]
    cli("verify", tmp / "episodes.jsonl", "-o", tmp / "kept.jsonl", "--skip-unexecutable")
    assert {r["id"] for r in read_jsonl(tmp / "kept.jsonl")} == {"right", "wrong", "store_0"}


def test_env_errors_and_a_pluggable_user() -> None:
    """A failing action and an argument the method does not take come back as tool
    messages; any object with ``reply(messages)`` can play the user (a simulator later)."""
    class Impatient:
        def __init__(self) -> None:
            self.seen: list[int] = []

        async def reply(self, messages: list[dict[str, Any]]) -> str | None:
            self.seen.append(len(messages))
            return "Try again." if len(self.seen) == 1 else None

    def script(body: dict[str, Any]) -> Reply:
        if body["messages"][-1]["role"] == "tool":
            return Reply("It failed.")
        return Reply(tool_calls=[
            {"name": "place_order", "arguments": {"customer": "bob", "product": "piano"}},
            {"name": "get_balance", "arguments": {"customer": "bob", "pin": 1234}}])

    task = AgentTask(id="e", messages=[{"role": "user", "content": "Buy a piano."}],
                     env="store")
    user = Impatient()
    with ScriptedServer(script) as srv:
        backend = OpenAIBackend(srv.base_url, srv.model, api_key_env=None)
        ep = asyncio.run(run_episode(backend, task, EnvToolbox("store"), user,
                                     AgentConfig(max_steps=10)))
    errors = [json.loads(m.content or "") for m in ep.messages if m.role == "tool"]
    assert errors[0] == {"error": "place_order: no product 'piano'", "error_code": "tool_error"}
    assert errors[1]["error_code"] == "bad_arguments" and "'pin'" in errors[1]["error"]
    assert user.seen == [5, 10] and ep.meta["agent"]["steps"] == 4
    assert ep.meta["agent"]["stop"] == "answered" and "reward" not in ep.meta["agent"]


def test_env_task_list_is_read_as_tasks() -> None:
    tasks = env_tasks("todo")
    assert [t.id for t in tasks] == ["todo_0", "todo_1", "todo_2"]
    assert tasks[0].env == "todo" and len(tasks[0].turns) == 1 and tasks[0].ground_truth
