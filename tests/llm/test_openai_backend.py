"""The OpenAI-compatible client against a real scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx
import pytest
from tests.support.scripted_server import Drip, Fail, Raw, Reply, ScriptedServer

from lamstudio.llm import (
    LLMError,
    LLMUnavailable,
    OpenAIBackend,
    complete_many,
    complete_sync,
    parse_retry_after,
    redact,
    request_key,
)

MSGS = [{"role": "user", "content": "hi"}]


def backend(srv: ScriptedServer, **kw) -> OpenAIBackend:
    kw.setdefault("api_key_env", None)
    kw.setdefault("backoff_s", 0.01)
    return OpenAIBackend(srv.base_url, srv.model, **kw)


def test_fixed_reply_and_request_shape():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    with ScriptedServer([Reply("hello")]) as srv:
        res = complete_sync(backend(srv), MSGS, tools, temperature=0.0)
    assert res.content == "hello" and res.finish_reason == "stop" and not res.cached
    sent = srv.requests[0]
    assert sent["model"] == "scripted-model" and sent["messages"] == MSGS
    assert sent["tools"] == tools and sent["temperature"] == 0.0


def test_tool_calls_come_back_in_openai_shape():
    with ScriptedServer([Reply(tool_calls=[{"name": "add", "arguments": {"a": 1}}])]) as srv:
        res = complete_sync(backend(srv), MSGS)
    call = res.tool_calls[0]
    assert call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 1}
    assert res.finish_reason == "tool_calls"


def test_429_honours_retry_after():
    with ScriptedServer([Fail(429, retry_after=0.4), Reply("ok")]) as srv:
        b = backend(srv)
        t0 = time.perf_counter()
        res = complete_sync(b, MSGS)
        waited = time.perf_counter() - t0
    assert res.content == "ok" and len(srv.requests) == 2
    assert waited >= 0.4, "the client must wait as long as Retry-After says"
    assert b.stats["retries"] == 1


def test_5xx_is_retried_then_gives_up():
    with ScriptedServer([Fail(500), Fail(503), Reply("ok")]) as srv:
        assert complete_sync(backend(srv, max_retries=2), MSGS).content == "ok"
    with ScriptedServer([Fail(500)] * 3) as srv, pytest.raises(LLMUnavailable, match="500"):
        complete_sync(backend(srv, max_retries=2), MSGS)
    assert len(srv.requests) == 3


def test_client_timeout_is_retried():
    with ScriptedServer([Reply("late", delay_s=1.5), Reply("on time")]) as srv:
        res = complete_sync(backend(srv, timeout_s=0.3, max_retries=1), MSGS)
    assert res.content == "on time"
    with ScriptedServer([Reply("late", delay_s=1.0)] * 2) as srv:
        with pytest.raises(LLMUnavailable, match="timed out"):
            complete_sync(backend(srv, timeout_s=0.2, max_retries=1), MSGS)


def test_the_timeout_is_a_deadline_for_the_whole_request():
    # Every byte comes quickly (within any per-read timeout); the whole answer does not.
    with ScriptedServer([Drip(Reply("slow"), interval_s=0.05)]) as srv:
        t0 = time.perf_counter()
        with pytest.raises(LLMUnavailable, match="timed out"):
            complete_sync(backend(srv, timeout_s=0.5, max_retries=0), MSGS)
        assert time.perf_counter() - t0 < 2.5
    # a trickle that ends within the deadline is not cut
    with ScriptedServer([Drip(Reply("quick"), interval_s=0.001)]) as srv:
        assert complete_sync(backend(srv, timeout_s=10), MSGS).content == "quick"


def test_a_garbage_200_is_retried_like_a_5xx():
    script = [Raw("<html>502 bad gateway</html>"), Raw('{"no": "choices"}'), Reply("ok")]
    with ScriptedServer(script) as srv:
        assert complete_sync(backend(srv, max_retries=2), MSGS).content == "ok"
    assert len(srv.requests) == 3
    with ScriptedServer([Raw("{not json")] * 2) as srv:
        with pytest.raises(LLMUnavailable, match="not JSON"):
            complete_sync(backend(srv, max_retries=1), MSGS)


def test_auth_and_request_faults_fail_at_once_and_say_what_to_fix(monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "sk-wrong")
    with ScriptedServer([Reply("never")], api_key="sk-right") as srv:
        with pytest.raises(LLMError, match=r"HTTP 401.*\$JUDGE_KEY") as info:
            complete_sync(backend(srv, api_key_env="JUDGE_KEY"), MSGS)
    assert not isinstance(info.value, LLMUnavailable) and len(srv.requests) == 1
    with ScriptedServer([Reply("never")], api_key="sk-right") as srv:
        with pytest.raises(LLMError, match=r"HTTP 401.*\$UNSET_KEY_VAR is not set"):
            complete_sync(backend(srv, api_key_env="UNSET_KEY_VAR"), MSGS)
    with ScriptedServer([Fail(404, "model not found")]) as srv:
        with pytest.raises(LLMError, match="HTTP 404.*URL and the model"):
            complete_sync(backend(srv), MSGS)
    with ScriptedServer([Fail(400, "bad request")]) as srv:
        with pytest.raises(LLMError, match="400") as info:
            complete_sync(backend(srv), MSGS)
    assert not isinstance(info.value, LLMUnavailable) and len(srv.requests) == 1
    with ScriptedServer([]) as srv, pytest.raises(LLMError, match="exhausted"):
        complete_sync(backend(srv), MSGS)


SECRET = "sk-live-4f9Qz/SECRET"


def test_keys_echoed_by_the_server_never_reach_errors_or_logs(monkeypatch, caplog):
    monkeypatch.setenv("JUDGE_KEY", SECRET)
    caplog.set_level(logging.INFO, logger="lamstudio.llm")
    with ScriptedServer([], api_key="sk-other") as srv:  # its 401 echoes our header
        with pytest.raises(LLMError) as auth:
            complete_sync(backend(srv, api_key_env="JUDGE_KEY"), MSGS)
    assert srv.headers[0]["Authorization"] == f"Bearer {SECRET}", "the server saw the key"
    down_script = [Fail(500, f"upstream said: key {SECRET} / Bearer tok.en-9", echo_headers=True),
                   Raw(f'{{"auth": "{json.dumps(SECRET)[1:-1]}"}}')]
    with ScriptedServer(down_script) as srv:
        with pytest.raises(LLMUnavailable) as down:
            complete_sync(backend(srv, api_key_env="JUDGE_KEY", max_retries=1), MSGS)
    assert "retrying" in caplog.text
    for text in (str(auth.value), str(down.value), caplog.text):
        assert "SECRET" not in text and "tok.en-9" not in text and "4f9Qz" not in text
    assert "Bearer ***" in str(auth.value)


def test_redact():
    text = 'key sk-1/x, json "sk-1\\/x", header Authorization: Bearer abc.DEF-1; bearer%20zz'
    assert redact(text, "sk-1/x", None) == \
        'key ***, json "***", header Authorization: Bearer ***; bearer%20***'


def test_cache_hits_skip_the_server_and_never_store_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-secret-123")
    with ScriptedServer([Reply("one"), Reply("two")]) as srv:
        b = backend(srv, api_key_env="MY_JUDGE_KEY", cache_dir=tmp_path)
        first = complete_sync(b, MSGS, temperature=0)
        again = complete_sync(b, MSGS, temperature=0)
        other = complete_sync(b, MSGS, temperature=1)
    assert (first.content, again.content, other.content) == ("one", "one", "two")
    assert again.cached and len(srv.requests) == 2
    assert srv.headers[0]["Authorization"] == "Bearer sk-secret-123"
    stored = "".join(p.read_text() for p in tmp_path.rglob("*.json"))
    assert "sk-secret" not in stored and "sk-secret" not in repr(b)


def test_request_key_ignores_key_order_but_not_content():
    a = request_key("m", [{"role": "user", "content": "x"}], None, {"t": 0, "s": 1})
    b = request_key("m", [{"content": "x", "role": "user"}], None, {"s": 1, "t": 0})
    c = request_key("m", [{"role": "user", "content": "y"}], None, {"t": 0, "s": 1})
    assert a == b != c


def test_concurrency_is_capped():
    inflight, peak = 0, 0

    def script(body):
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        time.sleep(0.1)
        inflight -= 1
        return Reply("ok")

    with ScriptedServer(script) as srv:
        b = backend(srv, concurrency=3)
        reqs = [{"messages": [{"role": "user", "content": str(i)}]} for i in range(9)]
        results = asyncio.run(complete_many(b, reqs))
    assert all(r.content == "ok" for r in results)
    assert peak == 3


def test_models_route():
    with ScriptedServer([], model="judge-7b") as srv:
        data = httpx.get(f"{srv.base_url}/models").json()
    assert data["data"][0]["id"] == "judge-7b"


def test_retry_after_parses_seconds_and_dates():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
