"""``LocalBackend`` on a real (tiny, randomly initialised) transformers model: batching,
seeded sampling independent of the batch, greedy decoding, the cache, ``ChatResult``."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from lamstudio.llm import ChatBackend, LLMError, LocalBackend, complete_many, complete_sync

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "weather",
                                           "parameters": {"type": "object", "properties": {
                                               "city": {"type": "string"}}}}}]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from lamstudio.train import build_model, train_tokenizer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("local-llm")
    rng = random.Random(0)
    words = "what is the weather in Paris London Tokyo call get_weather city name".split()
    texts = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(300)]
    tok = train_tokenizer(texts, 400, root / "tok")
    build_model("nano", tok, root / "model")
    return root / "model"


def ask(q: str, **params) -> dict:
    return {"messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": q}], "params": params}


def test_batched_sampling_is_seeded_per_request(tiny_model):
    b = LocalBackend(tiny_model, batch_size=4)
    assert isinstance(b, ChatBackend)
    reqs = [ask("weather in Paris", temperature=1.0, seed=s, max_tokens=12) for s in (1, 2, 3)]
    first = asyncio.run(complete_many(b, reqs))
    assert b.stats["batches"] == 1 and b.stats["requests"] == 3  # one batch
    # the same seed alone (another batch, other padding) gives the same text
    again = complete_sync(b, reqs[2]["messages"], **reqs[2]["params"])
    assert again.content == first[2].content
    assert len({r.content for r in first}) > 1  # different seeds, different samples
    for r in first:
        assert r.model == "model" and r.usage["completion_tokens"] <= 12
        assert r.finish_reason in ("stop", "length") and not r.cached


def test_greedy_max_tokens_and_cache(tiny_model, tmp_path):
    b = LocalBackend(tiny_model, cache_dir=tmp_path / "cache")
    one = complete_sync(b, ask("hi")["messages"], temperature=0, max_tokens=5)
    two = complete_sync(b, ask("hi")["messages"], temperature=0, max_tokens=5)
    assert two.cached and two.content == one.content and b.stats["requests"] == 1
    other = LocalBackend(tiny_model)  # no cache: greedy is deterministic anyway
    assert complete_sync(other, ask("hi")["messages"], temperature=0,
                         max_tokens=5).content == one.content
    assert one.usage["completion_tokens"] <= 5
    assert len(list((tmp_path / "cache").glob("*/*.json"))) == 1


def test_tools_are_rendered_and_bad_params_named(tiny_model):
    b = LocalBackend(tiny_model)
    res = complete_sync(b, ask("weather in Tokyo")["messages"], TOOLS, temperature=0,
                        max_tokens=4)
    assert isinstance(res.tool_calls, list)  # parsed with render.parse_output (none here)
    assert "get_weather" in b.renderer.prompt_text(_traj())
    with pytest.raises(LLMError, match="does not support"):
        complete_sync(b, ask("x")["messages"], frequency_penalty=1.0)


def test_a_prompt_over_the_context_fails_alone(tiny_model):
    b = LocalBackend(tiny_model, batch_size=4).load()
    long = ask(" ".join(f"Paris{i}" for i in range(3000)), max_tokens=4)
    short = ask("weather in Paris", temperature=0, max_tokens=4)
    over, ok = asyncio.run(complete_many(b, [long, short]))
    assert isinstance(over, LLMError) and over.status == 400
    assert f"context holds {b.context}" in str(over)
    assert not isinstance(ok, Exception) and ok.usage["completion_tokens"] <= 4
    assert b.stats["batches"] == 1  # they shared a batch; only the long one failed


def test_the_answer_gets_the_room_left_in_the_context(tiny_model):
    b = LocalBackend(tiny_model).load()
    msgs = ask("weather in Paris")["messages"]
    full = complete_sync(b, msgs, temperature=0, max_tokens=20)
    assert full.usage["completion_tokens"] > 3
    b.context = full.usage["prompt_tokens"] + 3  # as if the context ended three tokens on
    cut = complete_sync(b, msgs, temperature=0, max_tokens=20)
    assert cut.usage["completion_tokens"] == 3 and cut.finish_reason == "length"
    assert full.content.startswith(cut.content)  # the same greedy answer, cut short


def test_not_a_model_folder(tmp_path):
    with pytest.raises(LLMError, match="not a model folder"):
        LocalBackend(tmp_path)


def _traj():
    from lamstudio.schema import Trajectory

    return Trajectory.model_validate({"id": "p", "tools": TOOLS,
                                      "messages": [{"role": "user", "content": "q"}]})
