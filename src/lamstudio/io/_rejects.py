"""Rejects and the books every stage keeps: rows read = rows kept + rows rejected."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.io._writers import JsonlWriter

_RAW_LIMIT = 2000


def default_rejects_path(output: str | os.PathLike[str]) -> Path:
    """Where a stage writes what it rejects when not told: OUT's stem + ``.rejects.jsonl``."""
    out = Path(output)
    return out.with_name(f"{out.name.split('.')[0]}.rejects.jsonl")


@dataclass
class Reject:
    """One rejected row, written next to what a stage keeps."""

    file: str
    line: int
    code: str
    message: str
    field: str = ""
    id: str | None = None
    stage: str = "convert"
    raw: Any = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        raw = out["raw"]
        if isinstance(raw, str) and len(raw) > _RAW_LIMIT:
            out["raw"] = raw[:_RAW_LIMIT] + f"... [{len(raw) - _RAW_LIMIT} more chars]"
        return out


class RejectWriter:
    """A JSONL rejects file (atomic like every output); ``path=None`` only counts."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._writer = JsonlWriter(path) if path else None

    def __enter__(self) -> RejectWriter:
        if self._writer:
            self._writer.__enter__()
        return self

    def write(self, reject: Reject) -> None:
        if self._writer:
            self._writer.write(reject.to_dict())

    def __exit__(self, *exc: Any) -> bool | None:
        return self._writer.__exit__(*exc) if self._writer else None


@dataclass
class Tally:
    """Counts for one stage. ``balanced`` must hold at the end of every run."""

    stage: str = "convert"
    read: int = 0
    kept: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    files: Counter[str] = field(default_factory=Counter)

    def keep(self, file: str = "") -> None:
        self.read += 1
        self.kept += 1
        self.files[file] += 1

    def reject(self, code: str, file: str = "") -> None:
        self.read += 1
        self.rejected += 1
        self.reasons[code] += 1
        self.files[file] += 1

    def warn(self, code: str) -> None:
        self.warnings[code] += 1

    @property
    def balanced(self) -> bool:
        return self.read == self.kept + self.rejected == sum(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "read": self.read, "kept": self.kept,
                "rejected": self.rejected, "balanced": self.balanced,
                "rejected_by_reason": dict(self.reasons.most_common()),
                "warnings": dict(self.warnings.most_common())}

    def render(self) -> Any:
        """A rich renderable summary."""
        from rich.table import Table
        from rich.text import Text

        ok = "[green]read = kept + rejected ✓[/]" if self.balanced else "[red]UNBALANCED[/]"
        title = f"{self.stage}: {ok}"
        # as wide as its title: a narrow two-column table would wrap it mid-phrase
        table = Table(title=title, show_header=True, header_style="bold",
                      min_width=len(Text.from_markup(title)) + 4)
        table.add_column("")
        table.add_column("rows", justify="right")
        table.add_row("read", f"{self.read:,}")
        table.add_row("kept", f"[green]{self.kept:,}[/]")
        table.add_row("rejected", f"[red]{self.rejected:,}[/]" if self.rejected else "0")
        for code, n in self.reasons.most_common():
            table.add_row(f"  rejected: {code}", f"{n:,}")
        for code, n in self.warnings.most_common():
            table.add_row(f"  [yellow]warning[/]: {code}", f"{n:,}")
        return table
