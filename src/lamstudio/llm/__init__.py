"""Generation backends: one small protocol (``ChatBackend.complete``), an
OpenAI-compatible HTTP client with retries, a deadline per request, concurrency limits, an
on-disk cache and keys kept out of every error text, and two local engines with the same
cache and results: transformers (``LocalBackend``, fp32, any HF model) and llama.cpp
(``LlamaCppBackend``, a GGUF on the CPU; ``LlamaCppModel`` is its engine, shared with eval
and serve). ``local_backend(model, engine)`` picks one by name. (The scripted
OpenAI-compatible server that tests use lives in ``tests/support/scripted_server.py``.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from lamstudio.llm._cache import ResponseCache, request_key
from lamstudio.llm._counted import Counted
from lamstudio.llm._engines import LOCAL_ENGINES, engine_name, local_backend
from lamstudio.llm._gguf import GgufModel, find_gguf, vocab_problem
from lamstudio.llm._llamacpp import (
    LlamaCppModel,
    Sampling,
    default_threads,
    llama_cpp_available,
    require_llama_cpp,
)
from lamstudio.llm._llamacpp_backend import LlamaCppBackend
from lamstudio.llm._local import LocalBackend, resolve_local_model
from lamstudio.llm._openai import OpenAIBackend, parse_retry_after, result_from_body
from lamstudio.llm._redact import redact
from lamstudio.llm._types import ChatBackend, ChatResult, LLMError, LLMUnavailable

T = TypeVar("T")


def complete_sync(backend: ChatBackend, messages: list[dict[str, Any]],
                  tools: list[dict[str, Any]] | None = None, **params: Any) -> ChatResult:
    """One blocking completion (for scripts and REPLs; stages should batch)."""
    async def one() -> ChatResult:
        try:
            return await backend.complete(messages, tools, **params)
        finally:
            if hasattr(backend, "aclose"):
                await backend.aclose()

    return asyncio.run(one())


async def complete_many(backend: ChatBackend,
                        requests: Sequence[dict[str, Any]]) -> list[ChatResult | Exception]:
    """Run many requests at once (the backend caps concurrency); each request is a dict
    with ``messages`` and optional ``tools`` and ``params``. Failures are returned in place,
    so one bad request does not lose the others' answers."""
    async def one(req: dict[str, Any]) -> ChatResult:
        return await backend.complete(req["messages"], req.get("tools"),
                                      **req.get("params", {}))

    return list(await asyncio.gather(*(one(r) for r in requests), return_exceptions=True))


async def gather_or_cancel(coros: Sequence[Awaitable[T]]) -> list[T]:
    """``gather`` that cancels the siblings when one fails: a fault (auth, a dead endpoint)
    stops the chunk instead of letting its other requests run on."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


__all__ = [
    "LOCAL_ENGINES", "ChatBackend", "ChatResult", "Counted", "GgufModel", "LLMError",
    "LLMUnavailable", "LlamaCppBackend", "LlamaCppModel", "LocalBackend", "OpenAIBackend",
    "ResponseCache",
    "Sampling", "complete_many", "complete_sync", "default_threads", "engine_name",
    "find_gguf", "gather_or_cancel", "llama_cpp_available", "local_backend",
    "parse_retry_after", "redact", "request_key", "require_llama_cpp", "resolve_local_model",
    "result_from_body", "vocab_problem",
]
