"""Reports: a rich terminal table, a self-contained HTML page (template ``eval.html.j2``,
inline CSS and SVG, no CDN) and a side-by-side comparison of two runs."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from lamstudio._charts import accuracy_bars, meter
from lamstudio._html import render_page, svg
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
    if summary.get("limit"):  # a subset's number must not pass for the leaderboard's
        head = (f"BFCL v4 overall on a subset (--limit {summary['limit']}: the first "
                f"{summary['limit']} cases of each category; not the leaderboard's number)")
    else:
        head = "BFCL v4 overall (weighted as the leaderboard)"
    return (f"{head}: {b['overall']:.2%} [{groups}]\n"
            f"not run, counted as 0 by BFCL: {', '.join(b['not_run']) or 'none'}")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):  # one call per line reads best side by side
        text = "\n".join(json.dumps(v, ensure_ascii=False) for v in value) or "(no call)"
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text[:3000] + " ..." if len(text) > 3000 else text


def _failing(results: list[dict[str, Any]], max_examples: int) -> list[dict[str, Any]]:
    by_pattern: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        if not r["valid"]:
            by_pattern[r["pattern"] or "other"].append(r)
    per = max(2, max_examples // max(len(by_pattern), 1))
    shown = []
    for p in PATTERNS:
        for r in by_pattern.get(p, [])[:per]:
            got = r["calls"] if r["calls"] or "output" not in r else r["output"]
            shown.append({**r, "pattern": p, "detail": r["detail"][:300], "got": _shown(got),
                          "want": _shown(r["expected"])})
    return shown


def html_report(summary: dict[str, Any], results: list[dict[str, Any]],
                max_examples: int = 60) -> str:
    """The eval page (template ``eval.html.j2``): accuracy, error patterns, failing cases."""
    total_fail = sum(summary["patterns"].values()) or 1
    return render_page(
        "eval.html.j2", title=f"lamstudio eval: {summary.get('model') or 'model'}",
        s=summary, chart=svg(accuracy_bars(summary["categories"])),
        patterns=[(p, PATTERN_NAMES[p], n, svg(meter(n / total_fail)))
                  for p, n in summary["patterns"].items()],
        examples=_failing(results, max_examples))


def load_results(path: Path) -> list[dict[str, Any]]:
    path = path / "results.jsonl" if path.is_dir() else path
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def compare_table(a: list[dict[str, Any]], b: list[dict[str, Any]], name_a: str,
                  name_b: str) -> Any:
    """A against B over the cases both ran (a ``--limit`` run or another suite compared with
    a full one would otherwise compare different cases); the caption says what was left out.
    ``ValueError`` when they share none."""
    from rich.table import Table

    ids_a, ids_b = {r["id"] for r in a}, {r["id"] for r in b}
    shared = ids_a & ids_b
    if not shared:
        raise ValueError(f"the runs share no case ({len(ids_a)} in A, {len(ids_b)} in B)")
    a, b = [r for r in a if r["id"] in shared], [r for r in b if r["id"] in shared]

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
    if shared != ids_a | ids_b:
        table.caption = (f"[yellow]over the {len(shared):,} cases both ran: "
                         f"{len(ids_a - shared):,} only in A and {len(ids_b - shared):,} only "
                         "in B are left out[/]")
    return table


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"
