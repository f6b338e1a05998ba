"""REX for data collection: explore candidate actions at each agent step instead of
playing once, with UCB scores over rewards backed up from finished rollouts.

The episode itself is the caller's: ``rollout(agent, user)`` plays one whole episode with
the given backends (any loop, any environment) and returns ``(outcome, reward)``. REX
only sees the agent's model calls, which makes it work with every lamstudio loop:

* **Fork by replay.** A fork at agent step ``k`` is a fresh rollout whose agent returns the
  committed replies for steps ``0..k-1`` without calling the model (``_Forced``); the
  environment is rebuilt by re-running those calls (lamstudio's environments start as
  copy-on-write views of their data, so a fresh one costs nothing and a replay copies only
  what it touches). Model requests are memoized per episode (``_Memo``): a replayed prefix,
  its user-simulator turns and every greedy continuation already seen cost no new call.
* **Candidates.** At step ``k`` the model's greedy reply (what plain play does) plus
  ``candidates`` samples at ``temperature`` (seeded); identical actions (same calls and
  arguments, or the same words) are one candidate; replies no loop could act on are
  counted as unusable with a reason, never rolled out.
* **Rollouts and backup.** Each new candidate is rolled out once, the agent continuing
  greedily to the end; its reward is backed up into ``Q(s, a)`` for every (state, action)
  on its path, so later steps reuse what earlier rollouts saw.
* **Choice.** UCB1: ``Q(s,a)/n(s,a) + c * sqrt(ln N(s) / n(s,a))``; the best candidate is
  committed and exploration moves to the next step. A rollout that reaches reward 1 is
  taken whole (its continuation is exactly what committing would replay); exploration also
  stops when the committed episode has ended, after ``max_steps`` explored steps, or once
  ``budget`` LLM calls (agent + user) are spent; the episode then ends greedily.

The first rollout (greedy from the start) is the plain play, so every exploration also
reports plain play's reward and cost on the same task, at no extra cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lamstudio.agent import is_fatal, read_reply
from lamstudio.io import JsonValueError, parse_json
from lamstudio.llm import LLMError, gather_or_cancel

Rollout = Callable[[Any, Any], Awaitable[tuple[Any, float]]]


@dataclass
class RexConfig:
    candidates: int = 3  # M: samples per explored step (the greedy reply is one more)
    c: float = 1.4  # UCB exploration weight
    temperature: float = 0.8  # sampling of candidates
    budget: int | None = 200  # LLM calls (agent + user) per episode; a soft cap, see above
    max_steps: int | None = None  # agent steps explored, from the first
    seed: int = 0


@dataclass
class Exploration:
    outcome: Any  # the committed rollout's outcome
    reward: float
    plain_outcome: Any  # the first rollout's: plain greedy play
    plain: dict[str, Any]  # its reward and the calls it cost
    report: dict[str, Any] = field(default_factory=dict)


class _Memo:
    """One backend, each distinct request sent once per episode (in-flight ones shared):
    forks replay their prefix for free and the call count is deterministic."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.model = backend, getattr(backend, "model", "")
        self.calls = 0
        self._seen: dict[str, asyncio.Future[Any]] = {}

    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None, **params: Any) -> Any:
        key = json.dumps([messages, tools, params], sort_keys=True, default=str)
        if key not in self._seen:
            self.calls += 1
            self._seen[key] = asyncio.ensure_future(
                self.backend.complete(messages, tools, **params))
        return await asyncio.shield(self._seen[key])


class _Forced:
    """A rollout's agent: the committed replies first, then the (memoized) model; records
    each step's request and reply (the rollout's path)."""

    def __init__(self, memo: _Memo, forced: list[Any]) -> None:
        self.memo, self.model, self.forced = memo, memo.model, forced
        self.steps: list[tuple[list[dict[str, Any]], Any, dict[str, Any], Any]] = []

    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None, **params: Any) -> Any:
        k = len(self.steps)
        result = self.forced[k] if k < len(self.forced) else \
            await self.memo.complete(messages, tools, **params)
        self.steps.append((messages, tools, params, result))
        return result


