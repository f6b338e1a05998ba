"""Scripted agents, user simulators and a blueprint for tau2 multi-turn tests, to serve
from ``ScriptedServer`` (each is a callable script: it sees the request body)."""

from __future__ import annotations

from typing import Any

from tests.support.scripted_server import Reply

from lamstudio.envs import ground_truth, load_tasks


def agent_script(calls: list[dict[str, Any]], answer: str, extra: list[dict] | None = None):
    """An agent that makes ``extra`` calls, then ``calls`` (one per step), then answers."""
    plan = (extra or []) + calls

    def step(body: dict[str, Any]) -> Reply:
        done = sum(1 for m in body["messages"] if m["role"] == "tool")
        if done < len(plan):
            return Reply(tool_calls=[plan[done]])
        return Reply(answer)
    return step


def user_script(stop: bool = True):
    """A customer who asks once, then stops (or, ``stop=False``, never does)."""
    def step(body: dict[str, Any]) -> Reply:
        # The simulator's own earlier turns come back as "assistant" messages.
        spoke = sum(1 for m in body["messages"] if m["role"] == "assistant")
        if spoke == 0:
            return Reply("Hi, I want to change the payment of my order.")
        return Reply("###STOP###" if stop else "Could you repeat that?")
    return step


# Retail task 40's ground truth as a blueprint: identify by email, pay by another card.
GOOD_BLUEPRINT = {
    "instruction": "You are Noah Brown (noah.brown7922@example.com). You want to pay order "
                   "#W7678072 with your Mastercard instead.",
    "actions": ground_truth(next(t for t in load_tasks("retail") if t["id"] == "40")),
    "outputs": ["mastercard"]}
