"""The API through the official ``openai`` client against a real server on 127.0.0.1.

Tool-call behaviour is pinned with ``ScriptedEngine`` (a real engine whose replies are
given: rendering, forced prefixes, parsing, streaming, batching and HTTP are the real
ones); plain chat, streaming, batching and limits also run on a tiny model built here.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from serve_helpers import TIME, WEATHER, client, reassemble

from lamstudio.serve import ScriptedEngine

USER = [{"role": "user", "content": "What is the weather in Paris?"}]
ONE_CALL = '[TOOL_CALLS][{"name":"get_weather","arguments":{"city":"Paris"}}]'
TWO_CALLS = ('Checking both.[TOOL_CALLS][{"name":"get_weather","arguments":{"city":"Paris"}},'
             '{"name":"get_time","arguments":{"city":"Oslo"}}]')


@pytest.fixture
def scripted(tiny_model, start_server):
    """``scripted(replies, **config)`` -> (server, engine)."""
    def make(replies, **config):
        engine = ScriptedEngine(str(tiny_model), replies, model_id="scripted")
        return start_server(engine, **config), engine
    return make


def test_models_lists_the_served_model(scripted):
    srv, _ = scripted(["hi"])
    assert [m.id for m in client(srv).models.list().data] == ["scripted"]


def test_one_tool_call(scripted):
    srv, _ = scripted([ONE_CALL])
    r = client(srv).chat.completions.create(model="scripted", messages=USER, tools=[WEATHER])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_parallel_calls_and_content(scripted):
    srv, _ = scripted([TWO_CALLS])
    r = client(srv).chat.completions.create(model="scripted", messages=USER,
                                            tools=[WEATHER, TIME])
    msg = r.choices[0].message
    assert msg.content == "Checking both."
    assert [(c.function.name, json.loads(c.function.arguments)) for c in msg.tool_calls] == \
        [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Oslo"})]
    assert len({c.id for c in msg.tool_calls}) == 2


def test_multi_turn_with_tool_results_renders_the_whole_conversation(scripted):
    prompts = []
    srv, _ = scripted(lambda prompt: prompts.append(prompt) or "It is 11 C in Paris.")
    messages = USER + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": '{"temp_c": 11}'}]
    r = client(srv).chat.completions.create(model="scripted", messages=messages,
                                            tools=[WEATHER])
    assert r.choices[0].message.content == "It is 11 C in Paris."
    assert r.choices[0].finish_reason == "stop"
    assert ('[TOOL_CALLS][{"name":"get_weather","arguments":{"city":"Paris"}}]<|end|>'
            '<|tool|>{"temp_c": 11}<|end|><|assistant|>') in prompts[0]
    assert '"name":"get_weather"' in prompts[0].split("<|end|>")[0]  # tools in the system turn


def test_tool_choice_none_hides_tools_and_strips_calls(scripted):
    prompts = []
    srv, _ = scripted(lambda p: prompts.append(p) or "Let me see." + ONE_CALL)
    r = client(srv).chat.completions.create(model="scripted", messages=USER, tools=[WEATHER],
                                            tool_choice="none")
    assert "get_weather" not in prompts[0]
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].message.content == "Let me see."
    assert r.choices[0].finish_reason == "stop"


def test_named_function_is_forced_as_a_prefix(scripted):
    prompts = []
    # The engine only continues after the forced prefix: the name is the server's.
    srv, _ = scripted(lambda p: prompts.append(p) or '"city":"Oslo"}}]')
    r = client(srv).chat.completions.create(
        model="scripted", messages=USER, tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert prompts[0].endswith('<|assistant|>[TOOL_CALLS][{"name":"get_time","arguments":{')
    (call,) = r.choices[0].message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == \
        ("get_time", {"city": "Oslo"})


def test_required_forces_a_call_block(scripted):
    prompts = []
    srv, _ = scripted(lambda p: prompts.append(p) or ONE_CALL)  # reply repeats the prefix
    r = client(srv).chat.completions.create(model="scripted", messages=USER, tools=[WEATHER],
                                            tool_choice="required")
    assert prompts[0].endswith('<|assistant|>[TOOL_CALLS][{"name":"')
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_output_that_does_not_parse_is_plain_content(scripted):
    srv, _ = scripted(['Sure[TOOL_CALLS][{"name": broken'])
    r = client(srv).chat.completions.create(model="scripted", messages=USER, tools=[WEATHER])
    assert r.choices[0].message.content == 'Sure[TOOL_CALLS][{"name": broken'
    assert r.choices[0].message.tool_calls is None and r.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("reply", [ONE_CALL, TWO_CALLS, "Plain answer, no call.",
                                   'Sure[TOOL_CALLS][{"name": broken'])
def test_stream_reassembled_equals_the_completion(scripted, reply):
    srv, _ = scripted([reply])
    c = client(srv)
    kw = dict(model="scripted", messages=USER, tools=[WEATHER, TIME])
    whole = c.chat.completions.create(**kw).choices[0]
    chunks = list(c.chat.completions.create(stream=True, **kw))
    got = reassemble(chunks)
    assert got["roles"] == ["assistant"]
    assert got["content"] == (whole.message.content or "")
    assert [(x["name"], x["arguments"]) for x in got["calls"]] == \
        [(t.function.name, t.function.arguments) for t in whole.message.tool_calls or []]
    assert got["finish_reason"] == whole.finish_reason
    assert len(chunks) >= 3  # role, pieces, finish


def test_stream_sends_content_in_pieces_and_usage_on_request(scripted):
    srv, _ = scripted(["The weather in Paris is mild and sunny today."])
    stream = client(srv).chat.completions.create(
        model="scripted", messages=USER, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    pieces = [ch.choices[0].delta.content for ch in chunks if ch.choices
              and ch.choices[0].delta.content]
    assert len(pieces) > 3 and "".join(pieces) == "The weather in Paris is mild and sunny today."
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_stream_ends_with_done(scripted):
    srv, _ = scripted(["hi"])
    with httpx.stream("POST", srv.base_url + "/chat/completions",
                      json={"model": "x", "messages": USER, "stream": True}) as r:
        lines = [line for line in r.iter_lines() if line]
    assert r.headers["content-type"].startswith("text/event-stream")
    assert lines[-1] == "data: [DONE]" and all(x.startswith("data: ") for x in lines)


def _post(srv, body, **kw):
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.post(srv.base_url + "/chat/completions", content=content,
                      headers={"Content-Type": "application/json"}, timeout=60, **kw)


BAD = [
    ("not json", "{", None, "invalid_json"),
    ("unknown role", {"messages": [{"role": "wizard", "content": "hi"}]},
     "messages[0].role", "invalid_role"),
    ("tool schema", {"messages": USER, "tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "properties": {"a": {"type": 5}}}}}]},
     "tools[0].function.parameters", "invalid_schema"),
    ("tool answers no call", {"messages": USER + [
        {"role": "tool", "tool_call_id": "call_x", "content": "1"}]},
     "messages[1].tool_call_id", "unknown_tool_call_id"),
    ("n > 1", {"messages": USER, "n": 2}, "n", "unsupported_parameter"),
    ("named tool not offered", {"messages": USER, "tools": [WEATHER],
                                "tool_choice": {"type": "function", "function": {"name": "g"}}},
     "tool_choice", "invalid_value"),
    ("bad temperature", {"messages": USER, "temperature": 7}, "temperature", "invalid_value"),
    ("no messages", {"messages": []}, "messages", "invalid_value"),
    ("bad arguments string", {"messages": USER + [{"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]},
     "messages[1].tool_calls[0].function.arguments", "invalid_json"),
]


@pytest.mark.parametrize("name, body, param, code", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_a_400_in_openai_shape(scripted, name, body, param, code):
    srv, _ = scripted(["never used"])
    r = _post(srv, body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["type"] == "invalid_request_error" and err["message"]
    assert (err["param"], err["code"]) == (param, code)


def test_bad_request_through_the_client_raises_bad_request_error(scripted):
    srv, _ = scripted(["never used"])
    with pytest.raises(openai.BadRequestError) as exc:
        client(srv).chat.completions.create(model="x", messages=USER, n=3)
    assert exc.value.status_code == 400 and "n=3" in exc.value.message


def test_input_longer_than_the_context_is_a_400(tiny_model, start_server):
    engine = ScriptedEngine(str(tiny_model), ["x"], context_length=64)
    srv = start_server(engine)
    r = _post(srv, {"messages": [{"role": "user", "content": "weather " * 200}]})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "context_length_exceeded"


def test_bearer_auth(scripted, monkeypatch):
    monkeypatch.setenv("LAMSTUDIO_TEST_KEY", "s3cret-key")
    srv, _ = scripted(["hello"], api_key_env="LAMSTUDIO_TEST_KEY")
    with pytest.raises(openai.AuthenticationError):
        client(srv, key="wrong").chat.completions.create(model="x", messages=USER)
    assert httpx.get(srv.base_url + "/models").status_code == 401
    r = client(srv, key="s3cret-key").chat.completions.create(model="x", messages=USER)
    assert r.choices[0].message.content == "hello"


def test_full_queue_answers_503_with_retry_after(tiny_model, start_server):
    gate, started = threading.Event(), threading.Event()

    def slow(prompt: str) -> str:
        started.set()
        gate.wait(30)
        return "done"

    srv = start_server(ScriptedEngine(str(tiny_model), slow), max_queue=1, max_batch=1,
                       retry_after_s=2)
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(_post, srv, {"messages": USER})
        assert started.wait(30)
        waiting = pool.submit(_post, srv, {"messages": USER})
        for _ in range(200):  # until the second request sits in the queue
            if httpx.get(srv.base_url.replace("/v1", "/health")).json()["queue"] == 1:
                break
            threading.Event().wait(0.02)
        refused = _post(srv, {"messages": USER})
        gate.set()
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
        assert refused.json()["error"]["code"] == "queue_full"
        assert running.result().status_code == 200 and waiting.result().status_code == 200


def test_unknown_path_is_404_in_openai_shape(scripted):
    srv, _ = scripted(["x"])
    r = httpx.post(srv.base_url + "/completions", json={})
    assert r.status_code in (404, 405) and "error" in r.json()
