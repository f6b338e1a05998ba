"""An OpenAI-compatible chat client (``POST {base_url}/chat/completions``) on httpx.

Faults are sorted in two: transient ones (timeouts, connection errors, 408/409/425/429/5xx,
a 200 whose body is not a chat completion) are retried with exponential backoff and jitter,
honouring ``Retry-After``, then raise ``LLMUnavailable``; every other answer (401/403: the
key; 404: the URL or model; other 4xx: the request) raises ``LLMError`` at once, with what to
fix. Neither is ever an answer: callers stop rather than record it. ``timeout_s`` is a
deadline for the whole request (httpx's own timeout is per read, which a server dripping a
byte at a time never trips). Concurrent requests are capped; responses are cached on disk.
The API key is read from an environment variable whose *name* is configurable; the key
(and any ``Bearer`` token a server echoes) is redacted from every error and log text, never
part of ``repr`` and never written to the cache.

Bodies are decoded through ``lamstudio.io.parse_json`` and never crash the client: a lone
surrogate escape in a reply becomes U+FFFD (no writer could keep it), values a record
refuses (NaN, huge integers) are handed to the caller to reject per item, and a body nested
past Python's recursion limit is a garbage 200. Requests go out ASCII-escaped.

The retry loop is hand-written (~30 lines) on purpose. ``tenacity`` would need a retry
object plus two callbacks (a wait that digs ``Retry-After`` out of the failed attempt's
exception, a before-sleep hook for the stats and the log) and a ``RetryError`` to unwrap:
no shorter, less direct, one more dependency. The ``openai`` SDK's own retries do not retry
a garbage 200 body, and its timeout is per read too, so it would not remove this code.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import time
from functools import lru_cache
from typing import Any

import httpx

from lamstudio.io import JsonValueError, parse_json
from lamstudio.llm._cache import ResponseCache, request_key
from lamstudio.llm._redact import redact
from lamstudio.llm._types import ChatResult, LLMError, LLMUnavailable

log = logging.getLogger("lamstudio.llm")

_JSON_HEADERS = {"Content-Type": "application/json"}
_REPLACED = "lamstudio_replaced_surrogates"
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class _Transient(Exception):
    """One attempt failed in a way that retrying may fix."""

    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.retry_after = retry_after


@lru_cache(maxsize=1)
def _ssl_context() -> Any:
    # Loading the CA bundle costs ~0.1 s; a client is made per event loop, so share it.
    return httpx.create_ssl_context()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def result_from_body(body: dict[str, Any], cached: bool = False) -> ChatResult:
    """A ``ChatResult`` from a chat-completions response body."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise LLMError("response is not a chat completion (no choices[0].message)") from None
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):  # one malformed entry for the caller to refuse, not
        calls = [calls]              # a dict's keys or a string's characters as calls
    return ChatResult(content=message.get("content"),
                      tool_calls=calls,
                      finish_reason=choice.get("finish_reason"),
                      model=str(body.get("model", "")), usage=dict(body.get("usage") or {}),
                      cached=cached, raw=body,
                      replaced_surrogates=int(body.get(_REPLACED, 0) or 0))


