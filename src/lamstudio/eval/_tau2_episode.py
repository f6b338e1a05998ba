"""One tau2-style episode: an agent model and a simulated user talk; the agent's tool calls
run against a ``lamstudio.envs`` environment.

Kept in one small module so it can later run on ``lamstudio.agent``'s loop (the user
simulator implements the same ``reply``); the rules follow tau2's orchestrator: the agent
greets, the user speaks, the agent may call tools (several steps) before it answers, the
user ends the conversation with ``###STOP###`` (or ``###TRANSFER###`` /
``###OUT-OF-SCOPE###``), and an episode that runs out of turns ends as ``max_turns``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lamstudio.eval._verdict import Call

if TYPE_CHECKING:
    from lamstudio.envs import EnvRunner

GREETING = "Hi! How can I help you today?"
STOP_TOKENS = ("###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###")
ERROR_PREFIX = "Error during execution: "


@dataclass
class Episode:
    messages: list[dict[str, Any]]  # the agent's view: user / assistant / tool (no system)
    stop: str  # "user_stop" | "max_turns" | "agent_error" | "user_error"
    runner: EnvRunner
    failed_calls: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


class SimulatedUser:
    """An LLM playing the customer from a task's user scenario. It sees the conversation
    with roles flipped (the agent's words are its "user" turns)."""

    def __init__(self, backend: Any, instructions: str, params: dict[str, Any] | None = None
                 ) -> None:
        self.backend, self.instructions, self.params = backend, instructions, params or {}

    async def reply(self, messages: list[dict[str, Any]]) -> str:
        flipped = [{"role": "system", "content": self.instructions}]
        for m in messages:
            if m["role"] == "assistant" and m.get("content"):
                flipped.append({"role": "user", "content": m["content"]})
            elif m["role"] == "user":
                flipped.append({"role": "assistant", "content": m["content"]})
        result = await self.backend.complete(flipped, None, **self.params)
        return (result.content or "").strip()


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return raw  # kept as given: the environment refuses it, the report shows it
    return raw


def _run_calls(runner: EnvRunner, calls: list[dict[str, Any]],
               messages: list[dict[str, Any]], failed: list[dict[str, Any]], step: int) -> None:
    for i, tc in enumerate(calls):
        fn = tc.get("function", tc)
        name, args = fn.get("name", ""), _arguments(fn.get("arguments"))
        call_id = tc.get("id") or f"call_{step}_{i}"
        out = runner.run(Call(name, args))
        if out.startswith(ERROR_PREFIX):
            failed.append({"name": name, "arguments": args, "error": out[len(ERROR_PREFIX):]})
        messages.append({"role": "tool", "tool_call_id": call_id, "name": name,
                         "content": out})


async def run_episode(agent: Any, user: Any, runner: EnvRunner, *, max_turns: int = 30,
                      max_steps: int = 10, agent_params: dict[str, Any] | None = None
                      ) -> Episode:
    """Play one conversation. ``agent``: a ``lamstudio.llm.ChatBackend``; ``user``: anything
    with ``async reply(messages) -> str``; ``max_turns`` user turns at most; ``max_steps``
    agent completions per user turn (tool calls included)."""
    import lamstudio.envs as envs  # envs imports eval: bind at call time
    system, tools = envs.system_prompt(runner.env), envs.tool_specs(runner.env)
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": GREETING}]
    failed: list[dict[str, Any]] = []
    step = 0
    for _ in range(max_turns):
        try:
            said = await user.reply(messages)
        except Exception as exc:  # noqa: BLE001 - the episode records why it ended
            return Episode(messages, "user_error", runner, failed, str(exc))
        messages.append({"role": "user", "content": said})
        if any(tok in said for tok in STOP_TOKENS):
            return Episode(messages, "user_stop", runner, failed)
        for _ in range(max_steps):
            step += 1
            prompt = ([{"role": "system", "content": system}] if system else []) + messages
            try:
                result = await agent.complete(prompt, tools, **(agent_params or {}))
            except Exception as exc:  # noqa: BLE001
                return Episode(messages, "agent_error", runner, failed, str(exc))
            msg: dict[str, Any] = {"role": "assistant", "content": result.content}
            if result.tool_calls:
                msg["tool_calls"] = [
                    {"id": tc.get("id") or f"call_{step}_{i}", "type": "function",
                     "function": {"name": tc.get("function", tc).get("name", ""),
                                  "arguments": _arguments(tc.get("function", tc)
                                                          .get("arguments"))}}
                    for i, tc in enumerate(result.tool_calls)]
                messages.append(msg)
                _run_calls(runner, msg["tool_calls"], messages, failed, step)
                continue
            messages.append(msg)
            break
    return Episode(messages, "max_turns", runner, failed)
