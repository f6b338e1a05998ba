"""Many episodes: tasks in, episodes (``Trajectory`` JSONL, atomic) and rejects out.

Books: tasks read = episodes written + tasks failed, each failure with a reason code
(``not_a_task``, ``bad_meta``, ``unknown_env``, ``bad_ground_truth``, ``unknown_tools``,
the readers' codes for an episode that cannot be written, ``episode_error`` for anything
else that broke one episode ...). An episode the model broke off (``model_error``: the
endpoint failed, or its reply was not usable) or that hit the step limit is still
written: its ``meta.agent.stop`` says so, and ``verify`` decides what is fit for training.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.agent._loop import AgentConfig, EpisodeError, is_fatal, run_episode
from lamstudio.agent._task import AgentTask, TaskError, task_from_row
from lamstudio.agent._text import clean_text
from lamstudio.agent._tools import Toolbox
from lamstudio.agent._user import User
from lamstudio.io import BadRow, JsonlWriter, Reject, RejectWriter, Tally, atomic_path, read_rows
from lamstudio.schema import Trajectory


def read_tasks(path: str | os.PathLike[str],
               env: str | None = None) -> Iterator[AgentTask | Reject]:
    """Tasks of a JSONL/JSON/Parquet file; rows that are not tasks come back as rejects."""
    for row in read_rows(path):
        if isinstance(row, BadRow):
            yield Reject(row.file, row.line, row.code, row.message, stage="agent", raw=row.raw)
            continue
        try:
            task = task_from_row(row.value, row.line, env)
        except TaskError as exc:
            rid = row.value.get("id") if isinstance(row.value, dict) else None
            yield Reject(row.file, row.line, exc.code, str(exc), exc.field,
                         None if rid is None else str(rid), stage="agent", raw=row.value)
            continue
        task.file, task.line = row.file, row.line
        yield task


@dataclass
class AgentSummary:
    tally: Tally = field(default_factory=lambda: Tally(stage="agent"))
    stops: Counter[str] = field(default_factory=Counter)
    rewards: list[float] = field(default_factory=list)
    tool_errors: Counter[str] = field(default_factory=Counter)
    replaced_surrogates: int = 0

    def add(self, episode: Trajectory) -> None:
        agent = episode.meta["agent"]
        self.tally.keep()
        self.stops[agent["stop"]] += 1
        self.tool_errors.update(agent["tool_errors"])
        self.replaced_surrogates += agent.get("replaced_surrogates", 0)
        if agent.get("reward") is not None:
            self.rewards.append(float(agent["reward"]))

    def to_dict(self) -> dict[str, Any]:
        t = self.tally
        return {"tasks": t.read, "written": t.kept, "failed": t.rejected,
                "balanced": t.balanced, "failed_by_reason": dict(t.reasons.most_common()),
                "stops": dict(self.stops), "tool_errors": dict(self.tool_errors),
                "replaced_surrogates": self.replaced_surrogates,
                "rewarded_episodes": len(self.rewards),
                "mean_reward": (sum(self.rewards) / len(self.rewards)) if self.rewards
                else None}


ToolboxFactory = Callable[[AgentTask], Toolbox]
UserFactory = Callable[[AgentTask], User]


async def run_tasks(backend: Any, tasks: Iterable[AgentTask | Reject], out: str | os.PathLike[str],
                    toolbox_for: ToolboxFactory, *, config: AgentConfig | None = None,
                    concurrency: int = 4, rejects: str | os.PathLike[str] | None = None,
                    user_for: UserFactory | None = None,
                    on_done: Callable[[], None] | None = None) -> AgentSummary:
    """Run every task (``concurrency`` at a time) and write the episodes to ``out`` in task
    order. ``on_done`` is called once per task (a progress bar's tick)."""
    summary = AgentSummary()
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(task: AgentTask) -> tuple[Trajectory, str] | Reject:
        async with sem:
            try:  # the one "an episode failed" path: a reject with a reason, then go on
                user = user_for(task) if user_for else None
                episode = await run_episode(backend, task, toolbox_for(task), user, config)
                return episode, _line(episode)
            except TaskError as exc:  # EpisodeError too
                return Reject(task.file, task.line, exc.code, str(exc), exc.field, task.id,
                              stage="agent")
            except Exception as exc:  # noqa: BLE001 - one broken episode must not stop the run
                if is_fatal(exc):
                    raise
                why = clean_text(f"{type(exc).__name__}: {exc}")[0]  # may quote the model
                return Reject(task.file, task.line, "episode_error", why, id=task.id,
                              stage="agent")

    async def settle(item: AgentTask | Reject) -> tuple[Trajectory, str] | Reject:
        result = item if isinstance(item, Reject) else await one(item)
        if on_done:
            on_done()
        return result

    with JsonlWriter(out) as writer, RejectWriter(rejects) as rejected:
        pending = [asyncio.ensure_future(settle(t)) for t in tasks]
        try:
            for fut in pending:  # in task order, while later tasks keep running
                _record(await fut, writer, rejected, summary)
        except BaseException:  # a fatal fault: nothing is written (atomic), the rest stops
            for fut in pending:
                fut.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            raise
    return summary


def _line(episode: Trajectory) -> str:
    """The episode's JSONL line. A record is writable by construction; if one is not,
    that is this episode's fault, not the run's."""
    try:
        line = json.dumps(episode.model_dump(mode="json", exclude_none=True),
                          ensure_ascii=False, separators=(",", ":"))
        line.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise EpisodeError("unwritable", f"{type(exc).__name__}: {exc}") from None
    return line


def _record(result: tuple[Trajectory, str] | Reject, writer: JsonlWriter,
            rejected: RejectWriter, summary: AgentSummary) -> None:
    if isinstance(result, Reject):
        summary.tally.reject(result.code)
        rejected.write(result)
    else:
        writer.write_json(result[1])
        summary.add(result[0])


def write_summary(path: str | os.PathLike[str], summary: AgentSummary,
                  extra: dict[str, Any] | None = None) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({**(extra or {}), **summary.to_dict()}, indent=2) + "\n")
    return Path(path)


def run_agent(backend: Any, tasks: list[AgentTask | Reject], out: str | os.PathLike[str], *,
              tool_modules: Iterable[str] = (), builtin_tools: bool = True,
              tool_timeout_s: float = 5.0, workers: int = 2, **kwargs: Any) -> AgentSummary:
    """``run_tasks`` with the plumbing: a tool sandbox (built-in tools and ``tool_modules``)
    is started when some task is not an environment task, and the backend is closed."""
    from lamstudio.agent._tools import make_toolbox
    from lamstudio.tools import BUILTIN_MODULE, Sandbox

    modules = ([BUILTIN_MODULE] if builtin_tools else []) + [str(m) for m in tool_modules]
    needs_sandbox = any(isinstance(t, AgentTask) and not t.env for t in tasks)
    with contextlib.ExitStack() as stack:
        sandbox = None
        if needs_sandbox:
            if not modules:
                raise ValueError("tasks need tools but no tool module is given")
            sandbox = stack.enter_context(Sandbox(modules, workers=workers,
                                                  timeout_s=tool_timeout_s))

        async def go() -> AgentSummary:
            try:
                return await run_tasks(backend, tasks, out,
                                       lambda t: make_toolbox(t, sandbox), **kwargs)
            finally:
                if hasattr(backend, "aclose"):
                    await backend.aclose()

        return asyncio.run(go())
