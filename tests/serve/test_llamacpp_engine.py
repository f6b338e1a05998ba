"""``lamstudio serve --engine llamacpp``: SmolLM2's GGUF behind the real API on 127.0.0.1 —
the same answers streamed or not, forced calls, concurrent clients, the context guard."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from serve_helpers import WEATHER, client, reassemble

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make llamacpp, "
                                        "or pip install 'lamstudio[llamacpp]')")

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def cpp_server(smollm2):
    from lamstudio.serve import ServeConfig, ServerThread, create_app, load_engine

    cfg = ServeConfig(model="smollm2-135m", engine="llamacpp", threads=1, max_tokens=32,
                      context_length=256)
    with ServerThread(create_app(load_engine(cfg), cfg)) as srv:
        yield srv


def test_greedy_answer_streamed_or_not(cpp_server):
    c = client(cpp_server)
    r = c.chat.completions.create(model="smollm2-135m", messages=FRANCE, temperature=0)
    assert r.choices[0].message.content == "The capital of France is Paris."
    assert r.choices[0].finish_reason == "stop" and r.usage.completion_tokens == 8
    s = reassemble(c.chat.completions.create(model="smollm2-135m", messages=FRANCE,
                                             temperature=0, stream=True))
    assert s["content"] == r.choices[0].message.content and s["finish_reason"] == "stop"


def test_a_named_function_forces_the_call(cpp_server):
    r = client(cpp_server).chat.completions.create(
        model="smollm2-135m", temperature=0, max_tokens=40, tools=[WEATHER],
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    msg = r.choices[0].message
    assert (msg.tool_calls and msg.tool_calls[0].function.name == "get_weather") or \
        msg.content  # arguments are the base model's own: they may not parse


def test_concurrent_clients_get_what_they_get_alone(cpp_server):
    c = client(cpp_server)
    questions = ["What is the capital of France?", "Name a colour.", "What is 2 + 2?",
                 "Say hello."]

    def ask(q: str) -> str:
        return c.chat.completions.create(model="smollm2-135m", temperature=0, max_tokens=12,
                                         messages=[{"role": "user", "content": q}]
                                         ).choices[0].message.content

    alone = [ask(q) for q in questions]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(ask, questions))
    assert together == alone


def test_a_prompt_over_the_context_is_a_400_naming_its_size(cpp_server):
    from openai import BadRequestError

    with pytest.raises(BadRequestError) as err:
        client(cpp_server).chat.completions.create(
            model="smollm2-135m", messages=[{"role": "user", "content": "Paris " * 300}])
    assert "this model's context is 256" in str(err.value)
    assert err.value.code == "context_length_exceeded"
