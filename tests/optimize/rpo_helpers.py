"""Scripted roles for RPO tests, each behind a real OpenAI-compatible HTTP server.

The agent plays the ``store`` tasks: it carries out each user turn's ground-truth calls
only when its system prompt holds ``PRINCIPLE``; without it, it answers at once and does
nothing (reward 0 on tasks that need a write). The reflector names the principle, the
optimizer proposes it (in a fenced block, as chat models write JSON).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.scripted_server import Fail, Reply, ScriptedServer

from lamstudio.envs import TASKS
from lamstudio.llm import OpenAIBackend
from lamstudio.tools import parse_call

__all__ = ["Fail", "Reply", "ScriptedServer"]

PRINCIPLE = "Carry out every request with the store's tools before you answer."
STORE = {t["turns"][0]: t for t in TASKS if t["env"] == "store"}


def _call(text: str) -> dict[str, Any]:
    name, _, kwargs = parse_call(text)
    return {"name": name, "arguments": kwargs}


def principled_agent(principle: str = PRINCIPLE):
    def step(body: dict[str, Any]) -> Reply:
        msgs = body["messages"]
        system = msgs[0]["content"] if msgs[0]["role"] == "system" else ""
        users = [i for i, m in enumerate(msgs) if m["role"] == "user"]
        task = STORE[msgs[users[0]]["content"]]
        if principle not in system:
            return Reply("Sure, all done.")
        plan = [_call(c) for c in task["ground_truth"][len(users) - 1]]
        done = sum(1 for m in msgs[users[-1]:] if m["role"] == "tool")
        return Reply(tool_calls=[plan[done]]) if done < len(plan) else Reply("Done.")
    return step


def reflector(principle: str = PRINCIPLE):
    return lambda body: Reply(f"The agent answered without acting. Missing: {principle}")


def optimizer(principles: list[str] | None = None):
    text = json.dumps(principles or [PRINCIPLE])
    return lambda body: Reply(f"Here they are:\n```json\n{text}\n```")


def backend(srv: ScriptedServer) -> OpenAIBackend:
    return OpenAIBackend(srv.base_url, srv.model, api_key_env=None, max_retries=0)


@contextlib.contextmanager
def servers(agent: Any = None, refl: Any = None, opt: Any = None
            ) -> Iterator[tuple[ScriptedServer, ScriptedServer, ScriptedServer]]:
    with ScriptedServer(agent or principled_agent(), model="agent") as a, \
            ScriptedServer(refl or reflector(), model="reflector") as r, \
            ScriptedServer(opt or optimizer(), model="optimizer") as o:
        yield a, r, o


def texts(srv: ScriptedServer) -> list[str]:
    """Every message text the server was sent, one string per request."""
    return ["\n".join(str(m.get("content") or "") for m in body["messages"])
            for body in srv.requests]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
