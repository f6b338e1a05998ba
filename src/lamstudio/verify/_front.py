"""The per-row half of a verify run: load a row into a record, format-check it and compute
its dedup keys. It depends on nothing but the row, so it runs in worker processes; the
stateful half (ids, execution, judge, dedup) stays in the main process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamstudio.io import BadRow, Row
from lamstudio.schema import IdRegistry, Trajectory
from lamstudio.sources import convert_rows, get_format
from lamstudio.verify._dedup import DedupKeys, DedupOptions, dedup_keys
from lamstudio.verify._format import FormatChecker, FormatOptions
from lamstudio.verify._verdict import Verdict

# Load-time codes that are format failures in APIGen's sense (output that does not parse).
_FORMAT_CODES = {"bad_arguments_json": "IFE"}


@dataclass
class Front:
    """One row after the per-row half: a record (with verdicts so far) or a reject."""

    file: str
    line: int
    record_id: str | None = None
    record: Trajectory | None = None
    record_data: dict[str, Any] | None = None  # instead of ``record`` across processes
    verdicts: list[Verdict] = field(default_factory=list)
    reject: Verdict | None = None
    raw: Any = None                      # what the rejects file keeps of the row
    keys: DedupKeys | None = None
    field_path: str = ""
    parsed: bool = False                 # the row is a valid record (its id counts)

    def trajectory(self) -> Trajectory:
        if self.record is None:
            assert self.record_data is not None
            self.record = Trajectory.model_validate(self.record_data)
        return self.record

    def data(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (what the kept file holds)."""
        if self.record is None and self.record_data is not None:
            return self.record_data
        return self.trajectory().model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class FrontOptions:
    from_format: str = "lamstudio"
    format_check: bool = True
    dedup: bool = True
    format: FormatOptions = field(default_factory=FormatOptions)
    dedup_options: DedupOptions = field(default_factory=DedupOptions)


class FrontStage:
    def __init__(self, options: FrontOptions) -> None:
        self.options = options
        self.from_row = get_format(options.from_format).from_row
        self.checker = FormatChecker(options.format)

    def run(self, row: Row | BadRow) -> Front:
        # A fresh IdRegistry per row: duplicate ids are judged later, in order, in the
        # main process; convert_rows is reused so loading matches `lamstudio convert`.
        try:
            res = next(convert_rows([row], self.from_row, stage="load", ids=IdRegistry()))
        except Exception as exc:  # noqa: BLE001 - a format module's bug must not end the run
            rid = row.value.get("id") if isinstance(getattr(row, "value", None), dict) else None
            return Front(row.file, row.line, rid if isinstance(rid, str) else None,
                         reject=Verdict.fail("load", "convert_error",
                                             f"{type(exc).__name__}: {exc}"),
                         raw=getattr(row, "value", None))
        if res.record is None:
            assert res.reject is not None
            r = res.reject
            stage, code = ("format", _FORMAT_CODES[r.code]) if r.code in _FORMAT_CODES \
                else ("load", r.code)
            return Front(row.file, row.line, r.id, reject=Verdict.fail(stage, code, r.message),
                         raw=r.raw, field_path=r.field)
        t = res.record
        front = Front(row.file, row.line, t.id, record=t, parsed=True)
        if self.options.format_check:
            verdict = self.checker.check(t)
            if not verdict.passed:
                front.reject, front.raw, front.record = verdict, row.value, None
                return front
            front.verdicts.append(verdict)
        if self.options.dedup:
            front.keys = dedup_keys(t, self.options.dedup_options)
        return front


# -- worker processes ------------------------------------------------------------------
_WORKER: FrontStage | None = None


def init_worker(options: FrontOptions) -> None:
    import signal

    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    _WORKER = FrontStage(options)


def run_batch(rows: list[Row | BadRow]) -> list[Front]:
    """Worker entry point: records travel back as plain dicts (pickling pydantic models
    costs several times more)."""
    assert _WORKER is not None
    out = []
    for row in rows:
        front = _WORKER.run(row)
        if front.record is not None:
            front.record_data = front.record.model_dump(mode="json", exclude_none=True)
            front.record = None
        out.append(front)
    return out
