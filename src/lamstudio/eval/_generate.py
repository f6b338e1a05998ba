"""The one greedy generation loop (``eval run``'s local backend and the quickstart both use it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Generation:
    """One decoded output: ``text`` up to the stop token, or all of it if none came."""

    text: str
    stopped: bool
    error: str | None = None


def greedy_generate(model: Any, renderer: Any, prompts: Sequence[list[int]], *,
                    max_new_tokens: int = 256, batch_size: int = 8,
                    on_batch: Callable[[int], None] | None = None) -> list[Generation]:
    """Greedy-decode each prompt (token ids, e.g. ``renderer.prompt_ids``) with ``model``.

    Prompts are sorted by length and left-padded in batches (less padding, same result as one
    at a time: padded positions are masked). Generation stops at the template's stop tokens.
    A prompt that leaves fewer than 8 positions in the model's context is not run: its
    ``Generation`` carries an error and the others go on. ``on_batch(n)`` after each batch.
    """
    import torch

    tok, stops = renderer.tokenizer, renderer.stop_token_ids
    pad = tok.pad_token_id if tok.pad_token_id is not None else stops[0]
    limit = getattr(model.config, "max_position_embeddings", None) or 1 << 30
    out: list[Generation | None] = [None] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    model.eval()
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = max(len(prompts[i]) for i in idx)
        if limit - width < 8:  # too long for this model: these cases fail, the run goes on
            for i in idx:
                out[i] = Generation("", False, "prompt longer than the model's context")
        else:
            ids = torch.tensor([[pad] * (width - len(prompts[i])) + list(prompts[i])
                                for i in idx])
            mask = torch.tensor([[0] * (width - len(prompts[i])) + [1] * len(prompts[i])
                                 for i in idx])
            with torch.inference_mode():
                gen = model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                     max_new_tokens=min(max_new_tokens, limit - width),
                                     eos_token_id=list(stops), pad_token_id=pad)
            for row, i in zip(gen[:, width:].tolist(), idx, strict=True):
                cut = next((k for k, t in enumerate(row) if t in stops), None)
                out[i] = Generation(renderer.decode(row if cut is None else row[:cut]),
                                    cut is not None)
        if on_batch:
            on_batch(len(idx))
    return [g for g in out if g is not None]
