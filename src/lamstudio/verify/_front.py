"""The per-row half of a verify run: load a row into a record, format-check it and compute
its dedup keys. It depends on nothing but the row, so it runs in worker processes; the
stateful half (ids, execution, judge, dedup) stays in the main process."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from lamstudio.io import BadRow, RawRow, Row, needs_care, parse_line, read_jsonl_range
from lamstudio.schema import IdRegistry, Trajectory, consistent
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
    record_json: str | None = None       # instead of ``record`` across processes
    verdicts: list[Verdict] = field(default_factory=list)
    reject: Verdict | None = None
    raw: Any = None                      # what the rejects file keeps of the row
    keys: DedupKeys | None = None
    field_path: str = ""
    parsed: bool = False                 # the row is a valid record (its id counts)

    def trajectory(self) -> Trajectory:
        if self.record is None:
            assert self.record_json is not None
            self.record = Trajectory.model_validate_json(self.record_json)
            self.record.meta.pop(_VERIFICATION, None)
            self.record_json = None
        return self.record

    def data(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (what the rejects file keeps)."""
        if self.record is None and self.record_json is not None:
            data = json.loads(self.record_json)  # json, not orjson: big ints stay exact
            data["meta"].pop(_VERIFICATION, None)
            return data
        return self.trajectory().model_dump(mode="json", exclude_none=True)

    def kept_line(self) -> str:
        """The kept record as one JSON line, ``meta.verification`` holding the verdicts."""
        verification = {v.stage: v.to_dict() for v in self.verdicts}
        if self.record_json is None:
            return _with_verification(self.trajectory(), verification)
        # A worker's JSON ends with the empty placeholder: splice the verdicts in.
        assert self.record_json.endswith(_PLACEHOLDER_END), self.record_json[-40:]
        return (self.record_json[:-len(_PLACEHOLDER_END)] + _VERIFICATION_KEY
                + _dumps(verification) + "}}")


_VERIFICATION = "verification"
_VERIFICATION_KEY = f'"{_VERIFICATION}":'
_PLACEHOLDER_END = _VERIFICATION_KEY + "{}}}"


def _dumps(value: Any) -> str:
    try:  # verdicts hold plain JSON values; orjson is ~5x faster than json here
        return orjson.dumps(value).decode()
    except TypeError:  # an integer past 64 bits, a value json turns into a string
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _with_verification(t: Trajectory, verification: dict[str, Any]) -> str:
    """``meta.verification`` set last (meta is the record's last field), dumped by
    pydantic's serialiser (several times faster than ``model_dump`` + ``json.dumps``)."""
    t.meta.pop(_VERIFICATION, None)
    t.meta[_VERIFICATION] = verification
    return t.model_dump_json(exclude_none=True)


def fast_record(data: bytes) -> Trajectory | None:
    """A lamstudio JSON line validated straight from bytes, or None when the careful path
    must decide (a value a fast parser could change, or any problem: the careful path
    gives the reason code, so rejects read the same on both paths)."""
    if needs_care(data):
        return None
    try:
        t = Trajectory.model_validate_json(data)
    except ValidationError:
        return None
    return t if consistent(t) else None


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
        # lamstudio lines validate straight from bytes; other formats map a dict first
        self.fast = options.from_format == "lamstudio"

    def run(self, row: RawRow | Row | BadRow) -> Front:
        if isinstance(row, RawRow):
            t = fast_record(row.data) if self.fast else None
            if t is not None:
                return self._checked(row.file, row.line, t, row.data)
            row = parse_line(row)
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
        assert isinstance(row, Row)
        return self._checked(row.file, row.line, res.record, row.value)

    def _checked(self, file: str, line: int, t: Trajectory, raw: Any) -> Front:
        front = Front(file, line, t.id, record=t, parsed=True)
        if self.options.format_check:
            verdict = self.checker.check(t)
            if not verdict.passed:
                if isinstance(raw, bytes):
                    raw = json.loads(raw)  # the row as read, exactly (rare: rejects only)
                front.reject, front.raw, front.record = verdict, raw, None
                return front
            front.verdicts.append(verdict)
        if self.options.dedup:
            front.keys = dedup_keys(t, self.options.dedup_options)
        # The record travels on as JSON text: a chunk of live pydantic models (~150 objects
        # each) made the garbage collector cost more than validation itself; later stages
        # that need the model (execution, semantic) validate it again.
        # The empty placeholder comes last so that the verdicts can be spliced in.
        front.record_json = _with_verification(t, {})
        front.record = None
        return front


# -- worker processes ------------------------------------------------------------------
_WORKER: FrontStage | None = None


def init_worker(options: FrontOptions) -> None:
    import signal

    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    _WORKER = FrontStage(options)


def run_batch(rows: list[Any]) -> list[tuple[Any, ...]]:
    """Worker entry point. Rows come as ``(file, line, bytes)`` for JSONL lines (``pack_rows``)
    and go back as plain tuples with the record as JSON text (``unpack_fronts``): pickle
    handles tuples of str/bytes/int in C, while dataclasses and pydantic models cost it
    several times more (unpickling Front objects cost 29 µs a row, tuples ~5)."""
    assert _WORKER is not None
    return [_pack(_WORKER.run(RawRow(*r) if type(r) is tuple else r)) for r in rows]


def run_range(path: str, start: int, end: int, first_line: int) -> list[tuple[Any, ...]]:
    """Worker entry point for a byte range of a plain JSONL file (``jsonl_ranges``): the
    worker reads the lines itself, so the main process neither reads nor pickles them."""
    assert _WORKER is not None
    return [_pack(_WORKER.run(r)) for r in read_jsonl_range(path, start, end, first_line)]


def pack_rows(rows: list[RawRow | Row | BadRow]) -> list[Any]:
    return [(r.file, r.line, r.data) if type(r) is RawRow else r for r in rows]


def _pack(f: Front) -> tuple[Any, ...]:
    assert f.record is None, "the per-row half hands records on as JSON text"
    return (f.file, f.line, f.record_id, f.record_json, [_vtuple(v) for v in f.verdicts],
            None if f.reject is None else _vtuple(f.reject), f.raw,
            None if f.keys is None else (f.keys.exact, f.keys.signature, f.keys.group),
            f.field_path, f.parsed)


def unpack_fronts(packed: list[tuple[Any, ...]]) -> list[Front]:
    out = []
    for file, line, rid, rjson, verdicts, reject, raw, keys, fpath, parsed in packed:
        out.append(Front(file, line, rid, None, rjson, [Verdict(*v) for v in verdicts],
                         None if reject is None else Verdict(*reject), raw,
                         None if keys is None else DedupKeys(*keys), fpath, parsed))
    return out


def _vtuple(v: Verdict) -> tuple[Any, ...]:
    return (v.passed, v.code, v.message, v.stage, v.details, v.skipped)