@dataclass
class _Run:
    """One finished rollout."""

    outcome: Any
    reward: float
    path: list[tuple[str, str]]  # (state, action) per agent step
    steps: list[tuple[list[dict[str, Any]], Any, dict[str, Any], Any]]


def state_key(messages: list[dict[str, Any]]) -> str:
    """A state is what the agent sees: the conversation so far."""
    blob = json.dumps(messages, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def action_key(result: Any) -> str:
    """An action is its calls (names and arguments, not the thought around them), or for
    a reply without calls its words."""
    calls = []
    for item in result.tool_calls or []:
        fn = item.get("function", item) if isinstance(item, dict) else {}
        args = fn.get("arguments") if isinstance(fn, dict) else None
        if isinstance(args, str):
            try:  # the model's text: parse_json, so no reply can crash the comparison
                args = parse_json(args)
            except JsonValueError:
                pass  # unreadable arguments: the text itself is the action's identity
        calls.append([fn.get("name") if isinstance(fn, dict) else None, args])
    if calls:
        return "calls:" + json.dumps(calls, sort_keys=True, default=str)
    return "say:" + " ".join(str(result.content or "").split())


def ucb(total: float, n: int, parent: int, c: float) -> float:
    """UCB1 of an action tried ``n`` times (``total`` reward) in a state visited
    ``parent`` times; an untried action comes first."""
    if n == 0:
        return math.inf
    return total / n + c * math.sqrt(math.log(max(parent, 1)) / n)


def unusable(result: Any, specs: list[dict[str, Any]] | None) -> str:
    """Why a sampled reply cannot be a candidate ("" when it can): the codes of
    ``lamstudio.agent.read_reply`` (``bad_content``, ``unknown_tool``, ``bad_arguments``),
    or ``empty``."""
    by_name = {s["function"]["name"]: s for s in specs or [] if "function" in s}
    reply = read_reply(result, 0, by_name)
    if reply.problem:
        return reply.problem.split(":", 1)[0]
    for call in reply.calls:
        if call.problem is not None:
            return call.problem.error_code or "bad_call"
    if not reply.calls and not (reply.content or "").strip():
        return "empty"
    return ""


class _Explorer:
    """The state of one exploration: memoized backends, UCB statistics, counts."""

    def __init__(self, rollout: Rollout, agent: Any, user: Any, cfg: RexConfig,
                 seed: int) -> None:
        self.play, self.cfg, self.seed = rollout, cfg, seed
        self.agent = _Memo(agent)
        self.user = _Memo(user) if user is not None else None
        self.stats: dict[tuple[str, str], list[float]] = {}  # (s, a) -> [total, n]
        self.visits: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()  # rollouts, sampled, distinct, duplicate, ...
        self.unusable: Counter[str] = Counter()
        self.trace: list[dict[str, Any]] = []

    def spent(self) -> int:
        return self.agent.calls + (self.user.calls if self.user is not None else 0)

    async def rollout(self, forced: list[Any]) -> _Run:
        agent = _Forced(self.agent, forced)
        outcome, reward = await self.play(agent, self.user)
        path = [(state_key(m), action_key(r)) for m, _, _, r in agent.steps]
        run = _Run(outcome, float(reward), path, agent.steps)
        for s, a in path:  # back the reward up along the whole path
            entry = self.stats.setdefault((s, a), [0.0, 0])
            entry[0] += run.reward
            entry[1] += 1
            self.visits[s] += 1
        self.counts["rollouts"] += 1
        return run

    async def sample(self, k: int, base: _Run) -> list[Any]:
        """Step ``k``'s distinct usable candidates, the greedy reply first."""
        messages, tools, params, greedy = base.steps[k]
        out, keys = [greedy], {action_key(greedy)}

        async def one(i: int) -> Any:
            seed = (self.cfg.seed * 1_000_003 + self.seed) * 10_007 + k * 101 + i
            try:
                return await self.agent.complete(messages, tools, **{
                    **params, "temperature": self.cfg.temperature, "seed": seed})
            except Exception as exc:  # noqa: BLE001 - a failed sample is a counted reject
                if is_fatal(exc):
                    raise
                return exc

        for result in await asyncio.gather(*(one(i) for i in range(self.cfg.candidates))):
            self.counts["sampled"] += 1
            why = "sample_error" if isinstance(result, Exception) else unusable(result, tools)
            if why:
                self.unusable[why] += 1
            elif action_key(result) in keys:
                self.counts["duplicate"] += 1
            else:
                keys.add(action_key(result))
                self.counts["distinct"] += 1
                out.append(result)
        return out

    async def step(self, k: int, base: _Run) -> _Run:
        """Explore step ``k`` of ``base`` (whose first ``k`` replies are committed) and
        return the rollout of the candidate UCB picks."""
        prefix = [r for _, _, _, r in base.steps[:k]]
        cands = await self.sample(k, base)

        async def roll(reply: Any) -> _Run | None:
            try:
                return await self.rollout([*prefix, reply])
            except LLMError:
                raise
            except Exception:  # noqa: BLE001 - a rollout that breaks is a counted reject
                self.counts["rollout_error"] += 1
                return None

        runs = [base, *await gather_or_cancel([roll(c) for c in cands[1:]])]
        s = state_key(base.steps[k][0])
        # A rollout that did not pass through (s, c) (a rollout function that is not
        # deterministic) still counts with its own reward, once.
        scored = [(ucb(*self.stats.get((s, action_key(c)), (r.reward, 1)),
                       max(self.visits[s], 1), self.cfg.c), i)
                  for i, (c, r) in enumerate(zip(cands, runs, strict=True)) if r is not None]
        best = max(scored, key=lambda t: (t[0], -t[1]))[1]  # ties: the earlier (greedy)
        self.trace.append({"step": k, "candidates": len(cands), "chosen": best,
                           "rewards": [None if r is None else round(r.reward, 4)
                                       for r in runs]})
        chosen = runs[best]
        assert chosen is not None
        return chosen

    async def run(self) -> Exploration:
        base = await self.rollout([])
        plain = {"reward": base.reward, "agent_calls": self.agent.calls,
                 "user_calls": self.user.calls if self.user is not None else 0}
        plain_outcome, k, stop = base.outcome, 0, ""
        while not stop:
            if base.reward >= 1.0:
                stop = "verified"
            elif k >= len(base.steps):
                stop = "ended"
            elif self.cfg.max_steps is not None and k >= self.cfg.max_steps:
                stop = "max_steps"
            elif self.cfg.budget is not None and self.spent() >= self.cfg.budget:
                stop = "budget"
            else:
                base = await self.step(k, base)
                k += 1
        return Exploration(base.outcome, base.reward, plain_outcome, plain,
                           self.report(stop, k, base, plain))

    def report(self, stop: str, k: int, final: _Run, plain: dict[str, Any]) -> dict[str, Any]:
        cands = {n: self.counts[n] for n in ("sampled", "distinct", "duplicate")}
        return {"stop": stop, "steps_explored": k, "rollouts": self.counts["rollouts"],
                "candidates": {**cands, "unusable": dict(sorted(self.unusable.items())),
                               "rollout_errors": self.counts["rollout_error"]},
                "reward": final.reward, "agent_calls": self.agent.calls,
                "user_calls": self.user.calls if self.user is not None else 0,
                "plain": plain, "trace": self.trace}


async def explore_episode(rollout: Rollout, agent: Any, user: Any = None,
                          config: RexConfig | None = None, *, seed: int = 0) -> Exploration:
    """Play one episode with REX (module docstring). ``rollout(agent, user)`` plays the
    whole episode with the backends it is given and returns ``(outcome, reward)``, reward
    in [0, 1] with 1 for success; ``agent`` and ``user`` (None when the episode has no
    simulated user) are ``lamstudio.llm.ChatBackend``s. ``seed`` tells episodes apart in
    the candidates' sampling seeds (with ``config.seed``)."""
    return await _Explorer(rollout, agent, user, config or RexConfig(), seed).run()