class OpenAIBackend:
    """``ChatBackend`` for any server that speaks ``/v1/chat/completions``."""

    def __init__(self, base_url: str, model: str, *, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout_s: float = 60.0, max_retries: int = 4, concurrency: int = 8,
                 cache_dir: str | os.PathLike[str] | None = None, backoff_s: float = 0.5,
                 max_backoff_s: float = 20.0, max_retry_after_s: float = 60.0,
                 default_params: dict[str, Any] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self._api_key = os.environ.get(api_key_env) if api_key_env else None
        self.timeout_s, self.max_retries, self.concurrency = timeout_s, max_retries, concurrency
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.default_params = dict(default_params or {})
        self.cache = ResponseCache(cache_dir) if cache_dir else None
        self.stats = {"requests": 0, "retries": 0, "cache_hits": 0}
        # httpx clients and semaphores belong to one event loop; made lazily per loop.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._sem: asyncio.Semaphore | None = None

    def __repr__(self) -> str:  # never shows the key
        return (f"OpenAIBackend(base_url={self.base_url!r}, model={self.model!r}, "
                f"api_key_env={self.api_key_env!r})")

    def _bind(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._client is None or self._sem is None:
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            self._client = httpx.AsyncClient(headers=headers, timeout=self.timeout_s,
                                             verify=_ssl_context())
            self._sem = asyncio.Semaphore(self.concurrency)
            self._loop = loop
        return self._client, self._sem

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client, self._sem, self._loop = None, None, None

    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None,
                       **params: Any) -> ChatResult:
        params = {**self.default_params, **params}
        key = request_key(self.model, messages, tools, params)
        if self.cache is not None and (body := self.cache.get(key)) is not None:
            self.stats["cache_hits"] += 1
            return result_from_body(body, cached=True)
        payload: dict[str, Any] = {"model": self.model, "messages": messages, **params}
        if tools:
            payload["tools"] = tools
        body = await self._post_with_retries(payload)
        if self.cache is not None:
            self.cache.put(key, body)
        return result_from_body(body)

    async def _post_with_retries(self, payload: dict[str, Any]) -> dict[str, Any]:
        client, sem = self._bind()
        url = f"{self.base_url}/chat/completions"
        async with sem:
            for attempt in range(self.max_retries + 1):
                self.stats["requests"] += 1
                try:
                    return await self._attempt(client, url, payload)
                except _Transient as exc:
                    why, wait = str(exc), exc.retry_after
                if attempt == self.max_retries:
                    raise LLMUnavailable(f"{url}: gave up after {attempt + 1} attempts; "
                                         f"last error: {why}")
                delay = self._delay(attempt, wait)
                self.stats["retries"] += 1
                log.info("retrying %s in %.2f s (%s)", url, delay, why)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _attempt(self, client: httpx.AsyncClient, url: str,
                       payload: dict[str, Any]) -> dict[str, Any]:
        """One POST under the deadline: a chat-completion body, ``_Transient`` or LLMError."""
        try:
            async with asyncio.timeout(self.timeout_s):
                # ASCII escapes: a lone surrogate that came in with a tool result or a
                # task is sent as \udxxx (the server decides) instead of crashing here.
                resp = await client.post(url, content=json.dumps(payload).encode("ascii"),
                                         headers=_JSON_HEADERS)
        except (TimeoutError, httpx.TimeoutException):
            raise _Transient(f"timed out after {self.timeout_s:g} s") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection error ({type(exc).__name__})") from None
        status = resp.status_code
        if status == 200:
            try:
                body = _json_body(resp, self._api_key)
                result_from_body(body)  # a proxy's error page is not an answer: retry
            except LLMError as exc:
                raise _Transient(str(exc)) from None
            return body
        why = f"HTTP {status}: {_snippet(resp, self._api_key)}"
        if status in _RETRY_STATUS:
            raise _Transient(why, parse_retry_after(resp.headers.get("retry-after")))
        raise LLMError(f"{url} answered {why}{self._hint(status)}", status)

    def _hint(self, status: int) -> str:
        if status in (401, 403):
            env = self.api_key_env
            if not env:
                return " (authentication failed: no API key was sent, api_key_env is None)"
            state = "was refused" if self._api_key else "is not set"
            return f" (authentication failed: the API key in ${env} {state})"
        if status == 404:
            return " (check the URL and the model name)"
        return ""

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        # Exponential backoff with "equal jitter": half fixed, half random, so clients
        # that failed together do not retry together.
        cap = min(self.max_backoff_s, self.backoff_s * 2**attempt)
        return cap / 2 + random.uniform(0, cap / 2)


def _json_body(resp: httpx.Response, key: str | None) -> dict[str, Any]:
    """The body, decoded without ever crashing the client. A lone surrogate escape in a
    string (which no UTF-8 writer can keep) becomes U+FFFD here, as any UTF-8 decoder
    replaces a bad sequence; NaN, huge integers and deep values are kept for the caller,
    whose records refuse them per item (``io.check_value``); only a body that is not JSON,
    or nested past Python's recursion limit, is no answer."""
    try:
        body = parse_json(resp.content)
    except JsonValueError as exc:
        if exc.code == "bad_json":
            raise LLMError(f"response body is not JSON: {_snippet(resp, key)}",
                           resp.status_code) from None
        body = _lenient(resp, key, exc)
    if not isinstance(body, dict):
        raise LLMError("response body is not a JSON object", resp.status_code)
    return body


def _lenient(resp: httpx.Response, key: str | None, why: JsonValueError) -> Any:
    try:
        body = json.loads(resp.content)
        if why.code != "bad_encoding" or not isinstance(body, dict):
            return body
        count = [0]
        fixed = _replace_surrogates(body, count)
        fixed[_REPLACED] = count[0]  # kept with the body: a cached reply says it too
        return fixed
    except (RecursionError, ValueError):
        raise LLMError(f"response body cannot be read ({why.message}): "
                       f"{_snippet(resp, key)}", resp.status_code) from None


def _replace_surrogates(value: Any, count: list[int]) -> Any:
    if isinstance(value, str):
        fixed = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        count[0] += fixed.count("\ufffd") - value.count("\ufffd")
        return fixed
    if isinstance(value, list):
        return [_replace_surrogates(v, count) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k, count): _replace_surrogates(v, count)
                for k, v in value.items()}
    return value


def _snippet(resp: httpx.Response, key: str | None, limit: int = 200) -> str:
    """The start of the body, the key and any bearer token redacted *before* cutting (a cut
    key would not be recognised)."""
    text = redact(resp.text.strip().replace("\n", " "), key)
    return text[:limit] + ("..." if len(text) > limit else "")
