"""A DEI committee (Diversity Empowered Intelligence): several different agents (models,
principles, temperatures, seeds) each play every task on their own fresh copy of the
environment; a selector that never sees the reward picks one candidate per task.

Two selectors, both always computed when they can be, and compared:

* ``agreement``: the final state hash that most usable candidates reached; a tie goes to
  the state reached by the member listed first in the committee file, and the pick is the
  first listed member that reached it (deterministic, no LLM call);
* ``llm``: an LLM reads the task, and for each candidate (numbered 1..n, member names and
  rewards never shown) what changed in the environment's state and the conversation, and
  replies with a number (``{"candidate": 2}``, ``Candidate 2``, ``2``). A reply that cannot
  be used is counted by reason (``empty``, ``bad_content``, ``no_choice``, ``ambiguous``:
  several numbers, ``out_of_range``, ``selector_error``) and the task falls back to the
  agreement pick. A task with a single usable candidate takes it without asking.

A candidate whose episode broke (the model failed or sent an unusable reply, the user
simulator failed, anything raised) is a *reject* with its reason: no selector can pick it.
The oracle is the share of tasks where some usable candidate succeeded: what a perfect
selector would reach. The DEI table: each member's reward, the best member, each
selector's reward, the oracle, with LLM calls and seconds.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.llm import Counted
from lamstudio.optimize._arena import Attempt, Suite, conversation_text, diff_text
from lamstudio.optimize._members import CommitteeConfig, Member

SELECTOR_SYSTEM = """You compare attempts by different AI agents at the same task and pick \
the one that did the task best: the right changes to the environment, nothing else \
changed, and a correct, complete answer to the user. Reply with JSON only: \
{"candidate": N} where N is the number of the best candidate."""


@dataclass
class CommitteeResult:
    summary: dict[str, Any]
    rows: list[dict[str, Any]]  # one per task
    attempts: list[dict[str, Any]]  # every member's episode, with meta.optimize
    paths: dict[str, Path] = field(default_factory=dict)


def agreement_pick(candidates: list[tuple[str, Attempt]]) -> str | None:
    """The member whose final state most usable candidates share (see the module doc)."""
    usable = [(n, a) for n, a in candidates if a.ok and a.state_hash]
    votes = Counter(a.state_hash for _, a in usable)
    most = max(votes.values(), default=0)
    return next((n for n, a in usable if votes[a.state_hash] == most), None)


def parse_choice(text: str, n: int) -> tuple[int | None, str]:
    """The 0-based candidate a selector's reply names, or ``(None, reason code)``."""
    from lamstudio.io import JsonValueError, parse_json

    text = re.sub(r"^```(?:json)?|```$", "", text.strip()).strip()
    if not text:
        return None, "empty"
    try:
        data = parse_json(text)
    except JsonValueError:
        data = None
    if isinstance(data, dict):
        data = next((data[k] for k in ("candidate", "choice", "best") if k in data), None)
    if isinstance(data, int) and not isinstance(data, bool):
        found = {data}
    else:
        text = data if isinstance(data, str) else text
        found = {int(x) for x in re.findall(r"candidate\W{0,4}(\d+)", text, re.I)}
        bare = re.fullmatch(r"#?(\d+)[.)]?", text.strip())
        found |= {int(bare.group(1))} if bare else set()
    if not found:
        return None, "no_choice"
    if len(found) > 1:
        return None, "ambiguous"
    (value,) = found
    return (value - 1, "") if 1 <= value <= n else (None, "out_of_range")


def selector_prompt(suite: Suite, task_id: str, candidates: list[Attempt]) -> str:
    """What the LLM selector reads: the task and each candidate's state changes and
    conversation. No reward, no member name, no expected state."""
    parts = [f"# Task\n{suite.brief(task_id)}"]
    for i, a in enumerate(candidates, 1):
        parts.append(f"# Candidate {i}\n## Changes to the environment's state\n"
                     f"{diff_text(a.diff)}\n## Conversation\n"
                     f"{conversation_text(a.messages, max_chars=6000)}")
    parts.append(f"Which candidate (1 to {len(candidates)}) did the task best?")
    return "\n\n".join(parts)


