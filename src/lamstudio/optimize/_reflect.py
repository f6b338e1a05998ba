"""Reflection across trials, Retroformer's loop: after a failed trial a *reflector* (an LLM)
reads the task and the failed conversation (and, by default, the reward) and writes a short
reflection; the next trial of the same task sees every reflection so far as a block of its
system prompt ("# Reflections on earlier attempts", after any principles).

Two arms on the same tasks with the same k and the same trial seeds:

* **plain**: k independent trials per task, no reflection: pass^1..pass^k (tau-bench's
  estimate) and success-within-k (some trial succeeded);
* **reflect**: trial 1 is the plain arm's trial 1; while the last trial failed and fewer
  than k were played, reflect, then play the next trial with the reflections:
  success-within-k, and the success curve within 1..k. A trial that has no reflection to
  see (every reflection so far was unusable) is the plain arm's trial of the same index,
  not played again.

Every reflection that a next trial saw is one record of the *reflections dataset*: system =
the reflector's instructions, user = the failed attempt as the reflector read it, assistant
= the reflection, ``meta.reflection`` = task, trial, reward before and after. Retroformer
trains its retrospective model by policy gradient on that change in reward; lamstudio
approximates it by **reward-filtered fine-tuning**: ``reflections.improved.jsonl`` keeps the
reflections whose next trial's reward went up, ready for ``lamstudio train``.

A reflector reply that cannot be used is counted by reason and the next trial runs without
a new reflection: ``empty``, ``bad_content`` (not text), ``too_long`` (over
``max_reflection_chars``), ``reflector_error`` (the backend failed). Never a crash; only a
refused key or a wrong URL/model stops the run (every call would fail the same way).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.llm import Counted
from lamstudio.optimize._arena import Attempt, Suite, conversation_text

REFLECTOR_SYSTEM = """You review a failed attempt of an AI agent at a task, so that its \
next attempt succeeds. Say in at most five sentences what went wrong and what the agent \
must do differently next time: concrete actions, tool calls, checks, and what to tell \
the user. Write the reflection only, as advice to the agent ("Next time, ...")."""


@dataclass
class ReflectConfig:
    """``trials``: k. ``reflect``: False runs the plain arm only. ``show_reward``: the
    reflector is told the failed trial's reward (Retroformer's signal); off, it reflects
    on the conversation alone."""

    trials: int = 3
    reflect: bool = True
    show_reward: bool = True
    max_reflection_chars: int = 2000
    agent_params: dict[str, Any] | None = None
    reflector_params: dict[str, Any] = field(
        default_factory=lambda: {"temperature": 0.0, "max_tokens": 400})
    principles: tuple[str, ...] = ()
    concurrency: int = 4  # episodes and reflections at once


@dataclass
class ReflectResult:
    summary: dict[str, Any]
    rows: list[dict[str, Any]]  # one per task
    reflections: list[dict[str, Any]]  # the dataset's records (JSON)
    attempts: list[dict[str, Any]]  # every played trial's record, with meta.optimize
    paths: dict[str, Path] = field(default_factory=dict)


def reflector_prompt(suite: Suite, attempt: Attempt, show_reward: bool) -> str:
    outcome = (f"# Outcome\nReward: {attempt.reward:g} (1 is success)." if show_reward
               else "# Outcome\nNot told: judge the attempt yourself.")
    if attempt.error:
        outcome += f"\nThe attempt broke off: {attempt.error[:300]}"
    return (f"# Task\n{suite.brief(attempt.task_id)}\n\n# The attempt\n"
            f"{conversation_text(attempt.messages)}\n\n{outcome}")


async def reflect_once(reflector: Any, prompt: str,
                       config: ReflectConfig) -> tuple[str | None, str]:
    """The reflection, or ``(None, reason code)`` for a reply that cannot be used."""
    from lamstudio.agent import is_fatal, read_text

    messages = [{"role": "system", "content": REFLECTOR_SYSTEM},
                {"role": "user", "content": prompt}]
    try:
        result = await reflector.complete(messages, None, **config.reflector_params)
    except Exception as exc:  # noqa: BLE001 - counted; the next trial runs without it
        if is_fatal(exc):
            raise
        return None, "reflector_error"
    text, _, problem = read_text(result.content)
    if problem:
        return None, "bad_content"
    text = (text or "").strip()
    if not text:
        return None, "empty"
    if len(text) > config.max_reflection_chars:
        return None, "too_long"
    return text, ""


def _dataset_record(suite: Suite, prompt: str, text: str, before: Attempt, after: Attempt,
                    trial: int, models: dict[str, str], show_reward: bool) -> dict[str, Any]:
    """One (task, reflection, reward before, reward after) example as a lamstudio record."""
    from lamstudio.agent import make_record

    meta = {"suite": suite.name, "task_id": before.task_id, "trial": trial,
            "reward_before": before.reward, "reward_after": after.reward,
            "improved": after.reward > before.reward, "show_reward": show_reward, **models}
    rec = make_record({"id": f"reflection-{suite.name}-{before.task_id}-t{trial}",
                       "source": "reflections", "system": REFLECTOR_SYSTEM,
                       "messages": [{"role": "user", "content": prompt},
                                    {"role": "assistant", "content": text}],
                       "meta": {"reflection": meta}})
    return rec.model_dump(mode="json", exclude_none=True)


def _tagged(attempt: Attempt, arm: str, trial: int, reflections: int) -> dict[str, Any] | None:
    if attempt.record is None:
        return None
    rec = dict(attempt.record)
    rec["meta"] = {**rec.get("meta", {}), "optimize": {
        "method": "reflect", "arm": arm, "trial": trial, "reflections": reflections,
        "reward": attempt.reward, **({"error": attempt.error} if attempt.error else {})}}
    return rec


def _cost(attempts: list[Attempt]) -> tuple[Counter[str], float]:
    calls: Counter[str] = Counter()
    for a in attempts:
        calls.update(a.calls)
    return calls, sum(a.seconds for a in attempts)


async def _one_task(suite: Suite, task_id: str, agent: Any, reflector: Any,
                    cfg: ReflectConfig, gate: asyncio.Semaphore) -> dict[str, Any]:
    """Both arms of one task: its result row, with its records under private keys."""
    async def play(trial: int, reflections: tuple[str, ...] = ()) -> Attempt:
        async with gate:
            return await suite.play(task_id, agent, trial=trial, params=cfg.agent_params,
                                    principles=cfg.principles, reflections=reflections)

    k = cfg.trials
    plain = list(await asyncio.gather(*(play(t) for t in range(k))))
    arm, seen = [plain[0]], [0]  # seen: how many reflections each trial of the arm saw
    notes, problems, data = [], [], []
    counted = Counted(reflector) if reflector is not None else None
    models = {"agent": getattr(agent, "model", ""), "reflector": getattr(reflector, "model", "")}
    thinking = 0.0
    while cfg.reflect and counted is not None and not arm[-1].success and len(arm) < k:
        prompt = reflector_prompt(suite, arm[-1], cfg.show_reward)
        async with gate:  # a reflection is a model call like an episode's: it waits its turn
            started = time.perf_counter()
            text, problem = await reflect_once(counted, prompt, cfg)
            thinking += time.perf_counter() - started
        notes.append(text) if text else problems.append(problem)
        trial = len(arm)
        nxt = await play(trial, tuple(notes)) if notes else plain[trial]
        if text:
            data.append(_dataset_record(suite, prompt, text, arm[-1], nxt, trial, models,
                                        cfg.show_reward))
        arm.append(nxt)
        seen.append(len(notes))
    (pc, ps), (rc, rs) = _cost(plain), _cost(arm)
    rc["reflector"] = counted.calls if counted else 0
    records = [_tagged(a, "plain", t, 0) for t, a in enumerate(plain)]
    records += [_tagged(a, "reflect", t, n)
                for t, (a, n) in enumerate(zip(arm, seen, strict=True)) if n]
    return {"id": task_id, "plain": [a.reward for a in plain],
            "reflect": [a.reward for a in arm], "reflections": notes, "unusable": problems,
            "errors": [a.error for a in plain if a.error]
            + [a.error for a, n in zip(arm, seen, strict=True) if n and a.error],
            "calls": {"plain": dict(pc), "reflect": dict(rc)},
            "seconds": {"plain": round(ps, 3), "reflect": round(rs + thinking, 3)},
            "_dataset": data, "_records": [r for r in records if r]}


def _within(rewards: list[list[float]], j: int) -> float | None:
    """Share of tasks with a success among their first ``j`` trials."""
    if not rewards:
        return None
    return sum(any(r >= 1.0 for r in rs[:j]) for rs in rewards) / len(rewards)


def summarize_reflection(suite: str, rows: list[dict[str, Any]], cfg: ReflectConfig,
                         models: dict[str, str]) -> dict[str, Any]:
    """The two arms side by side (see the module docstring)."""
    from lamstudio.eval import pass_hat_k

    k, plain, arm = cfg.trials, [r["plain"] for r in rows], [r["reflect"] for r in rows]
    wins = [sum(x >= 1.0 for x in rs) for rs in plain]
    calls = {a: sum((Counter(r["calls"][a]) for r in rows), Counter()) for a in
             ("plain", "reflect")}
    improved = sum(d["meta"]["reflection"]["improved"] for r in rows for d in r["_dataset"])
    passk = {str(j): pass_hat_k(wins, k, j) for j in range(1, k + 1)}
    return {
        "suite": suite, **models, "tasks": len(rows), "trials": k,
        "show_reward": cfg.show_reward,
        "plain": {"pass^k": {j: (None if v != v else v) for j, v in passk.items()},
                  "success_within": {str(j): _within(plain, j) for j in range(1, k + 1)},
                  "llm_calls": dict(calls["plain"]),
                  "seconds": round(sum(r["seconds"]["plain"] for r in rows), 3)},
        "reflect": {"success_within": {str(j): _within(arm, j) for j in range(1, k + 1)},
                    "trials_played": sum(len(a) for a in arm),
                    "reflections": sum(len(r["reflections"]) for r in rows),
                    "improved": improved,
                    "unusable": dict(Counter(p for r in rows for p in r["unusable"])),
                    "llm_calls": dict(calls["reflect"]),
                    "seconds": round(sum(r["seconds"]["reflect"] for r in rows), 3)},
        "episode_errors": sum(len(r["errors"]) for r in rows)}


def reflection_markdown(s: dict[str, Any]) -> str:
    k, p, r = str(s["trials"]), s["plain"], s["reflect"]
    rate = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    unusable = ", ".join(f"{c} {n}" for c, n in r["unusable"].items()) or "none"
    return "\n".join([
        f"# Reflection across trials: {s['suite']}", "",
        f"agent `{s['agent']}`, reflector `{s['reflector']}`; {s['tasks']} tasks, k = {k}, "
        f"reward shown to the reflector: {'yes' if s['show_reward'] else 'no'}", "",
        "| arm | pass^1 | pass^k | success within k | trials played | LLM calls | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| plain | {rate(p['pass^k']['1'])} | {rate(p['pass^k'][k])} | "
        f"{rate(p['success_within'][k])} | {s['tasks'] * s['trials']} | "
        f"{sum(p['llm_calls'].values())} | {p['seconds']:.1f} |",
        *([f"| reflect | {rate(r['success_within']['1'])} | | "
           f"{rate(r['success_within'][k])} | {r['trials_played']} | "
           f"{sum(r['llm_calls'].values())} | {r['seconds']:.1f} |", "",
           f"reflections written: {r['reflections']}, followed by a better trial: "
           f"{r['improved']}; unusable reflector replies: {unusable}"]
          if s["reflector"] else ["", "(no reflection: run with --reflect)"]), ""])


async def reflect_trials(suite: Suite, agent: Any, reflector: Any | None,
                         config: ReflectConfig | None = None) -> ReflectResult:
    """Both arms on every task of ``suite`` (nothing written; see the module docstring)."""
    cfg = config or ReflectConfig()
    if cfg.trials < 1:
        raise ValueError("trials must be at least 1")
    gate = asyncio.Semaphore(max(1, cfg.concurrency))
    rows = list(await asyncio.gather(*(_one_task(suite, t, agent, reflector, cfg, gate)
                                       for t in suite.task_ids)))
    models = {"agent": getattr(agent, "model", ""),
              "reflector": getattr(reflector, "model", "") if cfg.reflect else ""}
    summary = summarize_reflection(suite.name, rows, cfg, models)
    data = [d for r in rows for d in r.pop("_dataset")]
    records = [x for r in rows for x in r.pop("_records")]
    return ReflectResult(summary, rows, data, records)


def run_trials_with_reflection(suite: Suite, agent: Any, reflector: Any | None = None,
                               config: ReflectConfig | None = None,
                               out: str | Path | None = None) -> ReflectResult:
    """``reflect_trials`` in its own event loop; with ``out``, writes ``summary.json``,
    ``results.jsonl`` (per task), ``trajectories.jsonl`` (every trial played, with
    ``meta.optimize``), ``reflections.jsonl``, ``reflections.improved.jsonl`` (the
    reward-filtered training set) and ``report.md``."""
    result = asyncio.run(reflect_trials(suite, agent, reflector, config))
    if out is not None:
        result.paths = write_reflection(Path(out), result)
    return result


def write_reflection(out: Path, result: ReflectResult) -> dict[str, Path]:
    import json

    from lamstudio.io import atomic_path, write_jsonl

    out.mkdir(parents=True, exist_ok=True)
    paths = {n: out / f for n, f in (
        ("summary", "summary.json"), ("results", "results.jsonl"),
        ("trajectories", "trajectories.jsonl"), ("reflections", "reflections.jsonl"),
        ("improved", "reflections.improved.jsonl"), ("report", "report.md"))}
    write_jsonl(paths["results"], result.rows)
    write_jsonl(paths["trajectories"], result.attempts)
    write_jsonl(paths["reflections"], result.reflections)
    write_jsonl(paths["improved"], (d for d in result.reflections
                                    if d["meta"]["reflection"]["improved"]))
    with atomic_path(paths["summary"]) as tmp:
        tmp.write_text(json.dumps(result.summary, indent=1) + "\n", encoding="utf-8")
    with atomic_path(paths["report"]) as tmp:
        tmp.write_text(reflection_markdown(result.summary), encoding="utf-8")
    return paths
