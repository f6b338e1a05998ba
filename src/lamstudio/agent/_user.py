"""The other side of the conversation. When the agent answers without calls, the episode
asks its ``User`` for the next message; ``None`` ends the episode.

``ScriptedUser`` plays a task's follow-up turns in order. A simulated user (an LLM given a
scenario, as in tau-bench / APIGen-MT) implements the same one-method protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class User(Protocol):
    async def reply(self, messages: list[dict[str, Any]]) -> str | None:
        """The next user message given the conversation so far, or None to stop."""
        ...


class ScriptedUser:
    def __init__(self, turns: Sequence[str] = ()) -> None:
        self.turns = list(turns)
        self.said = 0

    async def reply(self, messages: list[dict[str, Any]]) -> str | None:
        if self.said >= len(self.turns):
            return None
        self.said += 1
        return self.turns[self.said - 1]
