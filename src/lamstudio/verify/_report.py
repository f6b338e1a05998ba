"""``lamstudio report``: one self-contained HTML page about a dataset (and its rejects).

Counts per source and category, user-turn and token-length histograms, tool usage,
rejection reasons and a few example conversations per category. Charts are inline SVG,
styles are inline CSS, text is HTML-escaped by Jinja's autoescape: the file can be mailed
or opened offline. Token lengths are a regex approximation (words and punctuation marks)
unless a tokenizer is given; the page says which.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lamstudio._charts import bar_chart, histogram
from lamstudio._html import svg, write_page
from lamstudio.io import InputError, read_rows
from lamstudio.schema import Trajectory
from lamstudio.sources import get_format

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _tokenizer(path: Path | None) -> tuple[Callable[[str], int], str]:
    if path is None:
        return (lambda text: len(_TOKEN_RE.findall(text)),
                "approximate: regex count of words and punctuation marks (no tokenizer given)")
    from tokenizers import Tokenizer

    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"{path}: no tokenizer.json found")
    tok = Tokenizer.from_file(str(file))
    return (lambda text: len(tok.encode(text, add_special_tokens=False).ids),
            f"exact: tokenizer {file}")


def record_text(t: Trajectory) -> str:
    """Everything a model would read or write for this record, without a chat template."""
    parts = [t.system or ""]
    if t.tools:
        parts.append(json.dumps([s.model_dump(exclude_none=True) for s in t.tools],
                                ensure_ascii=False))
    for m in t.messages:
        parts.append(m.content or "")
        for c in m.tool_calls or []:
            args = json.dumps(c.function.arguments, ensure_ascii=False)
            parts.append(f"{c.function.name} {args}")
    return "\n".join(parts)


class _Stats:
    def __init__(self, examples: int, count_tokens: Callable[[str], int]) -> None:
        self.n = 0
        self.sources: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()
        self.tools_called: Counter[str] = Counter()
        self.turns: list[int] = []
        self.tokens: list[int] = []
        self.calls: list[int] = []
        self.examples: dict[str, list[Trajectory]] = {}
        self.k, self.count_tokens = examples, count_tokens
        self.unreadable: Counter[str] = Counter()

    def add(self, t: Trajectory) -> None:
        self.n += 1
        self.sources[t.source or "(none)"] += 1
        cat = str(t.meta.get("category") or "(none)")
        self.categories[cat] += 1
        calls = t.calls()
        self.tools_called.update(c.name for c in calls)
        self.calls.append(len(calls))
        self.turns.append(sum(m.role == "user" for m in t.messages))
        self.tokens.append(self.count_tokens(record_text(t)))
        if len(self.examples.get(cat, ())) < self.k:
            self.examples.setdefault(cat, []).append(t)


def _rejections(path: Path) -> tuple[Counter[str], Counter[str], int]:
    reasons: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    n = 0
    for row in read_rows(path, allow_empty=True):  # no rejects is a fine rejects file
        value = getattr(row, "value", None)
        if not isinstance(value, dict):
            continue
        n += 1
        stage = str(value.get("stage", "?"))
        reasons[f"{stage}: {value.get('code', '?')}"] += 1
        stages[stage] += 1
    return reasons, stages, n


def _example(t: Trajectory) -> dict[str, Any]:
    msgs = []
    for m in t.messages:
        calls = [f"{c.function.name}({json.dumps(c.function.arguments, ensure_ascii=False)})"
                 for c in m.tool_calls or []]
        msgs.append({"role": m.role, "content": m.content or "", "calls": calls,
                     "name": m.name or ""})
    return {"id": t.id, "source": t.source, "system": t.system or "",
            "tools": [s.function.name for s in t.tools], "messages": msgs}


def build_report(data: str | os.PathLike[str], output: str | os.PathLike[str], *,
                 rejects: str | os.PathLike[str] | None = None,
                 tokenizer: str | os.PathLike[str] | None = None, examples: int = 2,
                 from_format: str = "lamstudio", title: str | None = None) -> dict[str, Any]:
    """Write the report; returns the numbers it shows."""
    data = Path(data)
    count_tokens, token_note = _tokenizer(Path(tokenizer) if tokenizer else None)
    stats = _Stats(examples, count_tokens)
    fmt = get_format(from_format)
    for t in fmt.load(data, on_reject=lambda r: stats.unreadable.update([r.code])):
        stats.add(t)
    reasons, stages, n_rejects = _rejections(Path(rejects)) if rejects \
        else (Counter(), Counter(), 0)
    ctx = _context(stats, data, rejects, reasons, stages, n_rejects, token_note, title)
    write_page(output, "data.html.j2", **ctx)
    return {"records": stats.n, "rejects": n_rejects, "sources": dict(stats.sources),
            "categories": dict(stats.categories), "unreadable": dict(stats.unreadable),
            "rejected_by_reason": dict(reasons), "token_note": token_note}


def _context(stats: _Stats, data: Path, rejects: Any, reasons: Counter[str],
             stages: Counter[str], n_rejects: int, token_note: str,
             title: str | None) -> dict[str, Any]:
    def median(xs: list[int]) -> float:
        s = sorted(xs)
        return (s[len(s) // 2] + s[(len(s) - 1) // 2]) / 2 if s else 0

    total = stats.n + n_rejects
    return {
        "title": title or f"lamstudio data report: {data.name}",
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "data": str(data), "rejects_file": str(rejects) if rejects else "",
        "n": stats.n, "n_rejects": n_rejects,
        "kept_pct": f"{100 * stats.n / total:.1f}" if total else "—",
        "unreadable": sum(stats.unreadable.values()),
        "n_sources": len(stats.sources), "n_categories": len(stats.categories),
        "n_tools": len(stats.tools_called), "calls_total": sum(stats.calls),
        "median_tokens": median(stats.tokens), "median_turns": median(stats.turns),
        "token_note": token_note,
        "sources": stats.sources.most_common(), "categories": stats.categories.most_common(),
        "chart_sources": svg(bar_chart(stats.sources.most_common(15))),
        "chart_categories": svg(bar_chart(stats.categories.most_common(15), "green")),
        "chart_turns": svg(histogram(stats.turns, "user turns per record")),
        "chart_tokens": svg(histogram(stats.tokens, "tokens per record", "grey")),
        "chart_calls": svg(histogram(stats.calls, "tool calls per record", "green")),
        "chart_tools": svg(bar_chart(stats.tools_called.most_common(25))),
        "chart_reasons": svg(bar_chart(reasons.most_common(20), "red")),
        "stages": stages.most_common(), "reasons": reasons.most_common(),
        "examples": {cat: [_example(t) for t in ts] for cat, ts in sorted(stats.examples.items())},
    }

