"""``evaluate_tau2``: every task of a ``tau2:`` suite, k trials each, played and scored;
results, episodes (as ``Trajectory`` records), a summary and an HTML report written.

One episode that fails for any reason (an exception anywhere in playing, scoring or
recording it) is one reject with a reason in ``trajectories.rejects.jsonl``; every other
episode is still played and written, and the results, trajectories, summary and report are
always written. The books balance: episodes planned (tasks x trials) = written + rejected.
A rejected episode is a failed trial for pass^k (it never succeeded), as tau2 scores an
episode that ended in an error. Only faults of the whole run stop it (the endpoint refused
the key, or the URL or model is wrong: every episode would fail the same way).
"""

from __future__ import annotations

import asyncio
import html
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lamstudio.envs as envs
from lamstudio.eval._tau2 import (
    USER_GUIDELINES,
    Tau2Task,
    load_tau2_suite,
    pass_hat_k,
    score_episode,
)
from lamstudio.eval._tau2_episode import SimulatedUser, check_user_style, run_episode
from lamstudio.eval._taxonomy import PATTERN_NAMES
from lamstudio.io import JsonValueError, Reject, check_value


@dataclass
class Tau2Config:
    trials: int = 1
    max_turns: int = 30  # user turns
    max_steps: int = 40  # agent model calls per episode, all turns together
    concurrency: int = 4
    agent_params: dict[str, Any] | None = None
    user_params: dict[str, Any] | None = None
    principles: tuple[str, ...] = ()  # PRAct: after the policy in the agent's system prompt
    user_style: str = "roles"  # how the simulator sees the conversation (SimulatedUser)

    def __post_init__(self) -> None:
        check_user_style(self.user_style)
        if self.concurrency < 1:  # a semaphore of 0 would wait for ever
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")


@dataclass
class Tau2Result:
    summary: dict[str, Any]
    results: list[dict[str, Any]]
    paths: dict[str, Path]
    rejects: list[Reject] = field(default_factory=list)


def _trajectory(task: Tau2Task, trial: int, episode: Any, score: dict[str, Any],
                model: str) -> dict[str, Any]:
    """The agent loop's record (messages, tools, policy, ``meta.agent``), with the tau2
    verdict added; the stop message is kept as tau2 keeps it."""
    from lamstudio.agent import make_record

    env = episode.runner.env
    meta = dict(episode.record.meta) if episode.record is not None else {}
    meta["tau2"] = {"task_id": task.id, "trial": trial, "model": model,
                    "reward": score["reward"], "state_hash": episode.runner.state_hash(),
                    "stop": episode.stop, "db_match": score["db_match"],
                    "communicated": score["communicated"]}
    if episode.user_replaced:
        meta["tau2"]["user_replaced_surrogates"] = episode.user_replaced
    record = make_record({
        "id": f"tau2-{task.domain}-{task.id}-t{trial}", "source": f"tau2:{task.domain}",
        "system": envs.system_prompt(env), "tools": envs.tool_specs(env),
        "messages": episode.messages, "meta": meta})
    return record.model_dump(mode="json", exclude_none=True)


async def _play(tasks: list[Tau2Task], agent: Any, user: Any, cfg: Tau2Config,
                progress: Callable[[int], None]) -> list[dict[str, Any] | Reject]:
    gold = {t.id: envs.replay(t.env, t.actions).state_hash() for t in tasks}
    gate = asyncio.Semaphore(cfg.concurrency)

    async def one(task: Tau2Task, trial: int) -> dict[str, Any] | Reject:
        try:
            async with gate:
                return await _episode(task, trial, agent, user, cfg, gold[task.id])
        except Exception as exc:  # noqa: BLE001 - the one "an episode failed" path
            return _reject(task, trial, exc)
        finally:
            progress(1)

    jobs = [one(t, k) for t in tasks for k in range(cfg.trials)]
    return list(await asyncio.gather(*jobs))


