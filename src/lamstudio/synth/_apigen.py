"""``apigen(config)``: APIGen's single-turn generation, end to end.

For each planned task (``_plan``): prompt the generator for a query and its answer calls,
parse the reply into a record (``_parse``), then format -> execution -> semantic -> dedup
with ``lamstudio.verify``'s checks. Every generation ends either kept or in the rejects
file with its stage and reason code (generated = kept + rejected).

Tasks run in chunks; while one chunk is being checked the next ones are already
generating, so the checks hide behind the generator's latency. Each checked chunk is committed to a
journal (``lamstudio.verify.Journal``): an interrupted run (or one stopped by a generator
or judge fault) resumes where it stopped when the same command is run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.io import JsonValueError, atomic_path
from lamstudio.llm import (
    ChatBackend,
    ChatResult,
    LLMError,
    LocalBackend,
    OpenAIBackend,
    gather_or_cancel,
    local_backend,
)
from lamstudio.schema import Trajectory
from lamstudio.synth._config import ApigenConfig, BackendConfig
from lamstudio.synth._parse import build_record, parse_reply, style_verdict
from lamstudio.synth._plan import Task, make_plan
from lamstudio.synth._pool import ToolPool
from lamstudio.synth._prompts import build_messages, load_seeds, load_templates
from lamstudio.synth._safe import (
    MESSAGE_CHARS,
    dumps,
    excerpt,
    internal,
    reject_line,
    safe_text,
)
from lamstudio.synth._yields import YieldTally, build_yield_report
from lamstudio.verify import (
    Deduplicator,
    ExecutionChecker,
    ExecutionOptions,
    FormatChecker,
    Journal,
    JudgeOptions,
    SemanticJudge,
    Verdict,
    dedup_keys,
    journal_dir,
)

_AHEAD = 2  # chunks generating beyond the one being checked: the generator never waits
Progress = Callable[[int | None], Callable[[int], None]]


@dataclass
class ApigenResult:
    tally: YieldTally
    output: Path
    rejects: Path
    summary: Path
    report: Path
    seconds: float
    resumed_tasks: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"yields": self.tally.to_dict(), "output": str(self.output),
                "rejects": str(self.rejects), "report": str(self.report),
                "seconds": round(self.seconds, 3), "resumed_tasks": self.resumed_tasks,
                "notes": self.notes}


def make_backend(cfg: BackendConfig, concurrency: int = 8) -> ChatBackend:
    """A backend from its config: a local model or an OpenAI-compatible server."""
    if cfg.kind in ("local", "llamacpp"):
        return local_backend(cfg.model, "transformers" if cfg.kind == "local" else cfg.kind,
                             adapter=cfg.adapter, gguf=cfg.gguf, batch_size=cfg.batch_size,
                             cache_dir=cfg.cache_dir, threads=cfg.threads)
    return OpenAIBackend(str(cfg.url), cfg.model, api_key_env=cfg.key_env,
                         timeout_s=cfg.timeout_s, concurrency=concurrency,
                         cache_dir=cfg.cache_dir)


def apigen(config: ApigenConfig, *, restart: bool = False, keep_journal: bool = False,
           progress: Progress | None = None, generator: ChatBackend | None = None,
           judge: ChatBackend | None = None) -> ApigenResult:
    """Run (or resume) one generation run; see the module doc. ``generator`` / ``judge``
    override the backends the config names (e.g. a model already loaded).

    Raises ``InputError`` for unusable tool / seed / prompt files, ``JournalMismatch`` when
    an unfinished run with other options is in the way, ``LLMError`` (and its
    ``LLMUnavailable``) when the generator or judge fails: committed chunks are kept.
    """
    gen = generator or make_backend(config.generator, config.concurrency)
    if judge is None and config.judge is not None:
        same = config.judge.identity() == config.generator.identity()
        judge = gen if same and isinstance(gen, LocalBackend) \
            else make_backend(config.judge, config.concurrency)
    return _Run(config, gen, judge).execute(restart, keep_journal, progress)


class _Run:
    def __init__(self, cfg: ApigenConfig, gen: ChatBackend, judge: ChatBackend | None) -> None:
        self.cfg, self.gen = cfg, gen
        self.judge = SemanticJudge(judge, JudgeOptions(k=cfg.judge_k)) if judge else None
        self.pool = ToolPool.load(builtin=cfg.builtin_tools, modules=cfg.tool_modules,
                                  files=cfg.tool_files)
        self.templates = {t.id: t for t in load_templates(cfg.prompts_file)}
        self.seeds = {s.id: s for s in load_seeds(cfg.seed_file)}
        self.plan = make_plan(self.pool, list(self.templates.values()),
                              list(self.seeds.values()), cfg)
        self.format = FormatChecker()
        self.dedup = Deduplicator() if "dedup" in cfg.stages else None
        self.journal = Journal(journal_dir(cfg.output))
        self.tally = YieldTally()
        self.markers: list[dict[str, Any]] = []

    def manifest(self) -> dict[str, Any]:
        tools = json.dumps([[t.spec, t.category] for t in self.pool.tools.values()],
                           sort_keys=True)
        return {"config": self.cfg.fingerprint(), "version": 1,
                "tools": hashlib.sha256(tools.encode()).hexdigest(),
                "seeds": sorted(self.seeds), "templates": sorted(self.templates)}

    # -- the run ---------------------------------------------------------------------
    def execute(self, restart: bool, keep_journal: bool,
                progress: Progress | None) -> ApigenResult:
        started = time.perf_counter()
        self.markers = self.journal.open(self.manifest(), restart)
        done = self._replay()
        advance = progress(len(self.plan)) if progress else (lambda n: None)
        advance(done)
        with self._sandbox() as sandbox:
            asyncio.run(self._loop(self.plan[done:], sandbox, advance))
        result = ApigenResult(self.tally, Path(self.cfg.output), self.cfg.path("rejects"),
                              self.cfg.path("summary"), self.cfg.path("report"),
                              time.perf_counter() - started, done, self._notes())
        self._assemble(result)
        if not keep_journal:
            self.journal.remove()
        return result

    def _replay(self) -> int:
        for index, marker in enumerate(self.markers):
            self.tally.add_state(marker["tally"])
            if self.dedup is not None:
                with open(self.journal.kept_path(index), encoding="utf-8") as fh:
                    for line in fh:
                        t = Trajectory.model_validate_json(line)
                        self.dedup.add(t.id, dedup_keys(t))
        return sum(m["tasks"] for m in self.markers)

    async def _loop(self, tasks: list[Task], sandbox: Any,
                    advance: Callable[[int], None]) -> None:
        size = self.cfg.chunk_size
        chunks = iter([tasks[i:i + size] for i in range(0, len(tasks), size)])
        sem = asyncio.Semaphore(self.cfg.concurrency)
        queue: deque[tuple[list[Task], asyncio.Future[list[ChatResult | Exception]]]] = \
            deque()

        def launch() -> None:
            if (chunk := next(chunks, None)) is not None:
                queue.append((chunk, asyncio.ensure_future(self._generate_chunk(chunk, sem))))

        # The sandbox's workers start while the first chunks generate.
        starting = asyncio.ensure_future(asyncio.to_thread(sandbox.start)) if sandbox else None
        execution = _Execution(sandbox, starting)
        try:
            for _ in range(1 + _AHEAD):
                launch()
            while queue:
                chunk, pending = queue[0]
                replies = await pending
                queue.popleft()
                launch()
                out = await self._check(chunk, replies, execution)
                await asyncio.to_thread(self._commit, out)
                advance(len(chunk))
        finally:
            for _, pending in queue:
                pending.cancel()
            await asyncio.gather(*(p for _, p in queue), return_exceptions=True)
            if starting is not None:  # never close a sandbox that is still starting
                await asyncio.gather(starting, return_exceptions=True)
            for b in {id(x): x for x in (self.gen, *(self.judge.backends if self.judge
                                                      else ()))}.values():
                if hasattr(b, "aclose"):
                    await b.aclose()

    async def _generate_chunk(self, chunk: list[Task],
                              sem: asyncio.Semaphore) -> list[ChatResult | Exception]:
        async def one(task: Task) -> ChatResult | Exception:
            async with sem:
                try:
                    return await self.gen.complete(self.messages(task), **self.params(task))
                except LLMError:
                    raise  # the generator's own fault stops the run (resumable)
                except Exception as exc:  # noqa: BLE001 - this generation's reject
                    return exc

        return await gather_or_cancel([one(t) for t in chunk])

    def messages(self, task: Task) -> list[dict[str, Any]]:
        tools = [self.pool.tools[n].spec for n in task.tools]
        return build_messages(self.templates[task.template], tools, task.style, task.n_calls,
                              [self.seeds[s] for s in task.examples])

    def params(self, task: Task) -> dict[str, Any]:
        return {"temperature": self.cfg.temperature, "top_p": self.cfg.top_p,
                "max_tokens": self.cfg.max_tokens, "seed": self.cfg.seed * 1_000_003 + task.index}

    # -- checks ------------------------------------------------------------------------
    async def _check(self, chunk: list[Task], replies: list[ChatResult | Exception],
                     execution: _Execution) -> _ChunkOut:
        """Every generation of the chunk ends kept or as one reject: an exception while
        checking one of them is its reject (``internal_error``), never the run's end.
        Faults of the generator or judge themselves (``LLMError``) still stop the run."""
        out = _ChunkOut()
        alive: list[_Item] = []
        for task, reply in zip(chunk, replies, strict=True):
            if isinstance(reply, Exception):  # the request for this one generation raised
                out.reject(_Item(task, ChatResult(content=None)), internal("parse", reply))
                continue
            item = _Item(task, reply)
            verdict = _guarded("parse", self._admit, item)
            if verdict is not None:
                out.reject(item, verdict)
            else:
                alive.append(item)
        if "format" in self.cfg.stages:
            alive = out.stage(alive, [_guarded("format", self._format, i) or
                                      Verdict.ok("format") for i in alive])
        if "execution" in self.cfg.stages:
            alive = out.stage(alive, await self._execute(alive, execution))
        if "semantic" in self.cfg.stages:
            alive = out.stage(alive, await self._judge(alive))
        for item in alive:
            verdict = _guarded("dedup", self._dedup, item)  # None: dedup not asked for
            if verdict is not None and not verdict.passed:
                out.reject(item, verdict)
                continue
            if verdict is not None:
                item.verdicts.append(verdict)
            out.keep(item)
        return out

    def _admit(self, item: _Item) -> Verdict | None:
        """Parse the reply into a record (``item.record``), or the parse reject."""
        parsed = parse_reply(item.reply)
        if isinstance(parsed, Verdict):
            return parsed
        record = build_record(item.task, *parsed,
                              [self.pool.tools[n].spec for n in item.task.tools],
                              {"generator": self._provenance(item.task, item.reply)})
        if isinstance(record, Verdict):
            return record
        item.record = record
        return None

    def _format(self, item: _Item) -> Verdict:
        return style_verdict(item.record, item.task.style) or self.format.check(item.record)

    def _dedup(self, item: _Item) -> Verdict | None:
        if self.dedup is None:
            return None
        return self.dedup.check(item.task.id, dedup_keys(item.record))

    async def _execute(self, alive: list[_Item], execution: _Execution) -> list[Verdict]:
        if execution.sandbox is None or not alive:
            return [Verdict.skip("execution", "no_executable_tool", "no tool can run here")
                    for _ in alive]
        checker = await execution.checker()
        records = [i.record for i in alive]
        try:
            pairs = await asyncio.to_thread(checker.check_many, records)
        except Exception as exc:  # noqa: BLE001 - find the record that broke the batch
            pairs = await asyncio.to_thread(_one_by_one, checker, records, exc)
        verdicts = []
        for item, (verdict, record) in zip(alive, pairs, strict=True):
            item.record = record  # with the tool results inserted
            verdicts.append(verdict)
        return verdicts

    async def _judge(self, alive: list[_Item]) -> list[Verdict]:
        if self.judge is None:
            return [Verdict.skip("semantic", "no_judge", "no judge configured")
                    for _ in alive]
        judge = self.judge

        async def one(item: _Item) -> Verdict:
            try:
                return await judge.judge(item.record)
            except LLMError:
                raise  # the judge's own fault stops the run (resumable)
            except Exception as exc:  # noqa: BLE001 - this record's fault: its reject
                return internal("semantic", exc)

        return await gather_or_cancel([one(i) for i in alive])

    def _provenance(self, task: Task, reply: ChatResult) -> dict[str, Any]:
        return {"name": "lamstudio.synth.apigen", "backend": self.cfg.generator.kind,
                "model": reply.model or self.cfg.generator.model,
                "prompt_template": task.template, "seed_examples": list(task.examples),
                "style": task.style, "seed": self.cfg.seed, "task": task.index}

    # -- journal and outputs -----------------------------------------------------------
    def _commit(self, out: _ChunkOut) -> None:
        index = len(self.markers)
        marker = {"index": index, "tasks": out.tasks, "tally": out.tally.state(),
                  "kept_ids": out.kept_ids}
        self.journal.commit(index, out.kept, out.rejects, marker)
        self.tally.add_state(out.tally.state())
        self.markers.append(marker)

    def _assemble(self, result: ApigenResult) -> None:
        for path, part in ((result.output, self.journal.kept_path),
                           (result.rejects, self.journal.rejects_path)):
            with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
                for index in range(len(self.markers)):
                    with open(part(index), encoding="utf-8") as src:
                        fh.writelines(src)
        summary = {**result.to_dict(), "config": self.cfg.fingerprint(),
                   "generator": self.cfg.generator.identity(),
                   "judge": self.cfg.judge.identity() if self.cfg.judge else None,
                   "pool": {c: len(n) for c, n in self.pool.categories.items()},
                   "backend_stats": dict(getattr(self.gen, "stats", {}))}
        with atomic_path(result.summary) as tmp:
            tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        build_yield_report(result.summary, result.rejects, result.report)

    def _notes(self) -> list[str]:
        notes = [f"tool pool: {n}" for n in self.pool.skipped]
        if "semantic" in self.cfg.stages and self.judge is None:
            notes.append("semantic stage skipped: no judge configured (--judge-url/--judge-model "
                         "or --judge-backend local)")
        if self.tally.skipped.get("execution/no_executable_tool"):
            notes.append(f"execution: {self.tally.skipped['execution/no_executable_tool']} "
                         "records call tools that cannot run here (passed unchecked)")
        return notes

    @contextlib.contextmanager
    def _sandbox(self) -> Iterator[Any]:
        runnable = any(t.executable for t in self.pool.tools.values())
        if "execution" not in self.cfg.stages or not runnable:
            yield None
            return
        from lamstudio.tools import DEFAULT_MODULES, Sandbox

        modules = (list(DEFAULT_MODULES) if self.cfg.builtin_tools else []) \
            + list(self.cfg.tool_modules)
        box = Sandbox(modules, timeout_s=self.cfg.exec_timeout_s)
        try:
            yield box  # started by the loop, in a thread
        finally:
            box.close()


@dataclass
class _Execution:
    """The execution checker once the sandbox has started (None: nothing can run)."""

    sandbox: Any
    starting: asyncio.Future[None] | None

    async def checker(self) -> ExecutionChecker:
        assert self.starting is not None
        await self.starting
        return ExecutionChecker(self.sandbox, ExecutionOptions(skip_unexecutable=True))


@dataclass
class _Item:
    task: Task
    reply: ChatResult
    record: Any = None
    verdicts: list[Verdict] = field(default_factory=list)


@dataclass
class _ChunkOut:
    kept: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    kept_ids: list[str] = field(default_factory=list)
    tally: YieldTally = field(default_factory=YieldTally)
    tasks: int = 0

    def stage(self, alive: list[_Item], verdicts: list[Verdict]) -> list[_Item]:
        survivors = []
        for item, v in zip(alive, verdicts, strict=True):
            if v.passed:
                item.verdicts.append(v)
                survivors.append(item)
            else:
                self.reject(item, v)
        return survivors

    def _keys(self, task: Task) -> dict[str, str]:
        return {"style": task.style, "category": task.category, "template": task.template}

    def keep(self, item: _Item) -> None:
        try:
            data = item.record.model_dump(mode="json", exclude_none=True)
            data["meta"]["verification"] = {v.stage: v.to_dict() for v in item.verdicts}
            data["meta"]["checks_passed"] = [v.stage for v in item.verdicts if not v.skipped]
            line = dumps(data)
        except Exception as exc:  # noqa: BLE001 - the record is rejected, not lost
            # e.g. a tool result no writer keeps (lone surrogate, NaN): its reader's code
            stage = item.verdicts[-1].stage if item.verdicts else "parse"
            code = exc.code if isinstance(exc, JsonValueError) else "internal_error"
            self.reject(item, Verdict.fail(stage, code, f"the record cannot be written: "
                                           f"{safe_text(str(exc), 300)}"))
            return
        self.tasks += 1
        self.kept.append(line)
        self.kept_ids.append(item.task.id)
        self.tally.add(self._keys(item.task), None, None, _skips(item.verdicts))

    def reject(self, item: _Item, v: Verdict) -> None:
        """One rejected generation: never fails to be written (see ``_safe``)."""
        self.tasks += 1
        t = item.task
        out: dict[str, Any] = {"id": t.id, "task": t.index, "stage": v.stage, "code": v.code,
                               "message": safe_text(v.message, MESSAGE_CHARS), **self._keys(t),
                               "seed_examples": list(t.examples), "tools": list(t.tools)}
        if v.details:
            out["details"] = v.details
        out["output"], cut = excerpt(item.reply.content)
        if cut is not None:
            out["output_chars"] = cut
        if item.record is not None:
            with contextlib.suppress(Exception):  # a record that cannot dump is left out
                out["record"] = item.record.model_dump(mode="json", exclude_none=True)
        self.rejects.append(reject_line(out))
        self.tally.add(self._keys(t), v.stage, v.code, _skips(item.verdicts))


def _guarded(stage: str, check: Callable[[_Item], Verdict | None],
             item: _Item) -> Verdict | None:
    """``check(item)``, or the item's ``internal_error`` reject when it raises."""
    try:
        return check(item)
    except Exception as exc:  # noqa: BLE001 - one item's fault is that item's reject
        return internal(stage, exc)


def _one_by_one(checker: ExecutionChecker, records: list[Trajectory],
                first: Exception) -> list[tuple[Verdict, Trajectory]]:
    """The execution check record by record, after the batch raised: a record whose own
    check raises is its ``internal_error``; when every record raises alone, the sandbox is
    at fault, not the records, and the batch's exception stops the run."""
    out: list[tuple[Verdict, Trajectory]] = []
    failures = 0
    for record in records:
        try:
            [pair] = checker.check_many([record])
        except Exception as exc:  # noqa: BLE001
            failures += 1
            pair = (internal("execution", exc), record)
        out.append(pair)
    if failures == len(records):
        raise first
    return out


def _skips(verdicts: list[Verdict]) -> list[str]:
    return [f"{v.stage}/{v.code}" for v in verdicts if v.skipped]