async def llm_pick(selector: Any, member: Member | None, suite: Suite, task_id: str,
                   candidates: list[tuple[str, Attempt]]) -> tuple[str | None, str]:
    """The member the LLM picks among usable candidates, or ``(None, reason code)``."""
    from lamstudio.agent import is_fatal, read_text

    usable = [(n, a) for n, a in candidates if a.ok]
    if len(usable) <= 1:
        return (usable[0][0], "") if usable else (None, "")
    prompt = selector_prompt(suite, task_id, [a for _, a in usable])
    params = member.params() if member else {"temperature": 0.0, "max_tokens": 64}
    try:
        result = await selector.complete([{"role": "system", "content": SELECTOR_SYSTEM},
                                          {"role": "user", "content": prompt}], None, **params)
    except Exception as exc:  # noqa: BLE001 - counted; the task falls back to agreement
        if is_fatal(exc):
            raise
        return None, "selector_error"
    text, _, problem = read_text(result.content)
    if problem:
        return None, "bad_content"
    index, problem = parse_choice(text or "", len(usable))
    return (None, problem) if index is None else (usable[index][0], "")


def _member_row(a: Attempt) -> dict[str, Any]:
    return {"reward": a.reward, "state_hash": a.state_hash, "rejected": a.error or None,
            "calls": a.calls, "seconds": a.seconds}


async def _one_task(suite: Suite, task_id: str, config: CommitteeConfig,
                    backends: Mapping[str, Any], selector: Any | None,
                    gate: asyncio.Semaphore) -> tuple[dict[str, Any], list[Attempt]]:
    async def play(m: Member) -> Attempt:
        async with gate:
            return await suite.play(task_id, backends[m.name], params=m.params(),
                                    principles=m.principles)

    attempts = list(await asyncio.gather(*(play(m) for m in config.members)))
    cands = [(m.name, a) for m, a in zip(config.members, attempts, strict=True)]
    reward = {n: a.reward for n, a in cands}
    agree = agreement_pick(cands)
    row: dict[str, Any] = {
        "id": task_id, "members": {n: _member_row(a) for n, a in cands},
        "agreement": {"pick": agree, "reward": reward.get(agree, 0.0)},
        "oracle": float(any(a.ok and a.success for _, a in cands))}
    if selector is not None:
        async with gate:  # the selector's call waits its turn, like an episode
            started, counted = time.perf_counter(), Counted(selector)  # this task's calls
            pick, problem = await llm_pick(counted, config.selector, suite, task_id, cands)
        chosen = pick if pick is not None else agree  # an unusable reply: agreement's pick
        row["llm"] = {"pick": chosen, "reward": reward.get(chosen, 0.0),
                      "problem": problem or None, "fallback": pick is None and bool(problem),
                      "calls": counted.calls,
                      "seconds": round(time.perf_counter() - started, 3)}
    return row, attempts


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def summarize_committee(suite: str, config: CommitteeConfig, rows: list[dict[str, Any]],
                        models: Mapping[str, str]) -> dict[str, Any]:
    members = []
    for m in config.members:
        got = [r["members"][m.name] for r in rows]
        members.append({"name": m.name, "model": models.get(m.name, m.model),
                        "reward": _mean([g["reward"] for g in got]),
                        "rejected": sum(g["rejected"] is not None for g in got),
                        "llm_calls": sum(sum(g["calls"].values()) for g in got),
                        "seconds": round(sum(g["seconds"] for g in got), 3)})
    best = max(members, key=lambda m: m["reward"] or 0.0)  # ties: the first listed
    selectors: dict[str, Any] = {"agreement": {
        "reward": _mean([r["agreement"]["reward"] for r in rows]), "llm_calls": 0,
        "seconds": 0.0}}
    if rows and "llm" in rows[0]:
        llm = [r["llm"] for r in rows]
        selectors["llm"] = {
            "reward": _mean([x["reward"] for x in llm]), "model": models.get("<selector>"),
            "unusable": dict(Counter(x["problem"] for x in llm if x["problem"])),
            "fallbacks": sum(x["fallback"] for x in llm),
            "same_pick_as_agreement": _mean([float(x["pick"] == r["agreement"]["pick"])
                                             for x, r in zip(llm, rows, strict=True)]),
            "llm_calls": sum(x["calls"] for x in llm),
            "seconds": round(sum(x["seconds"] for x in llm), 3)}
    return {"suite": suite, "tasks": len(rows), "members": members,
            "best_member": {"name": best["name"], "reward": best["reward"]},
            "selectors": selectors, "oracle": _mean([r["oracle"] for r in rows]),
            "llm_calls": sum(m["llm_calls"] for m in members)
            + sum(s["llm_calls"] for s in selectors.values()),
            "seconds": round(sum(m["seconds"] for m in members)
                             + sum(s["seconds"] for s in selectors.values()), 3)}


