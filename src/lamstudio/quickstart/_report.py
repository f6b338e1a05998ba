"""The quickstart's self-contained HTML report: metrics, loss curve (inline SVG), examples."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lamstudio.io import atomic_path

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

_CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}code,pre{font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;margin:0}.ok{color:#17702b}.bad{color:#b00020}
.num{text-align:right}"""


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def loss_svg(steps: Sequence[int], losses: Sequence[float]) -> str:
    """The training loss curve as an inline SVG string (matplotlib, no files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(list(steps), list(losses), linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (assistant tokens)")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog: the SVG sits inside HTML


def _table(rows: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _examples(predictions: list[dict[str, Any]], k_right: int = 4, k_wrong: int = 6) -> str:
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
        mark = '<span class="ok">right</span>' if ok else '<span class="bad">wrong</span>'
        rows.append([mark, html.escape(p["category"] or ""),
                     f"<pre>{html.escape(p['query'] or '')}</pre>",
                     f"<pre>{html.escape(ref)}</pre>",
                     f"<pre>{html.escape(p['output'])}</pre>"])
    return _table(rows, ["", "category", "query", "reference", "model output"])


def render_report(summary: dict[str, Any], predictions: list[dict[str, Any]],
                  steps: Sequence[int], losses: Sequence[float]) -> str:
    m = summary["metrics"]
    td = summary.get("train_distribution_metrics") or {}
    metric_rows = [[METRIC_LABELS[k], f'<span class="num">{pct(m.get(k))}</span>',
                    f'<span class="num">{pct(td.get(k))}</span>', html.escape(DEFINITIONS[k])]
                   for k in METRIC_LABELS]
    cat_rows = [[html.escape(c), str(v["n"]), pct(v["accuracy"]),
                 pct(td.get("by_category", {}).get(c, {}).get("accuracy"))]
                for c, v in m["by_category"].items()]
    run_rows = [[html.escape(str(k)), html.escape(json.dumps(v) if not isinstance(v, str)
                                                  else v)]
                for k, v in summary["run"].items()]
    svg = loss_svg(steps, losses) if steps else "<p>(no training steps)</p>"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>lamstudio quickstart report</title>
<style>{_CSS}</style></head><body>
<h1>lamstudio quickstart</h1>
<p>A tiny Llama trained from scratch on generated tool-calling data, evaluated with greedy
decoding on a held-out split whose phrasings, tool combinations and some slot values it
never saw in training. {m['n']} held-out examples ({m['n_call_examples']} with tool calls,
{m['n_irrelevance']} irrelevance).</p>
<h2>Held-out metrics</h2>
<p>The held-out column is the result. The second column scores new examples drawn like the
training split (training phrasings and tool combinations, fresh values; none whose query
occurs in training): the gap between the two is what the model has not learned to
generalise.</p>
{_table(metric_rows, ["metric", "held-out", "training phrasings", "definition"])}
<h3>By category (accuracy)</h3>
{_table(cat_rows, ["category", "n", "held-out", "training phrasings"])}
<h2>Training loss</h2>
{svg}
<h2>Example predictions</h2>
{_examples(predictions)}
<h2>Run</h2>
{_table(run_rows, ["", ""])}
</body></html>
"""


def write_report(path: str | Path, summary: dict[str, Any], predictions: list[dict[str, Any]],
                 steps: Sequence[int], losses: Sequence[float]) -> Path:
    """Write the report atomically: an interrupted run leaves no complete-looking report."""
    text = render_report(summary, predictions, steps, losses)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
