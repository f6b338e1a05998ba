"""APIGen-MT phase 2: simulated user ↔ agent play for each accepted blueprint, kept only
when the episode ends with the user's stop, the final database equals the replay of the
blueprint's actions, and every expected output was said. Kept episodes are ``Trajectory``
records (policy as system prompt, tau2's tools, meta with the blueprint id and the check),
ready for ``verify`` and ``train``; the others are rejects with a reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

import lamstudio.envs as envs
from lamstudio.agent import with_principles
from lamstudio.eval import (
    USER_GUIDELINES,
    SimulatedUser,
    check_user_style,
    communicated,
    run_tau2_episode,
)
from lamstudio.io import JsonValueError, parse_json
from lamstudio.llm import Counted, LLMError
from lamstudio.synth._apigen_mt_rex import blueprint_reward, compare
from lamstudio.synth._safe import internal, writable

TRAJ_REASONS = ("kept", "agent_error", "user_error", "no_user_stop", "state_mismatch",
                "outputs_missing")


@dataclass
class TrajectoryConfig:
    attempts: int = 1  # plays per blueprint; each kept play is a record
    max_turns: int = 20  # user turns
    max_steps: int = 40  # agent model calls per play
    concurrency: int = 4
    seed: int = 0
    agent_params: dict[str, Any] | None = None
    user_params: dict[str, Any] | None = None
    user_style: str = "roles"  # how the simulator sees the conversation (SimulatedUser)
    # Explore instead of playing once: ``explore(rollout, agent, user, seed=...)``, e.g.
    # ``functools.partial(lamstudio.optimize.explore_episode, config=RexConfig(...))``;
    # it returns ``.outcome`` (the play), ``.plain_outcome``, ``.plain`` and ``.report``.
    explore: Callable[..., Awaitable[Any]] | None = None
    # PRAct's principles after the policy in the agent's prompt (optimize rpo's best.json);
    # a kept record's system prompt is the one the agent saw.
    principles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_user_style(self.user_style)
        if self.concurrency < 1:  # a semaphore of 0 would wait for ever
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")


@dataclass
class TrajectoryRun:
    kept: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    yields: dict[str, Any]


def _verdict(episode: Any, blueprint: dict[str, Any], gold: str) -> tuple[str, dict[str, bool]]:
    said = {o: communicated(o, episode.messages) for o in blueprint.get("outputs") or []}
    if episode.stop in ("agent_error", "user_error"):
        return episode.stop, said
    if episode.stop != "user_stop":  # max_turns / max_steps
        return "no_user_stop", said
    if episode.runner.state_hash() != gold:
        return "state_mismatch", said
    if not all(said.values()):
        return "outputs_missing", said
    return "kept", said


async def _rollout(bp: dict[str, Any], attempt: int, agent: Any, user: Any,
                   cfg: TrajectoryConfig, gold: str) -> tuple[dict[str, Any], float]:
    """One play with these backends, and its reward against the blueprint."""
    sim = SimulatedUser(user, USER_GUIDELINES.format(scenario=bp["instruction"]),
                        {"seed": cfg.seed * 1000 + attempt, **(cfg.user_params or {})},
                        cfg.max_turns, style=cfg.user_style)
    episode = await run_tau2_episode(agent, sim, bp["env"], bp["actions"],
                                     task_id=f"{bp['id']}-a{attempt}", max_steps=cfg.max_steps,
                                     agent_params=cfg.agent_params, source="apigen-mt",
                                     principles=cfg.principles)
    runner = episode.runner
    reason, said = _verdict(episode, bp, gold)
    meta = {"blueprint_id": bp["id"], "attempt": attempt, "reason": reason,
            "stop": episode.stop, "state_hash": runner.state_hash(), "gold_hash": gold,
            "outputs_said": said, "agent": agent.model, "user_simulator": user.model,
            "failed_calls": episode.failed_calls}
    play = {"id": f"{bp['id']}-a{attempt}", "env": bp["env"], "messages": episode.messages,
            "runner": runner, "meta": meta, "error": episode.error,
            "loop_meta": dict(episode.record.meta) if episode.record is not None else {}}
    return play, blueprint_reward(reason, episode.messages, bp["actions"])


async def _play(bp: dict[str, Any], attempt: int, agent: Any, user: Any,
                cfg: TrajectoryConfig) -> dict[str, Any]:
    """Play once, or explore (``cfg.explore``); meta counts the LLM calls spent, and when
    exploring says how plain play (the exploration's first rollout) would have ended."""
    gold = envs.replay(bp["env"], bp["actions"]).state_hash()
    agent, user = Counted(agent), Counted(user)
    if cfg.explore is None:
        play, _ = await _rollout(bp, attempt, agent, user, cfg, gold)
    else:
        found = await cfg.explore(lambda a, u: _rollout(bp, attempt, a, u, cfg, gold),
                                  agent, user, seed=cfg.seed * 1000 + attempt)
        play = found.outcome
        play["meta"].update(rex=found.report, plain_reason=found.plain_outcome["meta"][
            "reason"], plain_llm_calls={"agent": found.plain["agent_calls"],
                                        "user": found.plain["user_calls"]})
    play["meta"]["llm_calls"] = {"agent": agent.calls, "user": user.calls}
    return play


def _record(play: dict[str, Any]) -> dict[str, Any]:
    """The kept play as a record, or the play turned into a reject (``reason`` set to the
    readers' code) when it holds a value no writer can keep, e.g. a lone surrogate."""
    from lamstudio.schema import Trajectory, validate_record

    env = play["runner"].env
    raw = {"id": play["id"], "source": f"apigen-mt:{play['env']}",
           "system": with_principles(envs.system_prompt(env), play["loop_meta"].get(
               "agent", {}).get("principles", ())),
           "tools": envs.tool_specs(env), "messages": play["messages"],
           "meta": {**play["loop_meta"], "apigen_mt": play["meta"]}}
    try:
        rec = Trajectory.model_validate(raw)
    except ValidationError as exc:
        issues = validate_record(raw).errors
        play["meta"]["reason"] = issues[0].code if issues else "bad_record"
        play["error"] = (f"{issues[0].path}: {issues[0].message}" if issues
                         else str(exc))[:500]
        return {}
    return rec.model_dump(mode="json", exclude_none=True)


async def _guarded_play(bp: dict[str, Any], attempt: int, agent: Any, user: Any,
                        cfg: TrajectoryConfig) -> dict[str, Any]:
    """``_play``, or the play as an ``internal_error`` reject when it raises for a reason
    that is not the endpoint's (an ``LLMError`` stops the run)."""
    try:
        return await _play(bp, attempt, agent, user, cfg)
    except LLMError:
        raise
    except Exception as exc:  # noqa: BLE001 - one play's fault is that play's reject
        return {"id": f"{bp.get('id')}-a{attempt}", "env": bp.get("env"), "messages": [],
                "runner": None, "error": internal("play", exc).message, "loop_meta": {},
                "meta": {"blueprint_id": bp.get("id"), "attempt": attempt,
                         "reason": "internal_error", "stop": None}}


def trajectories(blueprints: list[dict[str, Any]], agent: Any, user: Any,
                 config: TrajectoryConfig | None = None,
                 progress: Any = lambda n: None) -> TrajectoryRun:
    """Play every blueprint ``config.attempts`` times. ``agent`` (the model being improved
    or a stronger endpoint) and ``user`` (the simulator) are ``lamstudio.llm.ChatBackend``s."""
    cfg = config or TrajectoryConfig()

    async def run() -> list[dict[str, Any]]:
        gate = asyncio.Semaphore(cfg.concurrency)

        async def one(bp: dict[str, Any], attempt: int) -> dict[str, Any]:
            async with gate:
                out = await _guarded_play(bp, attempt, agent, user, cfg)
            progress(1)
            return out
        return list(await asyncio.gather(*(one(b, a) for b in blueprints
                                           for a in range(cfg.attempts))))

    plays = asyncio.run(run())
    kept = []
    for p in plays:  # first: a kept play that cannot be written becomes a reject here
        if p["meta"]["reason"] == "kept" and (record := _record(p)):
            kept.append(record)
    rejected = [{"id": p["id"], "blueprint_id": p["meta"]["blueprint_id"],
                 "reason": p["meta"]["reason"], "stop": p["meta"]["stop"], "error": p["error"],
                 "messages": p["messages"]} for p in plays if p["meta"]["reason"] != "kept"]
    counts = {r: 0 for r in TRAJ_REASONS}
    for p in plays:
        counts[p["meta"]["reason"]] = counts.get(p["meta"]["reason"], 0) + 1
    per_bp = {b["id"]: sum(1 for p in plays if p["meta"]["blueprint_id"] == b["id"]
                           and p["meta"]["reason"] == "kept") for b in blueprints}
    yields = {"blueprints": len(blueprints), "plays": len(plays), "kept": len(kept),
              "rejected": len(rejected), "keep_rate": len(kept) / max(len(plays), 1),
              "by_reason": counts, "blueprints_with_a_kept_play":
              sum(1 for v in per_bp.values() if v), "kept_per_blueprint": per_bp,
              "llm_calls": {who: sum(p["meta"].get("llm_calls", {}).get(who, 0)
                                     for p in plays) for who in ("agent", "user")}}
    if cfg.explore is not None:
        yields["rex"] = compare(plays)
    return TrajectoryRun(kept, rejected, yields)


def write_trajectories(run: TrajectoryRun, out: Any) -> dict[str, Any]:
    """``trajectories.jsonl`` (kept records), ``rejects.jsonl`` and ``yields.json``."""
    import json
    from pathlib import Path

    from lamstudio.io import atomic_path, write_jsonl

    out = Path(out)
    paths = {"trajectories": out / "trajectories.jsonl", "rejects": out / "rejects.jsonl",
             "yields": out / "yields.json"}
    write_jsonl(paths["trajectories"], run.kept)
    write_jsonl(paths["rejects"], [writable(r) for r in run.rejected])
    with atomic_path(paths["yields"]) as tmp:
        tmp.write_text(json.dumps(run.yields, indent=1))
    return paths


def read_blueprints(path: Any) -> list[dict[str, Any]]:
    """Accepted blueprints from ``blueprints.jsonl``; a bad line is an error naming it
    (the file is read before anything runs: nothing is lost)."""
    from pathlib import Path

    out = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            bp = parse_json(line)
        except JsonValueError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc.code}: {exc.message})") from None
        if not isinstance(bp, dict):
            raise ValueError(f"{path}:{n}: a blueprint is a JSON object")
        missing = [k for k in ("id", "env", "instruction", "actions") if k not in bp]
        if missing:
            raise ValueError(f"{path}:{n}: blueprint lacks {', '.join(missing)}")
        out.append(bp)
    return out
