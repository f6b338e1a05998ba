"""Greedy decoding of the held-out split and the prediction rows the metrics read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lamstudio.eval import Generation, greedy_generate
from lamstudio.schema import Trajectory


def reference_calls(t: Trajectory) -> list[dict[str, Any]]:
    return [{"name": c.name, "arguments": c.arguments} for c in t.calls()]


def predict(model: Any, renderer: Any, records: Sequence[Trajectory], *,
            max_new_tokens: int = 160, batch_size: int = 32,
            on_batch: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Greedy-decode every record's first assistant turn; one prediction row per record.

    An output that never reaches the stop token is kept as generated and marked
    ``stopped=False`` (see ``lamstudio.eval.greedy_generate``).
    """
    gens = greedy_generate(model, renderer, [renderer.prompt_ids(t, upto=1) for t in records],
                           max_new_tokens=max_new_tokens, batch_size=batch_size,
                           on_batch=on_batch)
    return [_row(t, renderer, g) for t, g in zip(records, gens, strict=True)]


def _row(t: Trajectory, renderer: Any, gen: Generation) -> dict[str, Any]:
    stopped, text = gen.stopped, gen.text
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
