"""The loop against ``lamstudio serve`` itself on 127.0.0.1: serve renders the prompt with
lamstudio's template and parses the scripted engine's text into ``tool_calls``; the agent
runs them in the store environment and earns the reward; verify keeps the episode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_helpers import cli, read_jsonl, write_jsonl

serve = pytest.importorskip("lamstudio.serve")  # runs once lamstudio serve is merged

TASK = "Send 10 from alice to bob, then have bob buy a mug."
CALLS = [{"name": "transfer", "arguments": {"sender": "alice", "recipient": "bob",
                                            "amount": 10.0}},
         {"name": "place_order", "arguments": {"customer": "bob", "product": "mug"}}]


def reply(prompt: str) -> str:
    """The model's whole output in the template's format, picked from the prompt."""
    if "sender_balance" in prompt:  # the results came back
        return "Bob has his mug."
    return "[TOOL_CALLS]" + json.dumps(CALLS)


def test_agent_against_lamstudio_serve(tmp_path: Path) -> None:
    from lamstudio.envs import TASKS
    from lamstudio.train import train_tokenizer

    tok = train_tokenizer([json.dumps(t) for t in TASKS] * 20, 400, tmp_path / "tok")
    engine = serve.ScriptedEngine(tok, reply, model_id="scripted-store")
    app = serve.create_app(engine, serve.ServeConfig(model="scripted-store"))
    tasks = write_jsonl(tmp_path / "tasks.jsonl", [
        {"id": "pay", "env": "store", "turns": [TASK], "ground_truth": [[
            "transfer(sender='alice', recipient='bob', amount=10.0)",
            "place_order(customer='bob', product='mug', quantity=1)"]]}])
    with serve.ServerThread(app) as srv:
        cli("agent", "run", "--model", "scripted-store", "--base-url", srv.base_url,
            "--tasks", tasks, "-o", tmp_path / "ep.jsonl")
    (ep,) = read_jsonl(tmp_path / "ep.jsonl")
    calls = ep["messages"][1]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == [c["arguments"] for c in CALLS]
    assert ep["messages"][-1] == {"role": "assistant", "content": "Bob has his mug."}
    agent = ep["meta"]["agent"]
    assert agent["stop"] == "answered" and agent["reward"] == 1.0 and agent["steps"] == 2
    cli("verify", tmp_path / "ep.jsonl", "-o", tmp_path / "kept.jsonl", "--skip-unexecutable")
    assert [r["id"] for r in read_jsonl(tmp_path / "kept.jsonl")] == ["pay"]
