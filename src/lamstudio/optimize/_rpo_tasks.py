"""Where RPO's episodes run: the tasks of an environment, how they split into train and
validation, and one episode played with given principles (an ``Arena``).

Environments: lamstudio's toy ones (``store``, ``todo``: their own tasks, or ``--tasks
FILE`` of environment tasks) played by ``lamstudio.agent``'s loop with the scripted
user turns of each task; and tau2's domains (``tau2:retail``, ``tau2:airline``) played
against a simulated user and scored as ``lamstudio eval`` scores them.

A split is one of (checked in this order):

* a file of task ids: a JSON list, or one id a line;
* ``A:B`` (either end may be left out): tasks A to B-1 of the environment's task list,
  in its order (tau2: all tasks of the domain);
* tau2 only: ``SPLIT`` (``train``, ``test``, ``base``: tau2's own split) or
  ``SPLIT:A:B`` (a range inside it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.io import JsonValueError, parse_json


class SplitError(ValueError):
    """A split or task source that cannot be used (the message says which and why)."""


@dataclass
class Played:
    """One episode: its reward (0.0 when it failed) and its record (JSON), or the reason
    code it failed with (then no record)."""

    task_id: str
    reward: float
    record: dict[str, Any] | None
    problem: str | None = None


@dataclass
class ArenaSettings:
    max_steps: int  # agent model calls per episode
    max_turns: int = 30  # tau2: user turns per episode
    agent_params: dict[str, Any] = field(default_factory=dict)
    user_params: dict[str, Any] = field(default_factory=dict)
    user_style: str = "roles"  # tau2: how the simulator sees the conversation


def pick(tasks: list[Any], spec: str, named: dict[str, list[Any]] | None = None) -> list[Any]:
    """The tasks ``spec`` names (see the module docstring); ``named`` are the env's own
    splits (tau2's)."""
    spec = spec.strip()
    if not spec:
        raise SplitError("an empty split: give A:B, a split name or a file of task ids")
    if Path(spec).is_file():
        return _by_ids(tasks, spec)
    head, sep, rest = spec.partition(":")
    if named is not None and head in named:
        return _range(named[head], rest, spec) if sep else list(named[head])
    if not sep:
        where = f"; its splits: {', '.join(named)}" if named else ""
        raise SplitError(f"split {spec!r}: not a file, not A:B{where}")
    return _range(tasks, spec, spec)


def _range(tasks: list[Any], rng: str, spec: str) -> list[Any]:
    a, sep, b = rng.partition(":")
    try:
        lo, hi = int(a) if a.strip() else None, int(b) if b.strip() else None
    except ValueError:
        lo = hi = None
        sep = ""
    if not sep:
        raise SplitError(f"split {spec!r}: expected A:B (task indices), e.g. 0:20")
    got = tasks[lo:hi]
    if not got:
        raise SplitError(f"split {spec!r} selects no task (there are {len(tasks)})")
    return got


def _by_ids(tasks: list[Any], path: str) -> list[Any]:
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            ids = parse_json(text)
        except JsonValueError as exc:
            raise SplitError(f"{path}: not a JSON list of task ids ({exc.message})") from None
    else:
        ids = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not isinstance(ids, list) or not ids:
        raise SplitError(f"{path}: expected task ids (a JSON list, or one a line)")
    by_id = {t.id: t for t in tasks}
    missing = [str(i) for i in ids if str(i) not in by_id]
    if missing:
        raise SplitError(f"{path}: no such task id(s): {', '.join(missing[:5])}")
    return [by_id[str(i)] for i in ids]


class ToyArena:
    """``store`` / ``todo`` (or any non-tau2 environment): tasks with ground truth, played
    by the agent loop; the reward is the loop's state-hash reward."""

    def __init__(self, env: str, agent: Any, settings: ArenaSettings,
                 tasks_file: str | None = None) -> None:
        self.env, self.agent, self.settings = env, agent, settings
        self.tasks = _toy_tasks(env, tasks_file)
        self.named: dict[str, list[Any]] | None = None

    async def play(self, task: Any, principles: tuple[str, ...], trial: int = 0) -> Played:
        from lamstudio.agent import AgentConfig, EnvToolbox, TaskError, is_fatal, run_episode

        config = AgentConfig(max_steps=self.settings.max_steps,
                             params=dict(self.settings.agent_params), source="rpo",
                             endpoint=getattr(self.agent, "base_url", "") or "local",
                             principles=principles)
        try:
            box = EnvToolbox(task.env, task.initial_state, task.ground_truth)
            record = await run_episode(self.agent, task, box, None, config)
        except Exception as exc:  # noqa: BLE001 - one failed episode is a reward of 0
            if is_fatal(exc):
                raise
            return Played(task.id, 0.0, None,
                          exc.code if isinstance(exc, TaskError) else "episode_error")
        reward = record.meta["agent"].get("reward")
        return Played(task.id, float(reward or 0.0),
                      record.model_dump(mode="json", exclude_none=True))


def _toy_tasks(env: str, tasks_file: str | None) -> list[Any]:
    from lamstudio.agent import AgentTask, env_tasks, read_tasks
    from lamstudio.envs import ENVS
    from lamstudio.io import InputError

    if env not in ENVS:
        raise SplitError(f"unknown environment {env!r}; choose one of: {', '.join(ENVS)}")
    if tasks_file is None:
        return env_tasks(env)
    try:
        items = list(read_tasks(tasks_file, env))
    except InputError as exc:
        raise SplitError(str(exc)) from None
    for t in items:
        if not isinstance(t, AgentTask):
            raise SplitError(f"{tasks_file}:{t.line}: not a task: {t.message} [{t.code}]")
        if t.ground_truth is None:
            raise SplitError(f"{tasks_file}:{t.line}: task {t.id!r} has no ground_truth "
                             "(RPO needs a reward for validation)")
    return items


class Tau2Arena:
    """A tau2 domain: every episode against the simulated ``user``, scored as tau2 scores
    it (``lamstudio.eval.play_tau2_trial``)."""

    def __init__(self, env: str, agent: Any, user: Any, settings: ArenaSettings) -> None:
        from lamstudio.eval import Tau2SuiteError, load_tau2_suite

        if user is None:
            raise SplitError(f"{env} needs a user simulator (a user model)")
        self.env, self.agent, self.user, self.settings = env, agent, user, settings
        try:
            self.tasks = load_tau2_suite(env)
        except Tau2SuiteError as exc:
            raise SplitError(str(exc)) from None
        self.named: dict[str, list[Any]] = {}
        for name in ("train", "test", "base"):  # the splits this domain ships
            try:
                self.named[name] = load_tau2_suite(f"{env}:{name}")
            except Tau2SuiteError:
                continue
        self._gold: dict[str, str] = {}

    async def play(self, task: Any, principles: tuple[str, ...], trial: int = 0) -> Played:
        from lamstudio.agent import TaskError, is_fatal
        from lamstudio.envs import replay
        from lamstudio.eval import Tau2Config, play_tau2_trial

        s = self.settings
        cfg = Tau2Config(max_turns=s.max_turns, max_steps=s.max_steps,
                         agent_params=dict(s.agent_params), user_params=dict(s.user_params),
                         principles=principles, user_style=s.user_style)
        try:
            if task.id not in self._gold:  # the ground truth's final state, once per task
                self._gold[task.id] = (await asyncio.to_thread(
                    replay, task.env, task.actions)).state_hash()
            row = await play_tau2_trial(task, trial, self.agent, self.user, cfg,
                                        self._gold[task.id])
        except Exception as exc:  # noqa: BLE001 - as eval: a failed episode is a failed trial
            if is_fatal(exc):
                raise
            return Played(task.id, 0.0, None,
                          exc.code if isinstance(exc, TaskError) else "episode_error")
        return Played(task.id, float(row["reward"]), row["trajectory"])


def make_arena(env: str, agent: Any, user: Any, settings: ArenaSettings,
               tasks_file: str | None = None) -> ToyArena | Tau2Arena:
    if env.startswith("tau2:"):
        if tasks_file:
            raise SplitError("--tasks is for the toy environments; tau2 domains use their "
                             "own tasks (pick them with the splits)")
        return Tau2Arena(env, agent, user, settings)
    return ToyArena(env, agent, settings, tasks_file)