async def _episode(task: Tau2Task, trial: int, agent: Any, user: Any, cfg: Tau2Config,
                   gold_hash: str) -> dict[str, Any]:
    """Play, score and record one trial (its result row, with its trajectory)."""
    sim = SimulatedUser(user, USER_GUIDELINES.format(scenario=task.scenario),
                        {"seed": trial, **(cfg.user_params or {})}, cfg.max_turns,
                        style=cfg.user_style)
    episode = await run_episode(agent, sim, task.env, task.actions,
                                task_id=f"tau2-{task.domain}-{task.id}-t{trial}",
                                max_steps=cfg.max_steps, agent_params=cfg.agent_params,
                                principles=tuple(cfg.principles))
    score = score_episode(task, episode, gold_hash)
    row = {"id": task.id, "trial": trial, **score, "error": episode.error,
           "failed_calls": episode.failed_calls,
           "trajectory": _trajectory(task, trial, episode, score, agent.model)}
    check_value(row)  # what is kept must be writable: else this episode is the reject
    return row


async def play_tau2_trial(task: Tau2Task, trial: int, agent: Any, user: Any,
                          config: Tau2Config | None = None,
                          gold_hash: str | None = None) -> dict[str, Any]:
    """One trial of one task, played and scored: the result row ``evaluate_tau2`` keeps
    (``reward``, ``db_match``, ``stop``, ...) with its ``trajectory`` record. Raises what
    the episode raised (``evaluate_tau2`` makes that a reject)."""
    cfg = config or Tau2Config()
    if gold_hash is None:
        gold_hash = envs.replay(task.env, task.actions).state_hash()
    return await _episode(task, trial, agent, user, cfg, gold_hash)


def _reject(task: Tau2Task, trial: int, exc: Exception) -> Reject:
    """The episode's reject, or ``exc`` again when the whole run must stop."""
    from lamstudio.agent import TaskError, clean_text, is_fatal

    if is_fatal(exc):
        raise exc
    if isinstance(exc, TaskError):  # EpisodeError: the record could not be made
        code, field_, why = exc.code, exc.field, str(exc)
    elif isinstance(exc, JsonValueError):
        code, field_, why = exc.code, "", f"the result cannot be written: {exc.message}"
    else:
        code, field_, why = "episode_error", "", f"{type(exc).__name__}: {exc}"
    return Reject(f"tau2:{task.domain}", 0, code, clean_text(why)[0][:2000], field_,
                  f"tau2-{task.domain}-{task.id}-t{trial}", stage="eval")


def summarize_tau2(suite: str, model: str, tasks: list[Tau2Task], results: list[dict[str, Any]],
                   trials: int, rejects: Sequence[Reject] = ()) -> dict[str, Any]:
    """Rejected episodes are failed trials: no wins, no database match."""
    wins = Counter()
    for r in results:
        wins[r["id"]] += int(r["reward"] == 1.0)
    successes = [wins[t.id] for t in tasks]
    patterns = Counter(p for r in results for p in r["patterns"])
    return {
        "suite": suite, "model": model, "tasks": len(tasks), "trials": trials,
        "planned": len(tasks) * trials, "episodes": len(results), "rejected": len(rejects),
        "rejected_by_reason": dict(Counter(r.code for r in rejects).most_common()),
        "balanced": len(tasks) * trials == len(results) + len(rejects),
        # None (JSON null) where pass^k is undefined (no tasks): NaN is not JSON.
        "pass^k": {str(k): _defined(pass_hat_k(successes, trials, k))
                   for k in range(1, trials + 1)},
        "db_match": sum(r["db_match"] for r in results) / max(len(results) + len(rejects), 1),
        "stops": dict(Counter(r["stop"] for r in results)),
        "error_patterns": {p: {"count": n, "name": PATTERN_NAMES[p]}
                           for p, n in patterns.most_common()},
        "per_task": {t.id: wins[t.id] for t in tasks}}


def _defined(x: float) -> float | None:
    return None if math.isnan(x) else x


