"""Helpers for the GGUF export tests: tiny models of each supported architecture, tokenizers
with each pre-tokenizer llama.cpp knows, and the two readers (transformers, llama.cpp)."""

from __future__ import annotations

import gc
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lamstudio.render import DEFAULT_SPECIAL_TOKENS, DEFAULT_TEMPLATE, EOS_TOKEN, PAD_TOKEN

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
needs_llama_cpp = pytest.mark.skipif(
    not HAS_LLAMA_CPP, reason="llama-cpp-python is not installed (pip install "
                              "llama-cpp-python, or make llamacpp)")

# Qwen2's own split regex, as its tokenizer.json has it.
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+"
               r"[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Text a tokenizer must split the same way in llama.cpp as in transformers: digits, runs of
# spaces and newlines, contractions, non-Latin scripts, symbols, markup.
TEXTS = [
    "What is the weather in Paris? 1234567 C, -3.25e10",
    "  two  spaces\n\n\nnewlines\ttab \r\n crlf   ",
    "I'm sure they'll say it's 'quoted' — DON'T",
    "é ü ñ ß 北京 東京 москва 🙂🚀 x² ½ ٣٤",
    '{"name": "get_weather", "arguments": {"city": "São Paulo", "n": [1, 22, 333]}}',
    "def f(x):\n    return x ** 2  # ok\n",
    "```json\n[{\"name\":\"a\"}]\n```",
]


def corpus() -> list[str]:
    return TEXTS * 20 + [f"record {k}: the value is {k * 37 % 1000} units" for k in range(200)]


def byte_bpe(pre: str, out: Path, vocab: int = 600) -> Any:
    """A byte-level BPE with lamstudio's special tokens and one of three pre-tokenizers:
    ``smollm`` (digits one by one, then GPT-2's regex: what ``train_tokenizer`` builds),
    ``gpt2`` (GPT-2's regex only) or ``qwen2`` (Qwen2's regex, NFC)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=pre != "qwen2")
    if pre == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif pre == "qwen2":
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
            byte_level])
    elif pre == "gpt2":
        tok.pre_tokenizer = byte_level
    else:  # a pre-tokenizer llama.cpp has no name for
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), byte_level])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=DEFAULT_SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN,
        additional_special_tokens=[t for t in DEFAULT_SPECIAL_TOKENS
                                   if t not in (EOS_TOKEN, PAD_TOKEN)])
    fast.chat_template = DEFAULT_TEMPLATE
    fast.save_pretrained(out)
    return fast


def tiny_model(kind: str, tokenizer: Any, out: Path, seed: int = 0) -> Any:
    """A random tiny ``llama`` (GQA: 4 heads, 2 key/value heads, tied embeddings) or
    ``qwen2`` (q/k/v biases, untied output); weights large enough that logits spread out,
    so greedy choices are not near-ties."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    shape = dict(vocab_size=(len(tokenizer) + 63) // 64 * 64, hidden_size=64,
                 intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=512, initializer_range=0.25,
                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                 bos_token_id=None)
    torch.manual_seed(seed)
    if kind == "llama":
        model = LlamaForCausalLM(LlamaConfig(**shape, tie_word_embeddings=True,
                                             rope_theta=10000.0, rms_norm_eps=1e-5))
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**shape, tie_word_embeddings=False,
                                             rope_theta=1000000.0, rms_norm_eps=1e-6))
        with torch.no_grad():  # random biases: a dropped or misplaced bias must show
            for layer in model.model.layers:
                for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj,
                             layer.self_attn.v_proj):
                    proj.bias.normal_(0, 0.5)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return model.eval()


def hf_logits(model: Any, ids: list[int]) -> Any:
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float().numpy()


def load_gguf_in_transformers(path: Path) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                dtype=torch.float32).eval()


@contextmanager
def llama(path: Path, vocab_only: bool = False, n_ctx: int = 512) -> Iterator[Any]:
    """llama.cpp on ``path``, closed on exit (its destructor complains at interpreter exit)."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), vocab_only=vocab_only, n_ctx=n_ctx,
                          logits_all=not vocab_only, n_threads=1, n_batch=n_ctx, verbose=False,
                          seed=0)
    try:
        yield llm
    finally:
        llm.close()
        gc.collect()


def llama_logits(llm: Any, ids: list[int]) -> Any:
    llm.reset()
    llm.eval(ids)
    return llm.scores[:len(ids)].copy()


def llama_greedy(llm: Any, ids: list[int], n: int) -> list[int]:
    out: list[int] = []
    for tok in llm.generate(ids, top_k=1, temp=0.0, reset=True):
        out.append(int(tok))
        if len(out) >= n or tok == llm.token_eos():
            break
    return out


def hf_greedy(model: Any, ids: list[int], n: int, eos: int | None) -> list[int]:
    import torch

    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False,
                             eos_token_id=eos, pad_token_id=eos)[0, len(ids):].tolist()
    return out
