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


def _value(v: Any) -> str:
    """A run-table cell: integers as integers (3,357,982 not 3357982.0), floats short."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return v if isinstance(v, str) else json.dumps(v)


def _run_rows(run: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(key, text, sub-rows): a dict of numbers (seconds per stage) becomes a small table;
    the configuration goes to its own collapsed block."""
    rows = []
    for k, v in run.items():
        if k == "config":
            continue
        if isinstance(v, dict) and v and all(isinstance(x, (int, float)) for x in v.values()):
            rows.append((k, "", [(str(a), _value(b)) for a, b in v.items()]))
        else:
            rows.append((k, _value(v), []))
    return rows


def _delta(before: float | None, after: float | None) -> str:
    return "" if before is None or after is None else f"{100 * (after - before):+.1f} pt"


def _comparison(summary: dict[str, Any]) -> dict[str, Any]:
    """Before / after fine-tuning, side by side: held-out metrics and the BFCL sample."""
    m, b = summary["metrics"], summary["metrics_before"]
    bb, ba = summary.get("bfcl_before") or {}, summary.get("bfcl_after") or {}
    bfcl = []
    if "categories" in ba:
        for c, v in ba["categories"].items():
            was = bb.get("categories", {}).get(c, {}).get("accuracy")
            bfcl.append((c, v["total"], pct(was), pct(v["accuracy"]),
                         _delta(was, v["accuracy"])))
        bfcl.append(("all", ba["total"], pct(bb.get("accuracy")), pct(ba["accuracy"]),
                     _delta(bb.get("accuracy"), ba["accuracy"])))
    mb = b["by_category"]
    return {
        "metrics": [(METRIC_LABELS[k], pct(b.get(k)), pct(m.get(k)), _delta(b.get(k), m.get(k)),
                     DEFINITIONS[k]) for k in METRIC_LABELS],
        "categories": [(c, v["n"], pct(mb.get(c, {}).get("accuracy")), pct(v["accuracy"]))
                       for c, v in m["by_category"].items()],
        "bfcl": bfcl, "bfcl_suite": ba.get("suite"), "bfcl_limit": ba.get("limit"),
        "bfcl_unavailable": ba.get("unavailable"), "base": summary["run"].get("base"),
    }


def _context(summary: dict[str, Any], predictions: list[dict[str, Any]],
             steps: Sequence[int], losses: Sequence[float]) -> dict[str, Any]:
    m = summary["metrics"]
    td = summary.get("train_distribution_metrics") or {}
    return {
        "title": "lamstudio quickstart", "m": m,
        "not_comparable": summary.get("not_comparable"),
        "compare": _comparison(summary) if "metrics_before" in summary else None,
        "metrics": [(METRIC_LABELS[k], pct(m.get(k)), pct(td.get(k)), DEFINITIONS[k])
                    for k in METRIC_LABELS],
        "categories": [(c, v["n"], pct(v["accuracy"]),
                        pct(td.get("by_category", {}).get(c, {}).get("accuracy")))
                       for c, v in m["by_category"].items()],
        "run": _run_rows(summary["run"]),
        "config": json.dumps(summary["run"].get("config"), indent=1)
        if summary["run"].get("config") else None,
        "loss_chart": svg(loss_curve(steps, losses)) if steps else None,
        "examples": _examples(predictions),
    }


def render_report(summary: dict[str, Any], predictions: list[dict[str, Any]],
                  steps: Sequence[int], losses: Sequence[float]) -> str:
    return render_page("quickstart.html.j2", **_context(summary, predictions, steps, losses))


def write_report(path: str | Path, summary: dict[str, Any], predictions: list[dict[str, Any]],
                 steps: Sequence[int], losses: Sequence[float]) -> Path:
    """Write the report atomically: an interrupted run leaves no complete-looking report.
    A summary with ``metrics_before`` (a pretrained base) shows before / after side by side."""
    return write_page(path, "quickstart.html.j2",
                      **_context(summary, predictions, steps, losses))
