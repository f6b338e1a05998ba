"""One tau2-style episode on ``lamstudio.agent``'s loop: the agent model acts on a
``lamstudio.envs`` environment (``EnvToolbox``), a simulated user (an LLM given a scenario)
is the loop's ``User``.

tau2's orchestration rules: the agent greets, the user speaks first, the agent may call
tools (several steps) before it answers, and the user ends the conversation with
``###STOP###`` (or ``###TRANSFER###`` / ``###OUT-OF-SCOPE###``). An episode that runs out of
user turns (``max_turns``) or agent steps (``max_steps``, all turns together) did not end by
the user's stop, which tau2 scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lamstudio.agent import read_text
from lamstudio.io import JsonValueError, parse_json
from lamstudio.tools import Call

if TYPE_CHECKING:
    from lamstudio.envs import EnvRunner

GREETING = "Hi! How can I help you today?"
STOP_TOKENS = ("###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###")
STOPS = ("user_stop", "max_turns", "max_steps", "agent_error", "user_error")


@dataclass
class Episode:
    messages: list[dict[str, Any]]  # the agent's view: assistant / user / tool (no system)
    stop: str  # one of STOPS
    runner: EnvRunner
    record: Any = None  # the agent loop's Trajectory
    failed_calls: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    user_replaced: int = 0  # lone surrogates in the simulated user's replies (now U+FFFD)


USER_STYLES = ("roles", "transcript")
TRANSCRIPT_ASK = "Write the customer's next message: only the message itself."


def check_user_style(style: str) -> str:
    """``style`` if it is one of ``USER_STYLES``; configs call it when they are made, so a
    wrong style stops a run before it starts instead of failing every episode."""
    if style not in USER_STYLES:
        raise ValueError(f"user style must be one of {', '.join(USER_STYLES)}, got {style!r}")
    return style


class SimulatedUser:
    """An LLM playing the customer from a scenario; ``lamstudio.agent``'s ``User``.

    ``style="roles"`` (tau2-bench's way, the default): it sees the conversation with roles
    flipped (the agent's words are its "user" turns). ``style="transcript"``: one user turn
    holding the conversation so far as ``Agent:`` / ``Customer:`` lines and the request for
    the customer's next message; small models that answer flipped roles *as the agent*
    (Qwen2.5-Coder 0.5B and 1.5B, docs/flywheel.md) speak as the customer this way. A
    leading ``Customer:`` label in the reply is dropped. Its stop token, its running out of
    turns, its backend failing or its reply not being text all end the episode (``reply``
    returns None) and say why in ``ended``."""

    def __init__(self, backend: Any, instructions: str, params: dict[str, Any] | None = None,
                 max_turns: int = 30, style: str = "roles") -> None:
        check_user_style(style)
        self.backend, self.instructions, self.params = backend, instructions, params or {}
        self.max_turns, self.turns, self.style = max_turns, 0, style
        self.ended, self.error, self.last = "", "", ""
        self.replaced = 0  # lone surrogates in its replies, replaced by U+FFFD

    async def reply(self, messages: list[dict[str, Any]]) -> str | None:
        if self.turns >= self.max_turns:
            self.ended = "max_turns"
            return None
        try:
            result = await self.backend.complete(self.prompt(messages), None, **self.params)
        except Exception as exc:  # noqa: BLE001 - the episode records why it ended
            self.ended, self.error = "user_error", f"{type(exc).__name__}: {exc}"
            return None
        self.turns += 1
        # The simulator's reply comes in the way the agent's does: lone surrogates become
        # U+FFFD (counted), content that is not text ends the episode as the user's fault.
        text, replaced, problem = read_text(result.content)
        self.replaced += replaced + getattr(result, "replaced_surrogates", 0)
        if problem:
            self.ended, self.error = "user_error", problem
            return None
        self.last = (text or "").strip()
        if self.style == "transcript" and self.last.lower().startswith("customer:"):
            self.last = self.last[len("customer:"):].strip()
        if any(tok in self.last for tok in STOP_TOKENS):
            self.ended = "user_stop"
            return None
        return self.last

    def prompt(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What the simulator's model is sent: the agent's text turns and its own, in
        ``style``; tool calls and results are the agent's business and never shown."""
        said = [("Agent" if m["role"] == "assistant" else "Customer", m["content"])
                for m in messages
                if m["role"] == "user" or (m["role"] == "assistant" and m.get("content"))]
        system = {"role": "system", "content": self.instructions}
        if self.style == "transcript":
            # Continuation lines are indented: only a real turn starts a line with a label, so
            # an agent cannot forge the customer's words ("...\nCustomer: ###STOP###").
            lines = "\n\n".join(f"{who}: {str(text).replace(chr(10), chr(10) + '  ')}"
                                  for who, text in said)
            return [system, {"role": "user", "content":
                             f"The conversation so far:\n\n{lines}\n\n{TRANSCRIPT_ASK}"}]
        return [system, *({"role": "user" if who == "Agent" else "assistant", "content": text}
                          for who, text in said)]


def _failed_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Calls whose result is the loop's ``{"error", "error_code"}``, with their arguments."""
    calls = {tc["id"]: tc["function"] for m in messages for tc in m.get("tool_calls") or []}
    out = []
    for m in messages:
        if m["role"] != "tool":
            continue
        try:
            body = parse_json(m.get("content") or "")
        except JsonValueError:
            continue
        if isinstance(body, dict) and "error_code" in body:
            fn = calls.get(m.get("tool_call_id"), {})
            out.append({"name": fn.get("name", ""), "arguments": fn.get("arguments", {}),
                        "error": body.get("error", ""), "code": body["error_code"]})
    return out


async def run_episode(agent: Any, user: SimulatedUser, env_name: str,
                      ground_truth: list[dict[str, Any]] | None = None, *,
                      task_id: str = "episode", max_steps: int = 40,
                      agent_params: dict[str, Any] | None = None, source: str = "tau2",
                      principles: tuple[str, ...] = (),
                      reflections: tuple[str, ...] = ()) -> Episode:
    """Play one conversation: ``agent`` (a ``lamstudio.llm.ChatBackend``) against
    ``env_name`` with ``user`` as the customer. ``ground_truth`` (``{"name",
    "arguments"}`` calls) puts the loop's database reward in the record's meta.
    ``principles`` (PRAct) go after the domain's policy in the agent's system prompt, then
    ``reflections`` on earlier failed trials (``lamstudio.optimize``)."""
    from lamstudio.agent import AgentConfig, AgentTask, EnvToolbox
    from lamstudio.agent import run_episode as agent_episode
    from lamstudio.envs import system_prompt

    truth = [[Call(c["name"], c.get("arguments") or {}) for c in ground_truth]] \
        if ground_truth is not None else None
    toolbox = EnvToolbox(env_name, None, truth)
    greeting = {"role": "assistant", "content": GREETING}
    first = await user.reply([greeting])
    if first is None:  # the user stopped (or failed) before saying anything
        msgs = [greeting] + ([{"role": "user", "content": user.last}] if user.last else [])
        return Episode(msgs, user.ended, toolbox.runner, error=user.error,
                       user_replaced=user.replaced)
    task = AgentTask(task_id, [greeting, {"role": "user", "content": first}],
                     system=system_prompt(toolbox.runner.env), env=env_name)
    config = AgentConfig(max_steps=max_steps, source=source,
                         params=agent_params or {"temperature": 0.0},
                         principles=tuple(principles), reflections=tuple(reflections))
    record = await agent_episode(agent, task, toolbox, user, config)
    messages = [m.model_dump(mode="json", exclude_none=True) for m in record.messages]
    loop_stop = record.meta["agent"]["stop"]
    if loop_stop == "model_error":
        stop, error = "agent_error", record.meta["agent"].get("error", "")
    elif loop_stop == "step_limit":
        stop, error = "max_steps", ""
    else:
        stop, error = user.ended or "user_stop", user.error
    if stop == "user_stop" and user.last:
        messages.append({"role": "user", "content": user.last})  # the stop, as tau2 keeps it
    return Episode(messages, stop, toolbox.runner, record, _failed_calls(messages), error,
                   user.replaced)
