"""GGUF export of the real SmolLM2-135M-Instruct (prepared from its Q4_1 GGUF): the tokenizer
comes from that GGUF, the weights are its weights in llama.cpp's layout, and llama.cpp answers
the Renderer's prompts as transformers does on the source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGUFReader
from gguf.quants import dequantize
from gguf_helpers import (
    hf_greedy,
    hf_logits,
    llama,
    llama_greedy,
    llama_logits,
    needs_llama_cpp,
)

from lamstudio.models import get_entry
from lamstudio.render import Renderer
from lamstudio.schema import Trajectory
from lamstudio.train import export_gguf

pytestmark = pytest.mark.slow

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
QUESTIONS = ["What is the weather in Paris?", "Is it raining in Lima right now?",
             "What is the capital of France?", "Write one sentence about the sea.",
             "How cold is Oslo today, 3 or 30 degrees?", "Weather in São Paulo and Tokyo?"]


@pytest.fixture(scope="module")
def exported(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import torch

    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("smollm2-gguf")
    return {f.type: f for f in export_gguf(smollm2_dir, out, ["f16", "q8_0"], progress=False)}


def _tensors(path: Path) -> dict[str, np.ndarray]:
    return {t.name: dequantize(t.data, t.tensor_type).reshape([int(d) for d in t.shape[::-1]])
            for t in GGUFReader(path).tensors}


def test_tokenizer_keys_come_from_the_source_gguf_and_weights_are_its_weights(
        exported: dict[str, Any]) -> None:
    source = get_entry("smollm2-135m").installed_file()
    theirs = GGUFReader(source)
    ours = GGUFReader(exported["f16"].path)
    meta = {k: f.contents() for k, f in ours.fields.items()}
    assert meta["lamstudio.tokenizer"] == f"copied from {source.name}"
    for key in ("tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.merges",
                "tokenizer.ggml.token_type", "tokenizer.ggml.eos_token_id"):
        assert meta[key] == theirs.fields[key].contents(), key
    assert meta["tokenizer.ggml.pre"] == "smollm"
    assert (meta["lamstudio.template"], meta["lamstudio.call_style"]) == ("chatml_tools", "fence")
    assert (meta["llama.attention.head_count"], meta["llama.attention.head_count_kv"]) == (9, 3)
    assert meta["llama.rope.freq_base"] == pytest.approx(100000.0)
    # The prepared folder holds the Q4_1 file's values: written back at f16 in llama.cpp's
    # layout they are the source's tensors (Q and K permuted back, no output tensor).
    mine, orig = _tensors(exported["f16"].path), _tensors(source)
    assert mine.keys() == orig.keys() and "output.weight" not in mine
    for name in ("blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.29.attn_v.weight",
                 "token_embd.weight", "blk.3.ffn_down.weight", "output_norm.weight"):
        assert mine[name].shape == orig[name].shape, name
        np.testing.assert_allclose(mine[name], orig[name], rtol=2e-3, atol=2e-4,
                                   err_msg=name)


@pytest.fixture(scope="module")
def prompts(smollm2_dir: Path) -> tuple[Renderer, list[list[int]]]:
    from transformers import AutoTokenizer

    renderer = Renderer(AutoTokenizer.from_pretrained(smollm2_dir))
    records = [Trajectory(id=f"q{k}", tools=[WEATHER] if k % 2 == 0 else [],
                          messages=[{"role": "user", "content": q}])
               for k, q in enumerate(QUESTIONS)]
    return renderer, [renderer.prompt_ids(t) for t in records]


@needs_llama_cpp
def test_llama_cpp_answers_like_the_source_model(
        smollm2_dir: Path, exported: dict[str, Any],
        prompts: tuple[Renderer, list[list[int]]]) -> None:
    """f16: the source's greedy answers (one near-tie allowed). q8_0 moves this 135M model's
    logits by up to ~1 (the weights alone do, in transformers too): scored per position, on
    the source's own answers, it picks the source's token at >= 90% of them."""
    from transformers import AutoModelForCausalLM

    renderer, ids = prompts
    source = AutoModelForCausalLM.from_pretrained(smollm2_dir).eval()
    stop = renderer.stop_token_ids[0]
    want = [hf_greedy(source, p, 24, stop) for p in ids]
    forced = [p + a for p, a in zip(ids, want, strict=True)]
    ref = [hf_logits(source, f) for f in forced]
    for kind in ("f16", "q8_0"):
        with llama(exported[kind].path, n_ctx=1024) as llm:
            for p in ids:  # the Renderer's ids are llama.cpp's own tokenization of the text
                text = renderer.decode(p).encode("utf-8")
                assert llm.tokenize(text, add_bos=False, special=True) == p
            got = [llama_greedy(llm, p, 24) for p in ids] if kind == "f16" else None
            logits = [llama_logits(llm, f) for f in forced]
        top1 = np.mean([(g.argmax(-1) == r.argmax(-1)).mean()
                        for g, r in zip(logits, ref, strict=True)])
        if kind == "f16":
            assert got is not None
            assert sum(a == b for a, b in zip(want, got, strict=True)) >= len(ids) - 1
            assert max(np.abs(g - r).max() for g, r in zip(logits, ref, strict=True)) < 0.5
            assert top1 >= 0.98
        else:
            assert top1 >= 0.9, top1
