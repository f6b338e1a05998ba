"""RPO's output folder, written so that a rerun continues where the last one stopped::

    OUT/config.json              what the run is (env, splits' task ids, mode, schedule, ...)
    OUT/rounds/000/              round 0: the starting principles (none: the plain agent)
        val.jsonl                validation trajectories (records)
        principles.json          {"principles": [...], "round": 0}
        report.json              written last: the round is finished
    OUT/rounds/NNN/              rounds 1..R, the same plus
        train.jsonl              the batch's trajectories
        reflections.jsonl        one line per reflection (or the reason it is unusable)
    OUT/history.jsonl            every finished round's report, one a line
    OUT/best.json                the principles with the best validation reward

Every file is written atomically (``lamstudio.io.atomic_path``) and a round's
``report.json`` is written after its other files: a round without one is not finished and
is played again on the next run. ``history.jsonl`` and ``best.json`` are rebuilt from the
reports after every round.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lamstudio.io import JsonValueError, atomic_path, parse_json, write_jsonl


class ResumeError(ValueError):
    """OUT holds another run (or a damaged one): the message says what differs."""


class RunStore:
    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)

    def round_dir(self, r: int) -> Path:
        return self.out / "rounds" / f"{r:03d}"

    def write_json(self, path: Path, value: Any) -> None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")

    def write_rows(self, path: Path, rows: Iterable[Any]) -> None:
        write_jsonl(path, rows)

    def claim(self, fixed: dict[str, Any]) -> None:
        """Start a run in OUT, or check that OUT's run is this one (same ``fixed``)."""
        path = self.out / "config.json"
        if not path.exists():
            self.write_json(path, fixed)
            return
        old = self._read(path)
        diff = [k for k in sorted({*old, *fixed}) if old.get(k) != fixed.get(k)]
        if diff:
            k = diff[0]
            raise ResumeError(f"{self.out} holds another RPO run: {k} was {old.get(k)!r}, "
                              f"now {fixed.get(k)!r} (use another -o, or remove that folder "
                              "to start over)")

    def reports(self) -> list[dict[str, Any]]:
        """The finished rounds' reports, 0, 1, ... up to the first round not finished."""
        out = []
        while (path := self.round_dir(len(out)) / "report.json").exists():
            out.append(self._read(path))
        return out

    def finish(self, report: dict[str, Any], best: dict[str, Any]) -> None:
        """The round's report (it is finished), then history and best from all reports."""
        self.write_json(self.round_dir(report["round"]) / "report.json", report)
        self.write_rows(self.out / "history.jsonl", self.reports())
        self.write_json(self.out / "best.json", best)

    def _read(self, path: Path) -> Any:
        try:
            value = parse_json(path.read_bytes())
        except (OSError, JsonValueError) as exc:
            raise ResumeError(f"{path}: cannot read it ({exc}); remove the folder to start "
                              "over") from None
        if not isinstance(value, dict):
            raise ResumeError(f"{path}: expected a JSON object")
        return value
