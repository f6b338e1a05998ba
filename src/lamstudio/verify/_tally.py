"""The books of a verify run: ``read = kept + rejected`` overall and for every stage.

A stage's tally counts the records that reached it (``read``), those it passed (``kept``,
skipped ones included and also counted under ``warnings`` by their code) and those it
rejected, by reason. Tallies of chunks add up, so a resumed run reports the same numbers
as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamstudio.io import Tally
from lamstudio.verify._verdict import Verdict

STAGES = ("load", "format", "execution", "semantic", "dedup")
_RANK = {s: i for i, s in enumerate(STAGES)}


def _tally_state(t: Tally) -> dict[str, Any]:
    return {"read": t.read, "kept": t.kept, "rejected": t.rejected,
            "reasons": dict(t.reasons), "warnings": dict(t.warnings), "files": dict(t.files)}


def _add_state(t: Tally, state: dict[str, Any]) -> None:
    t.read += state["read"]
    t.kept += state["kept"]
    t.rejected += state["rejected"]
    t.reasons.update(state["reasons"])
    t.warnings.update(state["warnings"])
    t.files.update(state["files"])


@dataclass
class VerifyTally:
    total: Tally = field(default_factory=lambda: Tally("verify"))
    stages: dict[str, Tally] = field(default_factory=dict)

    def stage(self, name: str) -> Tally:
        if name not in self.stages:
            self.stages[name] = Tally(name)
            # keep pipeline order whatever order stages were first seen in
            order = {s: i for i, s in enumerate(STAGES)}
            self.stages = dict(sorted(self.stages.items(), key=lambda kv: order.get(kv[0], 99)))
        return self.stages[name]

    def passed(self, file: str, verdicts: list[Verdict]) -> None:
        """Count verdicts of stages a record passed (skips included)."""
        for v in verdicts:
            st = self.stage(v.stage)
            st.keep(file)
            if v.skipped and v.code:
                st.warn(v.code)

    def keep(self, file: str, verdicts: list[Verdict]) -> None:
        self.stage("load").keep(file)  # every record that got this far loaded
        self.passed(file, verdicts)
        self.total.keep(file)

    def reject(self, file: str, stage: str, code: str, passed: list[Verdict]) -> None:
        if stage != "load":
            self.stage("load").keep(file)
        # Only stages before the rejecting one were passed: a duplicate id is found (load)
        # after the format check ran, and must not count as having passed format.
        rank = _RANK.get(stage, len(STAGES))
        self.passed(file, [v for v in passed if _RANK.get(v.stage, len(STAGES)) < rank])
        self.stage(stage).reject(code, file)
        self.total.reject(f"{stage}:{code}", file)

    @property
    def balanced(self) -> bool:
        return self.total.balanced and all(t.balanced for t in self.stages.values())

    def merge(self, other: VerifyTally) -> None:
        self.add_state(other.state())

    def state(self) -> dict[str, Any]:
        return {"total": _tally_state(self.total),
                "stages": {k: _tally_state(v) for k, v in self.stages.items()}}

    def add_state(self, state: dict[str, Any]) -> None:
        _add_state(self.total, state["total"])
        for name in STAGES:  # fixed order keeps the summary stable
            if name in state["stages"]:
                _add_state(self.stage(name), state["stages"][name])

    def to_dict(self) -> dict[str, Any]:
        out = self.total.to_dict()
        out["balanced"] = self.balanced
        out["stages"] = {name: {"in": t.read, "passed": t.kept, "rejected": t.rejected,
                                "rejected_by_reason": dict(t.reasons.most_common()),
                                "skipped": dict(t.warnings.most_common())}
                         for name, t in self.stages.items()}
        return out

    def render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        ok = "[green]read = kept + rejected ✓[/]" if self.balanced else "[red]UNBALANCED[/]"
        title = f"verify: {ok}"
        table = Table(title=title, header_style="bold",  # as wide as its title (no wrap)
                      min_width=len(Text.from_markup(title)) + 4)
        for col in ("stage", "in", "passed", "rejected", "skipped"):
            table.add_column(col, justify="left" if col == "stage" else "right")
        for name, t in self.stages.items():
            skipped = sum(t.warnings.values())
            table.add_row(name, f"{t.read:,}", f"[green]{t.kept:,}[/]",
                          f"[red]{t.rejected:,}[/]" if t.rejected else "0",
                          f"[yellow]{skipped:,}[/]" if skipped else "0")
            for code, n in t.reasons.most_common():
                table.add_row(f"  [dim]rejected:[/] {code}", "", "", f"{n:,}", "")
            for code, n in t.warnings.most_common():
                table.add_row(f"  [dim]skipped:[/] {code}", "", "", "", f"{n:,}")
        table.add_row("[bold]total[/]", f"{self.total.read:,}", f"[green]{self.total.kept:,}[/]",
                      f"{self.total.rejected:,}", "")
        return table

