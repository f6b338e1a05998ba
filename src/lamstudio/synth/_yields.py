"""Yields of a ``synth apigen`` run: how many generations survive each stage
(generated -> parsed -> format -> execution -> semantic -> dedup), overall and per query
style, tool category and prompt template, with reject reasons: APIGen's per-stage filter
rates, as a table and as an HTML report."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lamstudio._charts import bar_chart
from lamstudio._html import svg, write_page

FUNNEL = ("generated", "parsed", "format", "execution", "semantic", "dedup")
REJECT_STAGES = FUNNEL[1:]  # a reject at "parse" stops a generation before "parsed"
_STAGE_OF = {"parse": "parsed", "format": "format", "execution": "execution",
             "semantic": "semantic", "dedup": "dedup"}
GROUPS = ("style", "category", "template")


class YieldTally:
    def __init__(self) -> None:
        # group -> value -> Counter("generated", "lost:<funnel stage>")
        self.groups: dict[str, dict[str, Counter[str]]] = {g: {} for g in GROUPS}
        self.total: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()   # "stage/code" of rejects
        self.skipped: Counter[str] = Counter()   # "stage/code" of checks that passed unchecked

    def add(self, keys: dict[str, str], lost_at: str | None, code: str | None,
            skipped: list[str]) -> None:
        """One generation: ``lost_at`` is the reject stage (None: kept)."""
        counters = [self.total] + [self.groups[g].setdefault(keys[g], Counter())
                                   for g in GROUPS]
        for c in counters:
            c["generated"] += 1
            if lost_at is not None:
                c[f"lost:{_STAGE_OF[lost_at]}"] += 1
        if lost_at is not None:
            self.reasons[f"{lost_at}/{code}"] += 1
        self.skipped.update(skipped)

    @staticmethod
    def funnel(c: Counter[str]) -> list[int]:
        """Survivors after each funnel stage."""
        alive, out = c["generated"], []
        for stage in FUNNEL:
            alive -= c[f"lost:{stage}"] if stage != "generated" else 0
            out.append(alive)
        return out

    @property
    def generated(self) -> int:
        return self.total["generated"]

    @property
    def kept(self) -> int:
        return self.funnel(self.total)[-1]

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def balanced(self) -> bool:
        return self.generated == self.kept + self.rejected

    # -- journal state -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"groups": {g: {k: dict(v) for k, v in d.items()} for g, d in self.groups.items()},
                "total": dict(self.total), "reasons": dict(self.reasons),
                "skipped": dict(self.skipped)}

    def add_state(self, s: dict[str, Any]) -> None:
        for g, d in s["groups"].items():
            for k, v in d.items():
                self.groups[g].setdefault(k, Counter()).update(v)
        self.total.update(s["total"])
        self.reasons.update(s["reasons"])
        self.skipped.update(s["skipped"])

    def to_dict(self) -> dict[str, Any]:
        def rows(d: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
            return {k: dict(zip(FUNNEL, self.funnel(v), strict=True)) for k, v in sorted(d.items())}

        return {"generated": self.generated, "kept": self.kept, "rejected": self.rejected,
                "funnel": dict(zip(FUNNEL, self.funnel(self.total), strict=True)),
                **{f"by_{g}": rows(self.groups[g]) for g in GROUPS},
                "rejected_by_reason": dict(self.reasons.most_common()),
                "skipped_checks": dict(self.skipped.most_common())}

    def render(self, group: str = "style") -> Any:
        """A rich table: the funnel overall and per ``group``, survivors and percentages."""
        from rich.table import Table

        table = Table(title=f"synth apigen yields (per {group})")
        table.add_column(group)
        for stage in FUNNEL:
            table.add_column(stage, justify="right")
        for name, c in [("all", self.total), *sorted(self.groups[group].items())]:
            f = self.funnel(c)
            table.add_row(name, *[f"{v}" if i == 0 else f"{v} ({_pct(v, f[0])})"
                                  for i, v in enumerate(f)])
        return table


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def build_yield_report(summary: str | os.PathLike[str], rejects: str | os.PathLike[str],
                       output: str | os.PathLike[str], *, examples: int = 2) -> None:
    """The HTML yield report from a run's summary JSON and rejects file."""
    data = json.loads(Path(summary).read_text("utf-8"))
    y = data["yields"]
    shown: dict[str, list[dict[str, Any]]] = {}
    with open(rejects, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            key = f"{r['stage']}/{r['code']}"
            if len(shown.setdefault(key, [])) < examples:
                shown[key].append({"id": r["id"], "message": r["message"],
                                   "style": r.get("style"), "category": r.get("category"),
                                   "template": r.get("template"),
                                   "raw": _short(r.get("output") or r.get("record"))})
    write_page(output, "synth_yields.html.j2",
               title=f"lamstudio synth apigen: {Path(data['output']).name}",
               generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               funnel_names=FUNNEL, y=y, data=data,
               groups=[(g, [(k, list(v.values())) for k, v in y[f"by_{g}"].items()])
                       for g in GROUPS],
               chart_funnel=svg(bar_chart(list(y["funnel"].items()))),
               chart_reasons=svg(bar_chart(list(y["rejected_by_reason"].items()), "red")),
               examples=shown)


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."