def fmt_rate(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def evaluate_tau2(suite: str, agent: Any, user: Any, out: Path, config: Tau2Config | None = None,
                  limit: int | None = None, task_ids: list[str] | None = None,
                  progress: Callable[[int], None] = lambda n: None) -> Tau2Result:
    """Play and score ``suite`` (``tau2:DOMAIN[:SPLIT]``). ``agent`` and ``user`` are
    ``lamstudio.llm.ChatBackend``s (the user simulator is usually a separate, stronger
    endpoint). Writes ``results.jsonl``, ``trajectories.jsonl``,
    ``trajectories.rejects.jsonl`` (episodes that failed, with reasons), ``summary.json``
    and ``report.html`` under ``out``. ``task_ids`` / ``limit`` pick tasks."""
    from lamstudio.io import atomic_path, default_rejects_path, write_jsonl

    cfg = config or Tau2Config()
    tasks = load_tau2_suite(suite)
    if task_ids:
        tasks = [t for t in tasks if t.id in set(task_ids)]
    tasks = tasks[:limit] if limit else tasks
    played = asyncio.run(_play(tasks, agent, user, cfg, progress))
    results = [r for r in played if not isinstance(r, Reject)]
    rejects = [r for r in played if isinstance(r, Reject)]
    from lamstudio.agent import clean_text

    # The run's own outputs are always written: a name no writer can keep (a non-UTF-8
    # byte in argv) is shown with U+FFFD there; the records themselves stay strict.
    summary = summarize_tau2(suite, clean_text(str(agent.model))[0], tasks, results,
                             cfg.trials, rejects)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.jsonl", "trajectories": out / "trajectories.jsonl",
             "rejects": default_rejects_path(out / "trajectories.jsonl"),
             "summary": out / "summary.json", "report": out / "report.html"}
    write_jsonl(paths["results"], ({k: v for k, v in r.items() if k != "trajectory"}
                                   for r in results))
    write_jsonl(paths["trajectories"], (r["trajectory"] for r in results))
    write_jsonl(paths["rejects"], (r.to_dict() for r in rejects))
    with atomic_path(paths["summary"]) as tmp:
        tmp.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    with atomic_path(paths["report"]) as tmp:
        tmp.write_text(tau2_report_html(summary, results), encoding="utf-8")
    return Tau2Result(summary, results, paths, rejects)


def _conversation(r: dict[str, Any]) -> str:
    rows = []
    for m in r["trajectory"]["messages"]:
        text = m.get("content") or ""
        for tc in m.get("tool_calls") or []:
            text += f"\n→ {tc['function']['name']}({json.dumps(tc['function']['arguments'])})"
        rows.append(f"<div class='m {m['role']}'><b>{m['role']}</b>"
                    f"<pre>{html.escape(text.strip()[:1500])}</pre></div>")
    return "".join(rows)


def tau2_report_html(summary: dict[str, Any], results: list[dict[str, Any]],
                     examples: int = 3) -> str:
    """A self-contained page: pass^k, stops, error patterns, per-task wins, and example
    conversations (failures first)."""
    e = html.escape
    passk = "".join(f"<tr><td>pass^{k}</td><td>{fmt_rate(v)}</td></tr>"
                    for k, v in summary["pass^k"].items())
    pats = "".join(f"<tr><td>{e(p)}</td><td>{e(v['name'])}</td><td>{v['count']}</td></tr>"
                   for p, v in summary["error_patterns"].items()) or "<tr><td>none</td></tr>"
    tasks = "".join(f"<tr><td>{e(t)}</td><td>{n}/{summary['trials']}</td></tr>"
                    for t, n in summary["per_task"].items())
    picked = sorted(results, key=lambda r: r["reward"])[:examples] + \
        [r for r in results if r["reward"] == 1.0][:1]
    convs = "".join(f"<h3>task {e(r['id'])} trial {r['trial']}: reward {r['reward']}, "
                    f"stop {e(r['stop'])}, db match {r['db_match']}</h3>{_conversation(r)}"
                    for r in picked)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{e(summary['suite'])} — {e(summary['model'])}</title><style>
body{{font-family:sans-serif;max-width:60em;margin:auto}} td{{padding:2px 8px}}
.m{{margin:4px 0;padding:4px;border-left:4px solid #ccc}} .user{{border-color:#48c}}
.assistant{{border-color:#4a4}} .tool{{border-color:#aaa;color:#555}}
pre{{white-space:pre-wrap;margin:2px}}</style></head><body>
<h1>{e(summary['suite'])}: {e(summary['model'])}</h1>
<p>{summary['tasks']} tasks × {summary['trials']} trials; database matched in
{summary['db_match']:.1%} of episodes; stops: {e(json.dumps(summary['stops']))};
episodes rejected (counted as failed trials): {summary.get('rejected', 0)}
{e(json.dumps(summary.get('rejected_by_reason', {})))}</p>
<table>{passk}</table><h2>Error patterns of failed tool calls (SpecTool)</h2>
<table>{pats}</table><h2>Per task</h2><table>{tasks}</table>
<h2>Example conversations</h2>{convs}</body></html>"""
