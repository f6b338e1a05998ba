"""Tiny models for offline use: a byte-level BPE trained on the data, a Llama from a config.

Nothing here touches a model hub: the tokenizer is trained with ``tokenizers`` and the model
is built from ``LlamaConfig``; both are saved with ``save_pretrained`` so that everything
downstream loads them with the same ``from_pretrained`` call it uses for real models.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

# Shapes of the built-in sizes (Llama architecture, SwiGLU FFN, tied embeddings).
# Parameter counts below are with an 8k vocabulary.
SIZES: dict[str, dict[str, Any]] = {
    # ~1.5M: unit tests and smoke runs.
    "nano": dict(hidden_size=128, intermediate_size=512, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=4),
    # ~6.3M: ~3k tokens/s on 2 CPU cores (FIELD_NOTES); the quickstart's "wide" size.
    "tiny": dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=4),
    # ~38M: a laptop run that takes hours; a GPU run that takes minutes.
    "small": dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=8,
                  num_attention_heads=8, num_key_value_heads=8),
}

# The byte alphabet (256) plus headroom: below this a BPE can learn almost no merges.
MIN_VOCAB = 300


def record_texts(record: Any) -> Iterator[str]:
    """The strings of one record a model will read: system, tool specs, messages, calls.

    Accepts a ``Trajectory``, a raw dict, or a plain string.
    """
    if isinstance(record, str):
        yield record
        return
    if hasattr(record, "model_dump"):
        record = record.model_dump(mode="json", exclude_none=True)
    if not isinstance(record, dict):
        raise TypeError(f"expected a text, a record or a dict, got {type(record).__name__}")
    if record.get("system"):
        yield str(record["system"])
    for tool in record.get("tools") or []:
        yield json.dumps(tool, ensure_ascii=False)
    for msg in record.get("messages") or []:
        if msg.get("content"):
            yield str(msg["content"])
        for call in msg.get("tool_calls") or []:
            yield json.dumps(call.get("function", call), ensure_ascii=False)


def _pick(specials: Sequence[str], *needles: str) -> str | None:
    for needle in needles:
        for tok in specials:
            if needle in tok.lower():
                return tok
    return None


def _token_roles(specials: Sequence[str] | None) -> tuple[list[str], dict[str, str], str | None]:
    """Special tokens, which of them are bos/eos/pad, and the chat template to ship."""
    if specials is None:
        from lamstudio.render import (
            DEFAULT_SPECIAL_TOKENS,
            DEFAULT_TEMPLATE,
            EOS_TOKEN,
            PAD_TOKEN,
        )

        return list(DEFAULT_SPECIAL_TOKENS), {"eos_token": EOS_TOKEN,
                                              "pad_token": PAD_TOKEN}, DEFAULT_TEMPLATE
    roles = dict(bos_token=_pick(specials, "bos", "begin", "<s>"),
                 eos_token=_pick(specials, "eos", "end", "</s>"),
                 pad_token=_pick(specials, "pad"))
    found = {k: v for k, v in roles.items() if v is not None}
    if "pad_token" not in found and "eos_token" in found:
        found["pad_token"] = found["eos_token"]
    return list(specials), found, None


def train_tokenizer(texts_or_records: Iterable[Any], vocab_size: int,
                    out_dir: str | os.PathLike[str],
                    special_tokens: Sequence[str] | None = None,
                    min_frequency: int = 2) -> Any:
    """Train a byte-level BPE, save it as a ``PreTrainedTokenizerFast`` and return it.

    With the default special tokens (``lamstudio.render.DEFAULT_SPECIAL_TOKENS``) eos and pad
    are render's and the tokenizer carries render's default chat template, so the saved
    directory works with ``apply_chat_template`` and any OpenAI-compatible server. Custom
    special tokens get bos/eos/pad by name (``bos``/``eos``/``end``/``pad``).

    Digits are split one by one before BPE: numbers are then spelled the same way wherever
    they occur, which helps a small model copy argument values. A BPE trained on repetitive
    text runs out of merges before a large ``vocab_size``: the tokenizer is then smaller
    than asked (``len(tokenizer)`` is the truth; ``build_model`` sizes the embedding from it).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials, roles, template = _token_roles(special_tokens)
    if vocab_size < MIN_VOCAB + len(specials):
        raise ValueError(f"vocab_size {vocab_size} is too small: a byte-level BPE needs 256 "
                         f"byte tokens + {len(specials)} special tokens + merges "
                         f"(use at least {MIN_VOCAB + len(specials)})")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    texts = (t for r in texts_or_records for t in record_texts(r))
    tok.train_from_iterator(texts, trainer=trainer)

    used = set(roles.values())
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, clean_up_tokenization_spaces=False,
        additional_special_tokens=[s for s in specials if s not in used], **roles)
    if template is not None:
        fast.chat_template = template
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out)
    return fast


def model_config(size: str | dict[str, Any], tokenizer: Any, **overrides: Any) -> Any:
    """A ``LlamaConfig`` for a named size (or LlamaConfig kwargs) matching ``tokenizer``."""
    from transformers import LlamaConfig

    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose one of: {', '.join(SIZES)}")
        shape = dict(SIZES[size])
    else:
        shape = dict(size)
    # Round the embedding up to a multiple of 64 (faster matmuls); the extra rows are unused.
    vocab = int(math.ceil(len(tokenizer) / 64) * 64)
    kwargs: dict[str, Any] = dict(
        vocab_size=vocab, max_position_embeddings=4096, rope_theta=10000.0,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.02, rms_norm_eps=1e-5)
    kwargs.update(shape)
    kwargs.update(overrides)
    return LlamaConfig(**kwargs)


def build_model(size: str | dict[str, Any], tokenizer: Any,
                out_dir: str | os.PathLike[str] | None = None, seed: int = 0) -> Any:
    """Build a randomly initialised Llama for ``tokenizer``; save it (and the tokenizer).

    ``tokenizer`` is a tokenizer object or a path to one. The saved directory loads with
    ``AutoModelForCausalLM.from_pretrained`` and ``AutoTokenizer.from_pretrained``.
    """
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    if isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer))
    cfg = model_config(size, tokenizer)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    return model


def count_params(model: Any) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
