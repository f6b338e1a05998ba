"""The quickstart's self-contained HTML report (template ``quickstart.html.j2``): metrics,
loss curve (inline SVG), examples."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lamstudio._charts import loss_curve
from lamstudio._html import render_page, svg, write_page

METRIC_LABELS = {
    "parse_rate": "parse rate",
    "function_name_accuracy": "function-name accuracy",
    "exact_match": "full-call exact match",
    "irrelevance_accuracy": "irrelevance accuracy",
    "accuracy": "overall accuracy",
    "exact_match_novel_values": "exact match, unseen slot values",
}

DEFINITIONS = {
    "parse_rate": "all held-out examples whose output ended with the stop token and parsed "
                  "without error (a well-formed call block, or plain text)",
    "function_name_accuracy": "examples with reference calls whose predicted multiset of "
                              "function names equals the reference's",
    "exact_match": "examples with reference calls whose predicted calls equal the reference "
                   "as a multiset of (name, arguments): equal argument dicts, any call order",
    "irrelevance_accuracy": "irrelevance examples answered in text, with no call",
    "accuracy": "all examples: exact match, or correct abstention on irrelevance",
    "exact_match_novel_values": "exact match on call examples where at least one slot value "
                                "never occurs in training",
}

def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _examples(predictions: list[dict[str, Any]], k_right: int = 4,
              k_wrong: int = 6) -> list[dict[str, Any]]:
    from lamstudio.quickstart._metrics import score

    right, wrong = [], []
    for p in predictions:
        s = score(p["parsed"], [(c["name"], c["arguments"]) for c in p["predicted"]],
                  [(c["name"], c["arguments"]) for c in p["reference"]])
        (right if s.correct else wrong).append(p)
    rows = []
    for p, ok in [(p, True) for p in right[:k_right]] + [(p, False) for p in wrong[:k_wrong]]:
        ref = (json.dumps(p["reference"], ensure_ascii=False) if p["reference"]
               else f"(text) {p.get('reference_text') or ''}")
        rows.append({"ok": ok, "category": p["category"] or "", "query": p["query"] or "",
                     "reference": ref, "output": p["output"]})
    return rows


def _context(summary: dict[str, Any], predictions: list[dict[str, Any]],
             steps: Sequence[int], losses: Sequence[float]) -> dict[str, Any]:
    m = summary["metrics"]
    td = summary.get("train_distribution_metrics") or {}
    return {
        "title": "lamstudio quickstart", "m": m,
        "metrics": [(METRIC_LABELS[k], pct(m.get(k)), pct(td.get(k)), DEFINITIONS[k])
                    for k in METRIC_LABELS],
        "categories": [(c, v["n"], pct(v["accuracy"]),
                        pct(td.get("by_category", {}).get(c, {}).get("accuracy")))
                       for c, v in m["by_category"].items()],
        "run": [(k, v if isinstance(v, str) else json.dumps(v))
                for k, v in summary["run"].items()],
        "loss_chart": svg(loss_curve(steps, losses)) if steps else None,
        "examples": _examples(predictions),
    }


def render_report(summary: dict[str, Any], predictions: list[dict[str, Any]],
                  steps: Sequence[int], losses: Sequence[float]) -> str:
    return render_page("quickstart.html.j2", **_context(summary, predictions, steps, losses))


def write_report(path: str | Path, summary: dict[str, Any], predictions: list[dict[str, Any]],
                 steps: Sequence[int], losses: Sequence[float]) -> Path:
    """Write the report atomically: an interrupted run leaves no complete-looking report."""
    return write_page(path, "quickstart.html.j2",
                      **_context(summary, predictions, steps, losses))
