"""The llama.cpp engine on SmolLM2-135M's real GGUF: the same answers as transformers on
the same weights, the context guard, stop tokens and strings, seeded sampling, answers that
do not depend on what ran before (the KV prefix cache) or beside (threads, queued requests),
forged control tokens kept as text, and a GGUF made for another tokenizer refused."""

from __future__ import annotations

import asyncio
import ctypes
import threading
from pathlib import Path

import pytest

llama_cpp = pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (make llamacpp, or pip install "
                        "'lamstudio[llamacpp]'; it builds llama.cpp from source)")

from tests.support.hostile import ROLE_FORGERY  # noqa: E402

from lamstudio.llm import (  # noqa: E402
    ChatBackend,
    LlamaCppBackend,
    LlamaCppModel,
    LLMError,
    Sampling,
    complete_many,
    complete_sync,
)

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def backend(smollm2_dir: Path) -> LlamaCppBackend:
    return LlamaCppBackend("smollm2-135m", threads=1).load()


@pytest.fixture(scope="module")
def prompts(backend: LlamaCppBackend) -> list[list[int]]:
    """Six BFCL prompts (system prompt + tools + question), rendered as eval renders them."""
    from lamstudio.eval import load_suite, prompt_ids

    cases = load_suite("bfcl:simple_python", 3) + load_suite("bfcl:multiple", 3)
    return [prompt_ids(backend.renderer, (c.turns[0], c.tools(), c.system)) for c in cases]


def answer(engine: LlamaCppModel, ids: list[int], n: int = 32, **sampling) -> list[int]:
    stops, seq = set(engine.renderer.stop_token_ids), []

    def on_token(tok: int) -> bool:
        seq.append(tok)
        return tok in stops or len(seq) >= n

    engine.generate(ids, Sampling(**sampling), on_token)
    return seq


def test_greedy_answers_match_transformers_on_the_same_weights(backend, prompts, smollm2_dir,
                                                               tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from lamstudio.eval import greedy_generate

    # The prepared folder is the Q4_1 GGUF dequantized to fp32; an F32 GGUF re-quantized from
    # the same file holds the same numbers, so with an f32 KV cache the engines agree token
    # for token. llama.cpp's defaults (an f16 KV cache; on the Q4_1 file 4-bit weights times
    # 8-bit activations) are close, not identical.
    f32 = tmp_path / "smollm2.F32.gguf"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize = 0, True  # 0: all F32
    assert llama_cpp.llama_model_quantize(str(backend.engine.gguf).encode(), str(f32).encode(),
                                          ctypes.byref(params)) == 0
    same_weights = LlamaCppModel(smollm2_dir, gguf=str(f32), threads=1, kv_cache="f32")
    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32)
    hf = [g.text for g in greedy_generate(model, backend.renderer, prompts[:4],
                                          max_new_tokens=32, batch_size=1)]
    decode = backend.renderer.decode
    stop = set(backend.renderer.stop_token_ids)
    cpp = [decode([t for t in answer(same_weights, p) if t not in stop]) for p in prompts[:4]]
    q4 = [decode([t for t in answer(backend.engine, p) if t not in stop]) for p in prompts[:4]]
    same_weights.close()
    assert cpp == hf
    assert sum(a == b for a, b in zip(q4, hf, strict=True)) >= 2, (q4, hf)


def test_a_prompt_over_the_context_fails_alone_with_its_token_count(smollm2_dir):
    small = LlamaCppBackend("smollm2-135m", threads=1, context_length=64)
    long = [{"role": "user", "content": "Paris " * 80}]
    near = [{"role": "user", "content": "Paris " * 40}]
    res = asyncio.run(complete_many(small, [
        {"messages": long}, {"messages": FRANCE, "params": {"temperature": 0}},
        {"messages": near, "params": {"temperature": 0, "max_tokens": 200}}]))
    assert isinstance(res[0], LLMError) and res[0].status == 400
    n = int(str(res[0]).split()[3])
    assert n > 64 and str(res[0]) == (f"the prompt has {n} tokens: the model's context "
                                      "holds 64")
    assert res[1].content == "The capital of France is Paris."
    # Near the end of the context the answer gets the room that is left.
    assert res[2].finish_reason == "length"
    assert res[2].usage["total_tokens"] == 64


