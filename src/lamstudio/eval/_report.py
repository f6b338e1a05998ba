"""Reports: a rich terminal table, a self-contained HTML page (inline CSS and SVG, no CDN)
and a side-by-side comparison of two runs."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from html import escape
from pathlib import Path
from typing import Any

from lamstudio.eval._taxonomy import PATTERN_NAMES, PATTERNS


def summary_tables(summary: dict[str, Any]) -> list[Any]:
    from rich.table import Table

    acc = Table(title=f"{summary.get('model') or 'model'} on {summary.get('suite') or 'suite'}")
    for col in ("category", "cases", "correct", "accuracy"):
        acc.add_column(col, justify="left" if col == "category" else "right")
    for cat, c in summary["categories"].items():
        acc.add_row(cat, str(c["total"]), str(c["correct"]), f"{c['accuracy']:.2%}")
    acc.add_row("all", str(summary["total"]), str(summary["correct"]),
                f"{summary['accuracy']:.2%}", style="bold")
    pat = Table(title="failures by SpecTool error pattern")
    for col in ("pattern", "meaning", "count"):
        pat.add_column(col, justify="right" if col == "count" else "left")
    for p in PATTERNS:
        pat.add_row(p, PATTERN_NAMES[p], str(summary["patterns"].get(p, 0)))
    return [acc, pat, overall_line(summary)]


def overall_line(summary: dict[str, Any]) -> str:
    b = summary["bfcl"]
    groups = ", ".join(f"{g} {v:.1%}" for g, v in b["groups"].items())
    return (f"BFCL v4 overall (weighted as the leaderboard): {b['overall']:.2%} [{groups}]\n"
            f"not run, counted as 0 by BFCL: {', '.join(b['not_run']) or 'none'}")


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2433;background:#fbfbfd}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#667085}table{border-collapse:collapse;margin:6px 0}
td,th{padding:4px 10px;border-bottom:1px solid #e4e7ec;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.case{border:1px solid #e4e7ec;border-radius:6px;margin:10px 0;background:#fff}
.case h3{font-size:13px;margin:0;padding:6px 10px;background:#fef3f2;border-bottom:1px solid
#e4e7ec}.pair{display:grid;grid-template-columns:1fr 1fr}.pair>div{padding:6px 10px;
overflow:auto}.pair>div+div{border-left:1px solid #e4e7ec}pre{margin:0;white-space:pre-wrap;
word-break:break-word;font:12px/1.4 ui-monospace,monospace}.tag{display:inline-block;
padding:0 6px;border-radius:4px;background:#eef4ff;color:#3538cd;font-weight:600}
.big{font-size:28px;font-weight:700}
"""


def _bar_chart(categories: dict[str, dict[str, Any]]) -> str:
    width, row, label_w = 760, 24, 200
    height = row * len(categories) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'role="img" aria-label="accuracy per category">']
    for pct in (0, 25, 50, 75, 100):
        x = label_w + (width - label_w - 60) * pct / 100
        parts.append(f'<line x1="{x:.0f}" y1="0" x2="{x:.0f}" y2="{height - 20}" '
                     'stroke="#e4e7ec"/>'
                     f'<text x="{x:.0f}" y="{height - 5}" font-size="11" fill="#667085" '
                     f'text-anchor="middle">{pct}%</text>')
    for i, (cat, c) in enumerate(categories.items()):
        y = i * row + 4
        w = (width - label_w - 60) * c["accuracy"]
        color = "#12b76a" if c["accuracy"] >= 0.8 else "#f79009" if c["accuracy"] >= 0.5 \
            else "#f04438"
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" font-size="12" '
                     f'text-anchor="end">{escape(cat)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{row - 8}" '
                     f'rx="3" fill="{color}"/>'
                     f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="12">'
                     f'{c["accuracy"]:.1%} ({c["correct"]}/{c["total"]})</text>')
    parts.append("</svg>")
    return "".join(parts)


def _pre(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):  # one call per line reads best side by side
        text = "\n".join(json.dumps(v, ensure_ascii=False) for v in value) or "(no call)"
    else:
        text = json.dumps(value, ensure_ascii=False)
    if len(text) > 3000:
        text = text[:3000] + " ..."
    return f"<pre>{escape(text)}</pre>"


