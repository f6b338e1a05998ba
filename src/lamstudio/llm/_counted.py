"""A backend that counts the calls made through it: what a method spent, whoever called."""

from __future__ import annotations

from typing import Any


class Counted:
    """Wraps any ``ChatBackend``; ``calls`` counts the requests it sent (failed ones too),
    whatever explores, retries or memoizes above it."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.model, self.calls = backend, getattr(backend, "model", ""), 0

    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None, **params: Any) -> Any:
        self.calls += 1
        return await self.backend.complete(messages, tools, **params)