def test_stop_token_stop_strings_and_max_tokens(backend):
    full = complete_sync(backend, FRANCE, temperature=0)
    assert isinstance(backend, ChatBackend)
    assert full.content == "The capital of France is Paris." and full.finish_reason == "stop"
    assert "<|im_end|>" not in full.content and full.usage["completion_tokens"] == 8
    cut = complete_sync(backend, FRANCE, temperature=0, stop=["Paris"])
    assert cut.content == "The capital of France is " and cut.finish_reason == "stop"
    short = complete_sync(backend, FRANCE, temperature=0, max_tokens=3)
    assert short.finish_reason == "length" and short.usage["completion_tokens"] == 3
    assert full.content.startswith(short.content)
    with pytest.raises(LLMError, match="does not support \\['logprobs'\\]"):
        complete_sync(backend, FRANCE, logprobs=True)


def test_seeded_sampling_is_reproducible_whatever_ran_before(backend):
    reqs = [{"messages": FRANCE, "params": {"temperature": 1.0, "seed": s, "max_tokens": 24}}
            for s in (1, 2, 3)]
    first = asyncio.run(complete_many(backend, reqs))
    complete_sync(backend, [{"role": "user", "content": "Name a colour."}], temperature=0.7)
    again = complete_sync(backend, FRANCE, temperature=1.0, seed=3, max_tokens=24)
    assert again.content == first[2].content
    assert len({r.content for r in first}) > 1  # different seeds, different samples


def test_the_prefix_cache_never_changes_an_answer(smollm2_dir, prompts):
    """A prompt gets the same tokens cold, after a prompt sharing its prefix, and right
    after itself (every prompt token cached): reused positions were computed exactly as a
    cold prefill computes them."""
    engine = LlamaCppModel("smollm2-135m", threads=1)
    for sampling in ({}, {"temperature": 1.0, "seed": 7}):
        cold = []
        for p in prompts:
            engine.forget()
            cold.append(answer(engine, p, **sampling))
        before = engine.stats["reused_tokens"]
        after_other = [answer(engine, p, **sampling) for p in prompts]
        assert engine.stats["reused_tokens"] > before  # they share the system prompt
        twice = []
        for p in prompts:
            answer(engine, p, **sampling)
            twice.append(answer(engine, p, **sampling))
        assert after_other == cold and twice == cold
    engine.close()


def test_requests_from_threads_and_queued_together_get_their_own_answers(backend, prompts):
    alone = [answer(backend.engine, p, 16) for p in prompts[:4]]
    got: dict[int, list[int]] = {}

    def run(i: int) -> None:
        got[i] = answer(backend.engine, prompts[i], 16)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(4)] == alone
    questions = ["What is the capital of France?", "Name a colour.", "What is 2 + 2?"]
    reqs = [{"messages": [{"role": "user", "content": q}], "params": {"temperature": 0,
                                                                      "max_tokens": 16}}
            for q in questions]
    together = asyncio.run(complete_many(backend, reqs))
    one_by_one = [complete_sync(backend, r["messages"], **r["params"]) for r in reqs]
    assert [r.content for r in together] == [r.content for r in one_by_one]


def test_forged_turn_tokens_in_messages_reach_llama_cpp_as_text(backend):
    """llama.cpp gets the renderer's ids: <|im_end|> typed by a user is not a turn end."""
    im_end = backend.renderer.tokenizer.convert_tokens_to_ids("<|im_end|>")
    plain = [{"role": "user", "content": "hi"}]
    forged = [{"role": "user", "content": ROLE_FORGERY},
              {"role": "assistant", "content": "ok"},
              {"role": "tool", "tool_call_id": "c0", "name": "f", "content": ROLE_FORGERY},
              {"role": "user", "content": "go on"}]
    complete_sync(backend, plain, temperature=0, max_tokens=1)
    benign = backend.engine._cached.count(im_end)
    res = complete_sync(backend, forged, temperature=0, max_tokens=4)
    assert res.finish_reason in ("stop", "length")
    # One turn end per real message (system + 4 here, system + 1 above), none from the text.
    assert backend.engine._cached.count(im_end) == benign + 3


def test_a_gguf_made_for_another_tokenizer_is_refused(tmp_path, smollm2_dir):
    from lamstudio.models import get_entry
    from lamstudio.train import train_tokenizer

    folder = tmp_path / "other"
    train_tokenizer([f"other words {i} and more" for i in range(200)], 400, folder)
    with pytest.raises(LLMError) as err:
        LlamaCppModel(folder, gguf=str(get_entry("smollm2-135m").require_file()))
    assert err.value.status == 400
    assert "does not fit the tokenizer of" in str(err.value)
    assert "is not in the tokenizer" in str(err.value)
