"""``verify``: stream records through format -> execution -> semantic -> dedup, keep or
reject each with reasons, and survive interruptions (see ``_journal``).

Order: the per-row half (load + format + dedup keys) runs in ``workers`` processes; then,
per chunk and in input order, the main process claims ids, runs the chunk's calls in the
sandbox, asks the judge, and dedups. Dedup comes last so that only records that passed
everything enter its index (keep-first never points at a rejected record); the price is
that duplicates are executed and judged too.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.io import (
    BadRow,
    InputError,
    RawRow,
    Row,
    atomic_path,
    check_input,
    count_lines,
    default_rejects_path,
    is_plain_jsonl,
    jsonl_ranges,
    read_raw_rows,
)
from lamstudio.schema import IdRegistry, Trajectory
from lamstudio.sources import get_format
from lamstudio.verify._config import ALL_STAGES, JudgeConfig, VerifyConfig
from lamstudio.verify._dedup import Deduplicator, dedup_keys
from lamstudio.verify._execution import ExecutionChecker
from lamstudio.verify._front import (
    Front,
    FrontOptions,
    FrontStage,
    init_worker,
    pack_rows,
    run_batch,
    run_range,
    unpack_fronts,
)
from lamstudio.verify._journal import Journal, input_identity, journal_dir
from lamstudio.verify._semantic import JudgeOptions, SemanticJudge, no_judge
from lamstudio.verify._tally import VerifyTally
from lamstudio.verify._verdict import Verdict
from lamstudio.verify._workers import Workers

AnyRow = RawRow | Row | BadRow
_BATCH = 256  # rows per task sent to a worker process
_RANGE_BYTES = 1 << 18  # bytes of a JSONL file per task a worker reads itself


@dataclass
class VerifyResult:
    tally: VerifyTally
    notes: list[str]
    seconds: float
    resumed_chunks: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.tally.to_dict(), "notes": self.notes, "seconds": round(self.seconds, 3),
                "resumed_chunks": self.resumed_chunks}


def default_summary_path(output: str | os.PathLike[str]) -> Path:
    out = Path(output)
    return out.with_name(f"{out.name.split('.')[0]}.summary.json")


def verify(inputs: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str],
           rejects: str | os.PathLike[str] | None = None,
           config: VerifyConfig | None = None, *, summary: str | os.PathLike[str] | None = None,
           restart: bool = False, keep_journal: bool = False,
           progress: Callable[[int | None], Callable[[int], None]] | None = None,
           ) -> VerifyResult:
    """Verify ``inputs`` into ``output`` (kept) and ``rejects``; resumable (see module doc).

    ``progress(total_rows)`` returns a callable advanced by the number of rows done.
    Raises ``InputError`` for unreadable inputs, ``JournalMismatch`` when an unfinished run
    with other options is in the way, ``LLMError`` (``LLMUnavailable`` when it stays down)
    when the judge fails: committed chunks stay in the journal and a rerun resumes.
    """
    cfg = config or VerifyConfig()
    run = _Run([Path(p) for p in inputs], Path(output),
               Path(rejects) if rejects else default_rejects_path(output), cfg)
    return run.execute(Path(summary) if summary else default_summary_path(output), restart,
                       keep_journal, progress)


class _Run:
    def __init__(self, inputs: list[Path], output: Path, rejects: Path,
                 cfg: VerifyConfig) -> None:
        unknown = set(cfg.stages) - set(ALL_STAGES)
        if unknown:
            raise ValueError(f"unknown stage(s) {sorted(unknown)}; choose from {ALL_STAGES}")
        if output.suffix == ".parquet":
            raise InputError("verify writes JSON Lines (.jsonl or .jsonl.gz), not Parquet")
        for p in inputs:
            check_input(p)
        self.inputs, self.output, self.rejects, self.cfg = inputs, output, rejects, cfg
        self.fmt = get_format(cfg.from_format)
        self.journal = Journal(journal_dir(output))
        self.tally = VerifyTally()
        self.ids = IdRegistry()
        self.dedup = Deduplicator(cfg.dedup) if "dedup" in cfg.stages else None
        self.markers: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self._resumed = 0

    # -- the run ---------------------------------------------------------------------
    def execute(self, summary: Path, restart: bool, keep_journal: bool,
                progress: Callable[[int | None], Callable[[int], None]] | None) -> VerifyResult:
        started = time.perf_counter()
        manifest = {"inputs": [input_identity(p) for p in self.inputs],
                    "config": self.cfg.fingerprint(), "version": 1}
        self.markers = self.journal.open(manifest, restart)
        self._replay()
        total = _total_rows(self.inputs)
        advance = progress(total) if progress else (lambda n: None)
        done_rows = sum(m["rows"] for m in self.markers)
        advance(done_rows)
        # The worker pool forks before the sandbox starts, so it inherits none of its pipes.
        with self._fronts(done_rows) as fronts_in, self._backends() as (sandbox, judge):
            execution = ExecutionChecker(sandbox, self.cfg.execution) if sandbox else None
            index = len(self.markers)
            for fronts in self._chunks(fronts_in):
                self._commit(index, self._back(fronts, execution, judge))
                advance(len(fronts))
                index += 1
        self._notes(judge)
        result = VerifyResult(self.tally, self.notes, time.perf_counter() - started,
                              self._resumed)
        self._assemble(summary, result)
        if not keep_journal:
            self.journal.remove()
        return result

    def _replay(self) -> None:
        """Rebuild ids, dedup index and tally from the committed chunks."""
        self._resumed = len(self.markers)
        for index, marker in enumerate(self.markers):
            self.tally.add_state(marker["tally"])
            for rid, where in marker["ids"]:
                self.ids.claim(rid, where)
            if self.dedup is not None:
                with open(self.journal.kept_path(index), encoding="utf-8") as fh:
                    for line in fh:
                        t = Trajectory.model_validate_json(line)
                        self.dedup.add(t.id, dedup_keys(t, self.cfg.dedup))
                self.dedup.clusters.update(marker["clusters"])

    def _rows(self, skip: int, inputs: list[Path] | None = None) -> Iterator[AnyRow]:
        # JSONL lines stay undecoded: validated from bytes, and cheap to send to workers
        iter_raw = getattr(self.fmt, "iter_raw", read_raw_rows)
        rows = itertools.chain.from_iterable(iter_raw(str(p)) for p in inputs or self.inputs)
        return itertools.islice(rows, skip, None)

    def _front_options(self) -> FrontOptions:
        return FrontOptions(self.cfg.from_format, "format" in self.cfg.stages,
                            "dedup" in self.cfg.stages, self.cfg.format, self.cfg.dedup)

    def _chunks(self, fronts: Iterator[Front]) -> Iterator[list[Front]]:
        while chunk := list(itertools.islice(fronts, self.cfg.chunk_size)):
            yield chunk

    @contextlib.contextmanager
    def _fronts(self, skip: int) -> Iterator[Iterator[Front]]:
        """The rows after the first ``skip`` through the per-row half: in this process
        (1 worker), in worker processes that read byte ranges of plain JSONL files
        themselves, or else in a pool fed with rows read here (gzip, JSON arrays,
        Parquet, a format's own reader, and a resumed run)."""
        if self.cfg.workers <= 1:
            stage = FrontStage(self._front_options())
            yield (stage.run(r) for r in self._rows(skip))
            return
        if skip == 0 and not hasattr(self.fmt, "iter_raw") \
                and all(is_plain_jsonl(p) for p in self.inputs):
            with Workers(self.cfg.workers, init_worker, (self._front_options(),),
                         run_range) as workers:
                yield (f for packed in workers.map(self._ranges()) for f in unpack_fronts(packed))
            return
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        pool = ctx.Pool(self.cfg.workers, initializer=init_worker,
                        initargs=(self._front_options(),))
        try:
            yield _parallel_fronts(pool, self._rows(skip), self.cfg.workers)
        finally:
            pool.terminate()
            pool.join()

    def _ranges(self) -> Iterator[tuple[str, int, int, int]]:
        for p in self.inputs:
            for start, end, line in jsonl_ranges(p, _RANGE_BYTES):
                yield str(p), start, end, line

    # -- the stateful half, per chunk ----------------------------------------------------
    def _back(self, fronts: list[Front], execution: ExecutionChecker | None,
              judge: SemanticJudge | None) -> _ChunkOut:
        out = _ChunkOut()
        alive: list[Front] = []
        for f in fronts:
            if f.parsed and f.record_id is not None:
                where = f"{f.file}:{f.line}"
                dup = self.ids.claim(f.record_id, where)
                out.ids.append([f.record_id, where])
                if dup is not None:
                    f.reject, f.raw = Verdict.fail("load", dup.code, str(dup)), f.raw or _dump(f)
            if f.reject is not None:
                out.reject(f)
            else:
                alive.append(f)
        if "execution" in self.cfg.stages:
            alive = self._stage(alive, out, self._execute(alive, execution))
        if "semantic" in self.cfg.stages:
            verdicts = judge.judge_many([f.trajectory() for f in alive]) if judge and alive \
                else [no_judge() for _ in alive]
            alive = self._stage(alive, out, verdicts)
        for f in alive:
            if self.dedup is not None:
                assert f.keys is not None
                verdict = self.dedup.check(f.record_id or "", f.keys)
                if not verdict.passed:
                    f.reject = verdict
                    out.reject(f)
                    out.clusters[verdict.details["duplicate_of"]] = verdict.details["cluster"]
                    continue
                f.verdicts.append(verdict)
            out.keep(f)
        return out

    def _execute(self, alive: list[Front], execution: ExecutionChecker | None) -> list[Verdict]:
        assert execution is not None
        pairs = execution.check_many([f.trajectory() for f in alive])
        for f, (_, t) in zip(alive, pairs, strict=True):
            f.record = t
        return [v for v, _ in pairs]

    def _stage(self, alive: list[Front], out: _ChunkOut, verdicts: list[Verdict]) -> list[Front]:
        survivors = []
        for f, v in zip(alive, verdicts, strict=True):
            if v.passed:
                f.verdicts.append(v)
                survivors.append(f)
            else:
                f.reject = v
                out.reject(f)
        return survivors

    def _commit(self, index: int, out: _ChunkOut) -> None:
        marker = {"index": index, "rows": out.rows, "tally": out.tally.state(), "ids": out.ids,
                  "clusters": out.clusters, "kept_ids": out.kept_ids}
        self.journal.commit(index, out.kept, out.rejects, marker)
        self.tally.merge(out.tally)
        self.markers.append(marker)

    # -- outputs ---------------------------------------------------------------------
    def _assemble(self, summary: Path, result: VerifyResult) -> None:
        clusters = self.dedup.clusters if self.dedup else {}
        opener = gzip.open if self.output.suffix == ".gz" else open
        with atomic_path(self.output) as tmp, opener(tmp, "wb") as fh:
            for index, marker in enumerate(self.markers):
                path = self.journal.kept_path(index)
                if clusters.keys().isdisjoint(marker["kept_ids"]):
                    _copy(path, fh)  # nothing to add to this chunk's lines
                    continue
                with open(path, encoding="utf-8") as src:
                    for line, kid in zip(src, marker["kept_ids"], strict=True):
                        text = _with_cluster(line, clusters[kid]) if kid in clusters else line
                        fh.write(text.encode("utf-8"))
        with atomic_path(self.rejects) as tmp, open(tmp, "wb") as fh:
            for index in range(len(self.markers)):
                _copy(self.journal.rejects_path(index), fh)
        with atomic_path(summary) as tmp:
            tmp.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))

    def _notes(self, judge: SemanticJudge | None) -> None:
        if "semantic" in self.cfg.stages and judge is None:
            self.notes.append("semantic stage skipped: no judge configured "
                              "(--judge-url / --judge-model)")
        for name in ALL_STAGES:
            if name not in self.cfg.stages:
                self.notes.append(f"{name} stage not run (--stages)")
        skipped = self.tally.stages.get("execution")
        unexecutable = skipped.reasons.get("no_executable_tool", 0) if skipped else 0
        if unexecutable:  # the data's tools have no code here: say what to do about it
            assert skipped is not None
            self.notes.append(
                f"execution: {unexecutable:,} of {skipped.read:,} records call tools that no "
                "module provides (no_executable_tool); give their code with --tools "
                "MODULE.py, or pass them unchecked with --skip-unexecutable")
        if skipped and skipped.warnings.get("no_executable_tool"):
            self.notes.append(f"execution: {skipped.warnings['no_executable_tool']:,} records "
                              "passed unchecked (no executable tool, --skip-unexecutable)")

    def _backends(self) -> Any:
        return _Backends(self.cfg)