def html_report(summary: dict[str, Any], results: list[dict[str, Any]],
                max_examples: int = 60) -> str:
    b = summary["bfcl"]
    rows = "".join(
        f"<tr><td>{escape(cat)}</td><td class=n>{c['total']}</td><td class=n>{c['correct']}"
        f"</td><td class=n>{c['accuracy']:.2%}</td></tr>"
        for cat, c in summary["categories"].items())
    total_fail = sum(summary["patterns"].values()) or 1
    pats = "".join(
        f"<tr><td><span class=tag>{p}</span></td><td>{PATTERN_NAMES[p]}</td>"
        f"<td class=n>{n}</td><td><svg width='220' height='12'><rect width="
        f"'{220 * n / total_fail:.1f}' height='12' rx='2' fill='#7a5af8'/></svg></td></tr>"
        for p, n in summary["patterns"].items())
    by_pattern: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        if not r["valid"]:
            by_pattern[r["pattern"] or "other"].append(r)
    examples = []
    per = max(2, max_examples // max(len(by_pattern), 1))
    for p in PATTERNS:
        for r in by_pattern.get(p, [])[:per]:
            got = r["calls"] if r["calls"] or "output" not in r else r["output"]
            examples.append(
                f"<div class=case><h3><span class=tag>{escape(p)}</span> {escape(r['id'])} "
                f"· {escape(r['category'])} · <code>{escape(r['code'])}</code> — "
                f"{escape(r['detail'][:300])}</h3><div class=pair><div><b>model</b>"
                f"{_pre(got)}</div><div><b>expected</b>{_pre(r['expected'])}</div></div></div>")
    groups = " · ".join(f"{escape(g)} {v:.1%} (weight {b['weights'][g]})"
                        for g, v in b["groups"].items())
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>lamstudio eval — "
        f"{escape(summary.get('model') or '')}</title><style>{_CSS}</style></head><body>"
        f"<h1>lamstudio eval: {escape(summary.get('model') or 'model')}</h1>"
        f"<div class=muted>suite {escape(summary.get('suite') or '')} · {summary['total']} "
        f"cases</div><p><span class=big>{summary['accuracy']:.2%}</span> of cases correct · "
        f"BFCL v4 overall <b>{b['overall']:.2%}</b></p><p class=muted>{groups}<br>Not run "
        f"(BFCL counts them as 0): {escape(', '.join(b['not_run']) or 'none')}</p>"
        f"<h2>Accuracy per category</h2>{_bar_chart(summary['categories'])}"
        f"<table><tr><th>category</th><th>cases</th><th>correct</th><th>accuracy</th></tr>"
        f"{rows}</table><h2>Failures by error pattern (SpecTool)</h2><table><tr><th>pattern"
        f"</th><th>meaning</th><th>count</th><th></th></tr>{pats}</table>"
        f"<h2>Failing examples</h2>{''.join(examples) or '<p>none</p>'}</body></html>")


def load_results(path: Path) -> list[dict[str, Any]]:
    path = path / "results.jsonl" if path.is_dir() else path
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def compare_table(a: list[dict[str, Any]], b: list[dict[str, Any]], name_a: str,
                  name_b: str) -> Any:
    from rich.table import Table

    def per(rs: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
        c: dict[str, Counter[str]] = defaultdict(Counter)
        for r in rs:
            c[r["category"]]["n"] += 1
            c[r["category"]]["ok"] += bool(r["valid"])
        return {k: (v["ok"], v["n"]) for k, v in c.items()}

    pa, pb = per(a), per(b)
    va = {r["id"]: r["valid"] for r in a}
    table = Table(title=f"A = {name_a}   B = {name_b}")
    for col in ("category", "A", "B", "delta", "fixed", "broken"):
        table.add_column(col, justify="left" if col == "category" else "right")
    rows = sorted(set(pa) | set(pb))
    for cat in rows + ["all"]:
        def sel(r: dict[str, Any], cat: str = cat) -> bool:
            return cat == "all" or r["category"] == cat

        oa = sum(v[0] for k, v in pa.items() if cat in ("all", k))
        na = sum(v[1] for k, v in pa.items() if cat in ("all", k))
        ob = sum(v[0] for k, v in pb.items() if cat in ("all", k))
        nb = sum(v[1] for k, v in pb.items() if cat in ("all", k))
        acc_a, acc_b = (oa / na if na else None), (ob / nb if nb else None)
        fixed = sum(1 for r in b if sel(r) and r["valid"] and va.get(r["id"]) is False)
        broken = sum(1 for r in b if sel(r) and not r["valid"] and va.get(r["id"]) is True)
        delta = "" if acc_a is None or acc_b is None else f"{(acc_b - acc_a) * 100:+.1f} pt"
        style = "bold" if cat == "all" else ("green" if delta.startswith("+") and
                                             delta != "+0.0 pt" else
                                             "red" if delta.startswith("-") else None)
        table.add_row(cat, _pct(acc_a), _pct(acc_b), delta, str(fixed), str(broken),
                      style=style)
    return table


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"
