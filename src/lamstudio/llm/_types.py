"""The generation-backend protocol every stage talks to (verify's judge, synth, eval).

A backend turns chat messages (+ optional tool specs) into one ``ChatResult``. ``complete``
is a coroutine so callers can run many requests at once; a backend that is synchronous at
heart (a local transformers model) implements it with ``asyncio.to_thread``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class ChatResult:
    """One completion. ``tool_calls`` keep the OpenAI shape with ``arguments`` as given."""

    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    model: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    # Lone surrogates (no UTF-8 writer can keep them) the client replaced by U+FFFD.
    replaced_surrogates: int = 0


@runtime_checkable
class ChatBackend(Protocol):
    """What a generation backend provides. ``params`` are sampling parameters
    (``temperature``, ``max_tokens``, ``seed``, ...) passed through to the model."""

    model: str

    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None,
                       **params: Any) -> ChatResult: ...


class LLMError(Exception):
    """A fault that retrying will not fix: the key was refused (401/403), the URL or model
    is wrong (404), the request was refused (other 4xx). Never an answer: callers stop and
    say what to fix. Messages never contain the API key (see ``redact``)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMUnavailable(LLMError):
    """The backend kept failing (timeouts, 429, 5xx, connection errors, 200s that are not
    chat completions) after all retries."""
