"""``read_reply``: the one way a model's reply comes into an episode (the contract the
hostile-reply runs rely on, shown on single replies)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agent_helpers import Reply, ScriptedServer

from lamstudio.agent import AgentTask, EnvToolbox, EpisodeError, read_reply, run_episode
from lamstudio.llm import ChatResult, OpenAIBackend

SPECS = {"f": {"type": "function", "function": {"name": "f", "parameters": {
    "type": "object", "properties": {"x": {"type": "number"}}}}}}


def _read(content: Any = None, tool_calls: Any = None) -> Any:
    return read_reply(ChatResult(content=content, tool_calls=tool_calls), 1, SPECS)


def test_openai_text_parts_are_read_as_their_text() -> None:
    reply = _read([{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}])
    assert reply.content == "Hello, world" and not reply.problem


def test_arguments_already_decoded_are_checked_like_text() -> None:
    """Some servers send arguments as an object; a NaN in it is refused as in a string."""
    (call,) = _read(tool_calls=[{"function": {"name": "f", "arguments": {"x": float("nan")}}}]
                    ).calls
    assert call.arguments == {} and call.problem is not None
    error = json.loads(call.problem.content)
    assert error["error_code"] == "bad_arguments" and "non_finite_number" in error["error"]


@pytest.mark.parametrize(("calls", "why"), [
    ({"function": {"name": 7}}, "a int, not a string"),
    ({"function": {"name": ""}}, "name is empty"),
    ("f", "its function is 'f'"),
])
def test_calls_without_a_usable_name(calls: Any, why: str) -> None:
    (call,) = _read(tool_calls=calls).calls  # a single call not in a list is still read
    assert call.name == "<missing>" and why in call.problem.content


def test_a_user_reply_that_is_not_text_rejects_the_episode() -> None:
    class Numbers:
        async def reply(self, messages: list[dict[str, Any]]) -> Any:
            return 5

    task = AgentTask(id="u", messages=[{"role": "user", "content": "hi"}], env="store")
    with ScriptedServer(lambda body: Reply("ok")) as srv:
        backend = OpenAIBackend(srv.base_url, srv.model, api_key_env=None)
        with pytest.raises(EpisodeError) as err:
            asyncio.run(run_episode(backend, task, EnvToolbox("store"), Numbers()))
    assert err.value.code == "bad_user_reply"