@dataclass
class _ChunkOut:
    kept: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    kept_ids: list[str] = field(default_factory=list)
    ids: list[list[str]] = field(default_factory=list)
    clusters: dict[str, str] = field(default_factory=dict)
    tally: VerifyTally = field(default_factory=VerifyTally)
    rows: int = 0

    def keep(self, f: Front) -> None:
        self.rows += 1
        self.kept.append(f.kept_line())
        assert f.record_id is not None
        self.kept_ids.append(f.record_id)
        self.tally.keep(f.file, f.verdicts)

    def reject(self, f: Front) -> None:
        self.rows += 1
        v = f.reject
        assert v is not None
        out: dict[str, Any] = {"file": f.file, "line": f.line, "id": f.record_id,
                               "stage": v.stage, "code": v.code, "message": v.message}
        if f.field_path:
            out["field"] = f.field_path
        if v.stage == "dedup":
            out["duplicate_of"] = v.details["duplicate_of"]
            out["cluster"] = v.details["cluster"]
        elif v.details:
            out["details"] = v.details
        out["raw"] = f.raw if f.raw is not None else _dump(f)
        self.rejects.append(json.dumps(out, ensure_ascii=False, separators=(",", ":"),
                                       default=str))
        self.tally.reject(f.file, v.stage, v.code or "rejected", f.verdicts)


