"""RPO (Reflective Principle Optimization, from PRAct): learn an agent's action principles
from its own trajectories, with no training.

Round 0 validates the starting principles (none: the plain agent, the baseline). Each
round r = 1..R then takes the next ``batch`` train tasks (in split order, wrapping round),
and

* **RPO-Batch**: plays them all with the current principles, has the reflector critique
  each trajectory, and the optimizer rewrites the principles once from all reflections;
* **RPO-Traj**: plays them one at a time; after each, reflector then optimizer, so the
  next task is played with the updated principles;

then plays the validation split with the round's principles (a set already validated in
an earlier round is not played again: its reward is reused, and the report says from
which round). **Reward-RPO** tells the reflector (and the optimizer) each trajectory's
reward; **Self-RPO** never does (``_rpo_prompts.py``). The principles with the best
validation reward, earliest first on ties, are ``best.json``.

A reply that cannot be used (an LLM call that failed after its retries, an empty
reflection, an optimizer reply that is not a usable JSON list: ``_rpo_principles.py``)
is counted with its reason code in the round's report and the principles stay as they
were. Faults of the whole run (a refused key, a wrong URL or model) stop it; the rounds
finished so far are kept and a rerun continues after them (``_rpo_store.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.optimize._rpo_meter import Costs, Metered, add_costs
from lamstudio.optimize._rpo_principles import parse_principles
from lamstudio.optimize._rpo_prompts import (
    Reflection,
    optimizer_messages,
    reflector_messages,
    render_trajectory,
)
from lamstudio.optimize._rpo_store import RunStore
from lamstudio.optimize._rpo_tasks import ArenaSettings, Played, make_arena, pick

MODES = ("reward", "self")
SCHEDULES = ("traj", "batch")
UNUSABLE_REFLECTOR = ("reflector_error", "reflector_empty", "reflector_bad_content")

Progress = Callable[[str, int | None], Callable[[int], None]]


class RPOConfigError(ValueError):
    """A setting RPO cannot run with."""


@dataclass
class RPOConfig:
    """``env``: ``store``, ``todo`` or ``tau2:retail`` / ``tau2:airline``; the splits as
    ``_rpo_tasks.py`` reads them. ``max_steps``: agent model calls per episode (None: 10,
    tau2 40). ``llm_params`` go to the reflector and the optimizer."""

    env: str
    train_split: str
    val_split: str
    mode: str = "reward"
    schedule: str = "batch"
    rounds: int = 3
    batch: int = 4
    tasks_file: str | None = None
    principles: tuple[str, ...] = ()  # where round 0 starts
    max_principles: int = 8
    max_principle_chars: int = 300
    max_steps: int | None = None
    max_turns: int = 30
    concurrency: int = 4
    agent_params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.0,
                                                                   "max_tokens": 512})
    user_params: dict[str, Any] = field(default_factory=dict)
    user_style: str = "roles"  # tau2: how the simulated user sees the conversation
    llm_params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.0,
                                                                 "max_tokens": 1024})
    max_trajectory_chars: int = 12000

    def check(self) -> None:
        if self.mode not in MODES:
            raise RPOConfigError(f"mode {self.mode!r}: choose one of {', '.join(MODES)}")
        if self.schedule not in SCHEDULES:
            raise RPOConfigError(f"schedule {self.schedule!r}: choose one of "
                                 f"{', '.join(SCHEDULES)}")
        for name in ("batch", "max_principles", "concurrency", "max_turns"):
            if getattr(self, name) < 1:
                raise RPOConfigError(f"{name} must be at least 1")
        if self.rounds < 0:
            raise RPOConfigError("rounds must be at least 0")
        from lamstudio.eval import check_user_style

        try:
            check_user_style(self.user_style)
        except ValueError as exc:
            raise RPOConfigError(str(exc)) from None


@dataclass
class RPOResult:
    best: dict[str, Any]
    history: list[dict[str, Any]]  # every finished round's report, round 0 first
    out: Path

    @property
    def costs(self) -> dict[str, dict[str, float]]:
        """LLM calls, failed calls and seconds per role over every finished round."""
        total: dict[str, dict[str, float]] = {}
        for report in self.history:
            total = add_costs(total, report["llm"])
        return total


def run_rpo(config: RPOConfig, out: str | Path, *, agent: Any, reflector: Any, optimizer: Any,
            user: Any = None, progress: Progress | None = None,
            on_round: Callable[[dict[str, Any]], None] | None = None) -> RPOResult:
    """Run (or continue) RPO into ``out``; the roles are ``lamstudio.llm.ChatBackend``s
    (``user``: tau2's simulated customer). They are closed at the end: their HTTP clients
    belong to this run's event loop. Raises ``RPOConfigError``, ``SplitError`` or
    ``ResumeError`` before anything runs, and the backend's ``LLMError`` on a fault of the
    whole run."""
    config.check()
    costs = Costs()
    roles = {"agent": agent, "user": user, "reflector": reflector, "optimizer": optimizer}
    metered = {r: None if b is None else Metered(b, r, costs) for r, b in roles.items()}
    settings = ArenaSettings(
        max_steps=config.max_steps or (40 if config.env.startswith("tau2:") else 10),
        max_turns=config.max_turns, agent_params=dict(config.agent_params),
        user_params=dict(config.user_params), user_style=config.user_style)
    arena = make_arena(config.env, metered["agent"], metered["user"], settings,
                       config.tasks_file)
    train = pick(arena.tasks, config.train_split, arena.named)
    val = pick(arena.tasks, config.val_split, arena.named)
    store = RunStore(out)
    store.claim(_fixed(config, train, val))
    run = _Run(config, arena, train, val, store, costs, metered, progress, on_round)
    asyncio.run(run.go([b for b in {id(b): b for b in roles.values() if b}.values()]))
    reports = store.reports()
    return RPOResult(best_of(reports, config, val), reports, store.out)


def _fixed(config: RPOConfig, train: list[Any], val: list[Any]) -> dict[str, Any]:
    """What must stay the same for a rerun to continue a run (rounds may grow)."""
    return {"method": "rpo", "env": config.env, "tasks_file": config.tasks_file,
            "mode": config.mode, "schedule": config.schedule, "batch": config.batch,
            "train_tasks": [t.id for t in train], "val_tasks": [t.id for t in val],
            "start_principles": list(config.principles),
            "max_principles": config.max_principles}


def best_of(reports: Sequence[dict[str, Any]], config: RPOConfig,
            val: Sequence[Any]) -> dict[str, Any]:
    """The best validated principles (the earliest of equals: fewer rounds of drift)."""
    best = reports[0]
    for r in reports[1:]:
        if r["val_reward"] > best["val_reward"]:
            best = r
    return {"principles": best["principles"], "round": best["round"],
            "val_reward": best["val_reward"], "baseline_val_reward": reports[0]["val_reward"],
            "rounds_finished": len(reports) - 1, "env": config.env, "mode": config.mode,
            "schedule": config.schedule, "val_tasks": [t.id for t in val]}


def _mean(played: Sequence[Played]) -> float:
    return sum(p.reward for p in played) / len(played) if played else 0.0


class _Run:
    def __init__(self, config: RPOConfig, arena: Any, train: list[Any], val: list[Any],
                 store: RunStore, costs: Costs, roles: dict[str, Any],
                 progress: Progress | None,
                 on_round: Callable[[dict[str, Any]], None] | None) -> None:
        self.cfg, self.arena, self.train, self.val = config, arena, train, val
        self.store, self.costs, self.roles = store, costs, roles
        self.progress: Progress = progress or (lambda what, n: lambda k=1: None)
        self.on_round = on_round or (lambda report: None)
        self.gate = asyncio.Semaphore(config.concurrency)
        self.unusable: Counter[str] = Counter()  # per round: reason -> replies

    async def go(self, backends: list[Any]) -> None:
        try:
            reports = self.store.reports()
            if not reports:
                reports.append(await self.round_zero())
            for r in range(len(reports), self.cfg.rounds + 1):
                reports.append(await self.round(r, tuple(reports[-1]["principles"]), reports))
        finally:
            for b in backends:
                if hasattr(b, "aclose"):
                    await b.aclose()

    async def round_zero(self) -> dict[str, Any]:
        before, started = self.costs.snapshot(), time.perf_counter()
        principles = tuple(self.cfg.principles)
        report = {"round": 0, "principles": list(principles),
                  **await self.validate(0, principles, [])}
        return self.finish(report, before, started, [report])

    async def round(self, r: int, principles: tuple[str, ...],
                    reports: list[dict[str, Any]]) -> dict[str, Any]:
        before, started = self.costs.snapshot(), time.perf_counter()
        self.unusable = Counter()
        tasks = self.batch_for(r)
        tick = self.progress(f"round {r}/{self.cfg.rounds} train", len(tasks))
        start = principles
        if self.cfg.schedule == "batch":
            played = await self.play_many(tasks, principles, r, tick)
            refl = list(await asyncio.gather(*(self.reflect(p, principles) for p in played)))
            principles, update = await self.update(principles, [t.id for t in tasks], refl)
            updates = [update]
        else:
            played, refl, updates = [], [], []
            for task in tasks:  # one at a time: each plays with the last update's principles
                played.append(await self.play(task, principles, r))
                tick(1)
                refl.append(await self.reflect(played[-1], principles))
                principles, update = await self.update(principles, [task.id], refl[-1:])
                updates.append(update)
        d = self.store.round_dir(r)
        self.store.write_rows(d / "train.jsonl", (p.record for p in played if p.record))
        self.store.write_rows(d / "reflections.jsonl", (row for _, row in refl))
        report = {"round": r, "principles_before": list(start), "principles": list(principles),
                  "train_reward": _mean(played), "train": [self.row(p) for p in played],
                  "updates": updates, **await self.validate(r, principles, reports)}
        return self.finish(report, before, started, [*reports, report])

    def finish(self, report: dict[str, Any], before: dict[str, Any], started: float,
               reports: list[dict[str, Any]]) -> dict[str, Any]:
        d = self.store.round_dir(report["round"])
        self.store.write_json(d / "principles.json", {"principles": report["principles"],
                                                      "round": report["round"]})
        report["unusable"] = dict(self.unusable.most_common())
        report["llm"] = self.costs.since(before)
        report["seconds"] = round(time.perf_counter() - started, 3)
        self.store.finish(report, best_of(reports, self.cfg, self.val))
        self.on_round(report)
        return report

    def batch_for(self, r: int) -> list[Any]:
        n, b = len(self.train), self.cfg.batch
        return [self.train[((r - 1) * b + i) % n] for i in range(b)]

    @staticmethod
    def row(p: Played) -> dict[str, Any]:
        return {"task_id": p.task_id, "reward": p.reward,
                **({"problem": p.problem} if p.problem else {})}

    async def play(self, task: Any, principles: tuple[str, ...], trial: int) -> Played:
        async with self.gate:
            return await self.arena.play(task, principles, trial)

    async def play_many(self, tasks: Sequence[Any], principles: tuple[str, ...], trial: int,
                        tick: Callable[[int], None]) -> list[Played]:
        from lamstudio.llm import gather_or_cancel

        async def one(task: Any) -> Played:
            played = await self.play(task, principles, trial)
            tick(1)
            return played

        return await gather_or_cancel([one(t) for t in tasks])

    async def validate(self, r: int, principles: tuple[str, ...],
                       reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Validation reward of ``principles``: played, or an earlier round's if that round
        validated the same set."""
        for old in reports:
            if old["principles"] == list(principles):
                return {"val_reward": old["val_reward"], "val": old["val"],
                        "val_from_round": old.get("val_from_round", old["round"])}
        tick = self.progress(f"round {r}/{self.cfg.rounds} validation", len(self.val))
        played = await self.play_many(self.val, principles, 0, tick)
        self.store.write_rows(self.store.round_dir(r) / "val.jsonl",
                              (p.record for p in played if p.record))
        return {"val_reward": _mean(played), "val": [self.row(p) for p in played]}

    async def reflect(self, played: Played,
                      principles: tuple[str, ...]) -> tuple[Reflection | None, dict[str, Any]]:
        """The reflector's critique of one trajectory, and its line for reflections.jsonl.
        Self-RPO passes no reward: the prompt then holds none (``_rpo_prompts.py``)."""
        row: dict[str, Any] = {"task_id": played.task_id}
        if played.record is None:
            return None, {**row, "skipped": played.problem or "no_trajectory"}
        reward = played.reward if self.cfg.mode == "reward" else None
        text = render_trajectory(played.record, self.cfg.max_trajectory_chars)
        msgs = reflector_messages(principles, played.task_id, text, reward)
        content, problem = await self.ask("reflector", msgs)
        if problem:
            self.unusable[problem] += 1
            return None, {**row, "problem": problem}
        return Reflection(played.task_id, content, reward), {**row, "reflection": content}

    async def ask(self, role: str, messages: list[dict[str, str]]) -> tuple[str, str | None]:
        """One reflector/optimizer call: its text, or ``<role>_error`` / ``_empty`` /
        ``_bad_content``. A fault of the whole run (refused key, wrong URL) raises."""
        from lamstudio.agent import is_fatal, read_text

        try:
            result = await self.roles[role].complete(messages, None, **self.cfg.llm_params)
        except Exception as exc:  # noqa: BLE001 - a failed call is an unusable reply
            if is_fatal(exc):
                raise
            return "", f"{role}_error"
        text, _, problem = read_text(result.content)
        if problem:
            return "", f"{role}_bad_content"
        if not (text or "").strip():
            return "", f"{role}_empty"
        return text or "", None

    async def update(self, principles: tuple[str, ...], after: list[str],
                     reflections: Sequence[tuple[Reflection | None, dict[str, Any]]]
                     ) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The optimizer's new principles from the usable reflections, or the old ones
        with the reason (counted in ``unusable`` when it is the optimizer's reply)."""
        usable = [r for r, _ in reflections if r is not None]
        update: dict[str, Any] = {"after": after, "reflections": len(usable)}
        if not usable:
            return principles, {**update, "status": "kept", "reason": "no_usable_reflection"}
        msgs = optimizer_messages(principles, usable, self.cfg.max_principles)
        text, problem = await self.ask("optimizer", msgs)
        got = problem or parse_principles(text, self.cfg.max_principles,
                                          self.cfg.max_principle_chars)
        if isinstance(got, str):
            self.unusable[got] += 1
            return principles, {**update, "status": "kept", "reason": got,
                                "reply": text[:2000]}
        return got, {**update, "status": "updated"}
