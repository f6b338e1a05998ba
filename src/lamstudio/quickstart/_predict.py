"""Greedy decoding of the held-out split and the prediction rows the metrics read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lamstudio.schema import Trajectory


def reference_calls(t: Trajectory) -> list[dict[str, Any]]:
    return [{"name": c.name, "arguments": c.arguments} for c in t.calls()]


def predict(model: Any, renderer: Any, records: Sequence[Trajectory], *,
            max_new_tokens: int = 160, batch_size: int = 32,
            on_batch: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Greedy-decode every record's first assistant turn; one prediction row per record.

    Prompts are sorted by length and left-padded in batches (less padding, same result as
    one at a time: padded positions are masked). Generation stops at the template's stop
    token; an output that never reaches it is kept as generated and marked ``stopped=False``.
    """
    import torch

    tok = renderer.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else renderer.stop_token_ids[0]
    stops = renderer.stop_token_ids
    prompts = [renderer.prompt_ids(t, upto=1) for t in records]
    order = sorted(range(len(records)), key=lambda i: len(prompts[i]))
    outputs: dict[int, list[int]] = {}
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            width = max(len(prompts[i]) for i in idx)
            ids = torch.tensor([[pad] * (width - len(prompts[i])) + prompts[i] for i in idx])
            mask = torch.tensor([[0] * (width - len(prompts[i])) + [1] * len(prompts[i])
                                 for i in idx])
            gen = model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                 max_new_tokens=max_new_tokens, eos_token_id=stops,
                                 pad_token_id=pad)
            for row, i in enumerate(idx):
                outputs[i] = gen[row, width:].tolist()
            if on_batch:
                on_batch(len(idx))
    return [_row(records[i], renderer, outputs[i], stops) for i in range(len(records))]


def _row(t: Trajectory, renderer: Any, out: list[int], stops: Sequence[int]) -> dict[str, Any]:
    cut = next((k for k, tok_id in enumerate(out) if tok_id in stops), None)
    stopped = cut is not None
    text = renderer.decode(out[:cut] if stopped else out)
    parsed = renderer.parse(text)
    answer = t.messages[1] if len(t.messages) > 1 else None
    return {
        "id": t.id,
        "category": t.meta.get("category"),
        "template_id": t.meta.get("template_id"),
        "novel": bool(t.meta.get("novel_slots")),
        "query": t.messages[0].content,
        "output": text,
        "stopped": stopped,
        "parse_error": parsed.error_code if stopped else "no_stop_token",
        "parsed": stopped and parsed.ok,
        "predicted": [{"name": c.name, "arguments": c.arguments} for c in parsed.calls],
        "reference": reference_calls(t),
        "reference_text": (answer.content or "") if answer and not answer.tool_calls else None,
    }