def _dump(f: Front) -> Any:
    if f.record is None and f.record_json is None:
        return None
    return f.data()


def _with_cluster(line: str, cluster: str) -> str:
    data = json.loads(line)
    data["meta"]["verification"]["dedup_cluster"] = cluster
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def _copy(path: Path, out: Any) -> None:
    with open(path, "rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)


def _total_rows(inputs: Iterable[Path]) -> int | None:
    counts = [count_lines(p) for p in inputs]
    return None if any(c is None for c in counts) else sum(c or 0 for c in counts)


def _parallel_fronts(pool: Any, rows: Iterator[AnyRow],
                     workers: int) -> Iterator[Front]:
    """The per-row half in the pool, results in input order, with a bounded number of
    batches in flight (memory stays flat on any input size)."""
    pending: deque[Any] = deque()
    batches = iter(lambda: pack_rows(list(itertools.islice(rows, _BATCH))), [])
    for batch in batches:
        pending.append(pool.apply_async(run_batch, (batch,)))
        if len(pending) >= 2 * workers:
            yield from unpack_fronts(pending.popleft().get())
    while pending:
        yield from unpack_fronts(pending.popleft().get())


class _Backends:
    """Starts the sandbox and the judge only for the stages that need them."""

    def __init__(self, cfg: VerifyConfig) -> None:
        self.cfg = cfg
        self.sandbox: Any = None

    def __enter__(self) -> tuple[Any, SemanticJudge | None]:
        judge = None
        if "semantic" in self.cfg.stages and self.cfg.judge is not None:
            judge = _make_judge(self.cfg.judge)
        if "execution" in self.cfg.stages:
            from lamstudio.tools import DEFAULT_MODULES, Sandbox

            modules = (list(DEFAULT_MODULES) if self.cfg.builtin_tools else []) \
                + list(self.cfg.tool_modules)
            if not modules:
                raise InputError("the execution stage needs tools: pass --tools MODULE.py")
            self.sandbox = Sandbox(modules, workers=max(1, self.cfg.workers),
                                   timeout_s=self.cfg.exec_timeout_s)
            self.sandbox.start()
        return self.sandbox, judge

    def __exit__(self, *exc: Any) -> None:
        if self.sandbox is not None:
            self.sandbox.close()


def _make_judge(j: JudgeConfig) -> SemanticJudge:
    from lamstudio.llm import OpenAIBackend

    backend = OpenAIBackend(j.url, j.model, api_key_env=j.key_env, timeout_s=j.timeout_s,
                            max_retries=j.max_retries, concurrency=j.concurrency,
                            cache_dir=j.cache_dir)
    return SemanticJudge(backend, JudgeOptions(k=j.k, temperature=j.temperature))