def dei_rows(s: dict[str, Any]) -> list[tuple[str, float | None, Any, Any, str]]:
    """The DEI table's rows: (what, reward, LLM calls, seconds, note)."""
    out: list[tuple[str, float | None, Any, Any, str]] = [
        (f"member {m['name']} ({m['model']})", m["reward"], m["llm_calls"], m["seconds"],
         f"{m['rejected']} rejected" if m["rejected"] else "") for m in s["members"]]
    out.append((f"best member: {s['best_member']['name']}", s["best_member"]["reward"],
                "", "", ""))
    for name, sel in s["selectors"].items():
        note = ""
        if sel.get("unusable"):
            note = ("unusable replies " + ", ".join(f"{c} {n}" for c, n in
                                                    sel["unusable"].items())
                    + f"; {sel['fallbacks']} fell back to agreement")
        out.append((f"selector: {name}", sel["reward"], sel["llm_calls"], sel["seconds"],
                    note))
    out.append(("oracle (some member succeeded)", s["oracle"], "", "", ""))
    return out


def committee_markdown(s: dict[str, Any]) -> str:
    rate = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    lines = [f"# DEI committee: {s['suite']}", "", f"{s['tasks']} tasks; {s['llm_calls']} LLM "
             f"calls, {s['seconds']:.1f} s in all", "",
             "| suite | row | reward | LLM calls | seconds | note |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for what, reward, calls, secs, note in dei_rows(s):
        secs = f"{secs:.1f}" if isinstance(secs, float) else secs
        lines.append(f"| {s['suite']} | {what} | {rate(reward)} | {calls} | {secs} | {note} |")
    return "\n".join(lines) + "\n"


async def committee(suite: Suite, config: CommitteeConfig, backends: Mapping[str, Any],
                    selector: Any | None = None, concurrency: int = 4) -> CommitteeResult:
    """Every member on every task of ``suite``, then both selectors (nothing written).
    ``backends``: a ``ChatBackend`` per member name; ``selector``: the LLM selector's."""
    missing = [m.name for m in config.members if m.name not in backends]
    if missing:
        raise ValueError(f"no backend for member(s) {', '.join(missing)}")
    gate = asyncio.Semaphore(max(1, concurrency))
    done = await asyncio.gather(*(_one_task(suite, t, config, backends, selector, gate)
                                  for t in suite.task_ids))
    models = {n: getattr(b, "model", "") for n, b in backends.items()}
    if selector is not None:
        models["<selector>"] = getattr(selector, "model", "")
    rows = [r for r, _ in done]
    records = []
    for (_, attempts) in done:
        for m, a in zip(config.members, attempts, strict=True):
            if a.record is not None:
                meta = {**a.record.get("meta", {}), "optimize": {
                    "method": "committee", "member": m.name, "reward": a.reward,
                    **({"rejected": a.error} if a.error else {})}}
                records.append({**a.record, "meta": meta})
    return CommitteeResult(summarize_committee(suite.name, config, rows, models), rows,
                           records)


def run_committee(suite: Suite, config: CommitteeConfig, backends: Mapping[str, Any] | None = None,
                  selector: Any | None = None, *, out: str | Path | None = None,
                  concurrency: int = 4) -> CommitteeResult:
    """``committee`` in its own event loop. Without ``backends`` every member's (and the
    selector's) backend is opened from the config (``open_members``). With ``out``, writes
    ``summary.json``, ``results.jsonl`` (per task), ``trajectories.jsonl`` (every member's
    episode), ``dei.md`` and ``dei.html``."""
    if backends is None:
        from lamstudio.optimize._members import open_members

        backends, opened = open_members(config)
        selector = selector if selector is not None else opened
    result = asyncio.run(committee(suite, config, backends, selector, concurrency))
    if out is not None:
        result.paths = write_committee(Path(out), result)
    return result


def write_committee(out: Path, result: CommitteeResult) -> dict[str, Path]:
    import json

    from lamstudio._html import write_page
    from lamstudio.io import atomic_path, write_jsonl

    out.mkdir(parents=True, exist_ok=True)
    paths = {n: out / f for n, f in (
        ("summary", "summary.json"), ("results", "results.jsonl"),
        ("trajectories", "trajectories.jsonl"), ("table", "dei.md"), ("report", "dei.html"))}
    write_jsonl(paths["results"], result.rows)
    write_jsonl(paths["trajectories"], result.attempts)
    with atomic_path(paths["summary"]) as tmp:
        tmp.write_text(json.dumps(result.summary, indent=1) + "\n", encoding="utf-8")
    with atomic_path(paths["table"]) as tmp:
        tmp.write_text(committee_markdown(result.summary), encoding="utf-8")
    write_page(paths["report"], "committee.html.j2", title=f"DEI committee: "
               f"{result.summary['suite']}", s=result.summary, rows=dei_rows(result.summary),
               tasks=result.rows)
    return paths
