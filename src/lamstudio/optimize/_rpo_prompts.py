"""What the reflector and the optimizer read.

The reflector reads one trajectory (the conversation and the agent's calls, with the tool
results cut short) and the principles the agent was given. In Reward-RPO it is also told
the environment's reward; in Self-RPO it is not, and nothing it reads comes from the
episode's scoring: only the messages are rendered, never the record's ``meta`` (where the
reward, the state hashes and the tau2 verdict live), and the self-mode texts below never
name a reward or a score. The optimizer reads the current principles and the reflections
(Reward-RPO: each with its trajectory's reward) and answers with a JSON list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

REFLECTOR_SYSTEM = (
    "You are the reflector in Reflective Principle Optimization. An AI agent acted on a "
    "task (it called tools and talked to a user) while following a list of action "
    "principles. Read its trajectory and critique the principles: which of them helped, "
    "which were missing, vague or misleading, and which concrete rule (naming tools, the "
    "order of actions, what to check or say) would have made the agent act correctly. "
    "Answer in a few sentences of plain text.")
REWARD_NOTE = ("The environment scored this trajectory: reward {reward:g} (1 means the task "
               "was done correctly, 0 that it was not).")
SELF_NOTE = ("Judge for yourself whether the agent did what the user asked, completely and "
             "correctly, and whether it followed its instructions.")

OPTIMIZER_SYSTEM = (
    "You are the optimizer in Reflective Principle Optimization. You rewrite an AI agent's "
    "action principles from reflections on its recent trajectories: keep the principles "
    "that work, fix or drop those that misled it, and add what was missing. Write at most "
    "{max_principles} principles, each one short imperative sentence that holds for every "
    "task of this kind (not only the tasks you saw). Answer with a JSON list of strings "
    'only, e.g. ["Look up the order before you change it.", "Confirm the outcome to the '
    'user."]')


@dataclass
class Reflection:
    task_id: str
    text: str
    reward: float | None  # None in Self-RPO: the optimizer never sees one


def numbered(principles: Sequence[str]) -> str:
    return "\n".join(f"{i}. {p}" for i, p in enumerate(principles, 1)) or "(none yet)"


def render_trajectory(record: dict[str, Any], max_chars: int = 12000,
                      max_message_chars: int = 800) -> str:
    """The conversation as plain lines (messages only: never the record's meta)."""
    lines = []
    for m in record.get("messages") or []:
        role, text = m.get("role"), _cut(m.get("content") or "", max_message_chars)
        if role == "tool":
            lines.append(f"TOOL RESULT ({m.get('name', '')}): {text}")
            continue
        who = "USER" if role == "user" else "AGENT" if role == "assistant" else str(role)
        if text.strip():
            lines.append(f"{who}: {text}")
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function") or {}
            args = json.dumps(fn.get("arguments"), ensure_ascii=False)
            lines.append(f"AGENT CALLS {fn.get('name')}({_cut(args, max_message_chars)})")
    return _cut("\n".join(lines), max_chars)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else f"{text[:n]} … [{len(text) - n} more characters]"


def reflector_messages(principles: Sequence[str], task_id: str, trajectory: str,
                       reward: float | None) -> list[dict[str, str]]:
    """``reward`` is None in Self-RPO: then the prompt says nothing of one."""
    note = SELF_NOTE if reward is None else REWARD_NOTE.format(reward=reward)
    user = (f"Action principles the agent was given:\n{numbered(principles)}\n\n"
            f"Trajectory of task {task_id}:\n{trajectory}\n\n{note}\n\n"
            "Your critique of the principles:")
    return [{"role": "system", "content": REFLECTOR_SYSTEM}, {"role": "user", "content": user}]


def optimizer_messages(principles: Sequence[str], reflections: Sequence[Reflection],
                       max_principles: int) -> list[dict[str, str]]:
    parts = []
    for r in reflections:
        head = f"### Task {r.task_id}" + ("" if r.reward is None else f" (reward {r.reward:g})")
        parts.append(f"{head}\n{r.text.strip()}")
    user = (f"Current action principles:\n{numbered(principles)}\n\n"
            f"Reflections on recent trajectories:\n\n" + "\n\n".join(parts) +
            f"\n\nWrite the new list (at most {max_principles}) as a JSON list of strings.")
    return [{"role": "system",
             "content": OPTIMIZER_SYSTEM.format(max_principles=max_principles)},
            {"role": "user", "content": user}]
