"""A real model (nano Llama built here, random weights) behind the API: generation,
streaming, sampling, limits and batching of concurrent clients."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from serve_helpers import WEATHER, client, reassemble

USER = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_plain_chat_generates_and_counts_tokens(tiny_server):
    r = client(tiny_server).chat.completions.create(model="tiny", messages=USER, max_tokens=8,
                                                    temperature=0)
    choice = r.choices[0]
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    assert r.usage.completion_tokens <= 8 and r.usage.prompt_tokens > 5
    assert r.model == "tiny" and r.object == "chat.completion"


def test_max_tokens_ends_with_length(tiny_server):
    # max_completion_tokens (the newer name) is honoured like max_tokens.
    r = client(tiny_server).chat.completions.create(model="tiny", messages=USER,
                                                    max_completion_tokens=3, temperature=0)
    if r.choices[0].finish_reason == "length":
        assert r.usage.completion_tokens == 3
    else:  # the random model ended its turn first
        assert r.usage.completion_tokens <= 3


def test_greedy_stream_reassembled_equals_the_completion(tiny_server):
    c = client(tiny_server)
    kw = dict(model="tiny", messages=USER, tools=[WEATHER], max_tokens=12, temperature=0)
    whole = c.chat.completions.create(**kw).choices[0]
    got = reassemble(c.chat.completions.create(stream=True, **kw))
    assert got["content"] == (whole.message.content or "")
    assert [(x["name"], x["arguments"]) for x in got["calls"]] == \
        [(t.function.name, t.function.arguments) for t in whole.message.tool_calls or []]
    assert got["finish_reason"] == whole.finish_reason


def test_same_seed_same_sample(tiny_server):
    c = client(tiny_server)
    kw = dict(model="tiny", messages=USER, max_tokens=10, temperature=1.0, top_p=0.9)
    a = c.chat.completions.create(seed=7, **kw).choices[0].message.content
    b = c.chat.completions.create(seed=7, **kw).choices[0].message.content
    assert a == b


def test_stop_strings_cut_the_output(tiny_server):
    c = client(tiny_server)
    kw = dict(model="tiny", messages=USER, max_tokens=12, temperature=0)
    text = c.chat.completions.create(**kw).choices[0].message.content or ""
    assert len(text) > 4  # the random model rambles: something to cut
    stop = text[2:4]
    cut = c.chat.completions.create(stop=[stop], **kw).choices[0]
    assert cut.message.content == text[:text.find(stop)].strip()
    assert cut.finish_reason == "stop"


def test_32_concurrent_clients_all_answered_and_batched(tiny_server):
    health = tiny_server.base_url.replace("/v1", "/health")
    before = httpx.get(health).json()
    c = client(tiny_server)

    def ask(k: int):
        stream = k % 4 == 0  # some streaming, some not
        kw = dict(model="tiny", messages=[{"role": "user", "content": f"weather {k}"}],
                  max_tokens=6, temperature=0)
        if stream:
            return reassemble(c.chat.completions.create(stream=True, **kw))["finish_reason"]
        return c.chat.completions.create(**kw).choices[0].finish_reason

    t0 = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        finishes = list(pool.map(ask, range(32)))
    assert len(finishes) == 32 and all(f in ("stop", "length", "tool_calls") for f in finishes)
    after = httpx.get(health).json()
    assert after["requests"] - before["requests"] == 32  # none lost, none doubled
    assert after["largest_batch"] > 1  # requests shared generate calls
    assert after["batches"] - before["batches"] < 32
    assert time.monotonic() - t0 < 300
