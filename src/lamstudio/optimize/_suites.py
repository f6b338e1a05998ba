"""The two kinds of ``Suite`` (see ``_arena.py``) and ``open_suite(spec)``.

``env:store`` / ``env:todo`` (or ``env:store,todo``): lamstudio's own environment tasks.
``tau2:retail[:SPLIT]`` / ``tau2:airline[:SPLIT]``: tau2's tasks with a simulated user.
Trial ``t`` of a task uses the user seed ``t`` (as ``lamstudio eval``'s tau2 trials do) and,
when the agent's params hold a ``seed``, the agent seed ``seed + t``: the plain agent and
an optimizer see the same sequence of trials.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from lamstudio.llm import Counted
from lamstudio.optimize._arena import Attempt, SuiteError, broken, state_diff

AGENT_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 512}


def trial_params(params: Mapping[str, Any] | None, trial: int) -> dict[str, Any]:
    out = dict(AGENT_PARAMS if params is None else params)
    if isinstance(out.get("seed"), int):
        out["seed"] += trial
    return out


def _pick(ids: list[str], task_ids: list[str] | None, limit: int | None) -> list[str]:
    if task_ids:
        missing = sorted(set(task_ids) - set(ids))
        if missing:
            raise SuiteError(f"no task {', '.join(missing)} in this suite")
        ids = [i for i in ids if i in set(task_ids)]
    return ids[:limit] if limit else ids


class EnvSuite:
    """Tasks of lamstudio's toy environments; the user's turns are scripted.
    ``max_steps``: agent model calls per user turn."""

    def __init__(self, name: str, tasks: list[Any], *, max_steps: int = 5,
                 limit: int | None = None, task_ids: list[str] | None = None) -> None:
        self.name, self.max_steps = name, max_steps
        self.tasks = {t.id: t for t in tasks}
        self.task_ids = _pick(list(self.tasks), task_ids, limit)

    def brief(self, task_id: str) -> str:
        task = self.tasks[task_id]
        turns = [m["content"] for m in task.messages if m["role"] == "user"] + task.turns
        said = "\n".join(f"{i}. {t}" for i, t in enumerate(turns, 1))
        return f"Environment {task.env!r}. The user's requests, turn by turn:\n{said}"

    async def play(self, task_id: str, agent: Any, *, trial: int = 0,
                   params: Mapping[str, Any] | None = None, principles: tuple[str, ...] = (),
                   reflections: tuple[str, ...] = ()) -> Attempt:
        from lamstudio.agent import AgentConfig, EnvToolbox, run_episode
        from lamstudio.envs import make_env

        task, counted, started = self.tasks[task_id], Counted(agent), time.perf_counter()
        try:
            toolbox = EnvToolbox(task.env, task.initial_state, task.ground_truth)
            steps = self.max_steps * (1 + len(task.turns))
            config = AgentConfig(max_steps=steps, params=trial_params(params, trial),
                                 source=self.name, principles=principles,
                                 reflections=reflections)
            rec = await run_episode(counted, task, toolbox, None, config)
            before = make_env(task.env, task.initial_state).state
        except Exception as exc:  # noqa: BLE001 - one broken episode is one failed attempt
            return broken(task_id, exc, {"agent": counted.calls}, started)
        meta = rec.meta["agent"]
        error = f"model_error: {meta.get('error', '')}" if meta["stop"] == "model_error" else ""
        record = rec.model_dump(mode="json", exclude_none=True)
        # An episode the model broke off is a failed attempt, as tau2 scores it, even when the
        # state already matched: one reward for the member's row, its mean and the oracle.
        reward = 0.0 if error else float(meta.get("reward") or 0.0)
        return Attempt(task_id, reward, meta["state_hash"],
                       record["messages"], record, error,
                       state_diff(before, toolbox.runner.env.state), {"agent": counted.calls},
                       round(time.perf_counter() - started, 3))


class Tau2Suite:
    """tau2 tasks: ``user`` (a ``ChatBackend``) simulates the customer from the scenario,
    which neither the agent nor a reflector or selector ever reads."""

    def __init__(self, spec: str, user: Any, *, limit: int | None = None,
                 task_ids: list[str] | None = None, max_turns: int = 30, max_steps: int = 40,
                 user_params: Mapping[str, Any] | None = None,
                 user_style: str = "roles") -> None:
        from lamstudio.eval import load_tau2_suite

        self.name, self.user = spec, user
        self.tasks = {t.id: t for t in load_tau2_suite(spec)}
        self.task_ids = _pick(list(self.tasks), task_ids, limit)
        self.max_turns, self.max_steps = max_turns, max_steps
        from lamstudio.eval import check_user_style

        self.user_params = dict(user_params or {})
        self.user_style = check_user_style(user_style)
        self._gold: dict[str, str] = {}

    def brief(self, task_id: str) -> str:
        task = self.tasks[task_id]
        return (f"A customer-service conversation in tau2-bench's {task.domain} domain: the "
                "agent must follow the domain's policy, act through its tools, and tell the "
                "customer the outcome.")

    def gold_hash(self, task_id: str) -> str:
        from lamstudio.envs import replay

        if task_id not in self._gold:
            task = self.tasks[task_id]
            self._gold[task_id] = replay(task.env, task.actions).state_hash()
        return self._gold[task_id]

    async def play(self, task_id: str, agent: Any, *, trial: int = 0,
                   params: Mapping[str, Any] | None = None, principles: tuple[str, ...] = (),
                   reflections: tuple[str, ...] = ()) -> Attempt:
        from lamstudio.envs import make_env
        from lamstudio.eval import (
            USER_GUIDELINES,
            SimulatedUser,
            run_tau2_episode,
            score_episode,
        )

        task, started = self.tasks[task_id], time.perf_counter()
        counted, user = Counted(agent), Counted(self.user)
        calls = lambda: {"agent": counted.calls, "user": user.calls}  # noqa: E731
        try:
            sim = SimulatedUser(user, USER_GUIDELINES.format(scenario=task.scenario),
                                {"seed": trial, **self.user_params}, self.max_turns,
                                style=self.user_style)
            ep = await run_tau2_episode(
                counted, sim, task.env, task.actions, task_id=f"{task.domain}-{task.id}-t{trial}",
                max_steps=self.max_steps, agent_params=trial_params(params, trial),
                source=self.name, principles=principles, reflections=reflections)
            score = score_episode(task, ep, self.gold_hash(task_id))
            diff = state_diff(make_env(task.env).state, ep.runner.env.state)
        except Exception as exc:  # noqa: BLE001 - one broken episode is one failed attempt
            return broken(task_id, exc, calls(), started)
        error = f"{ep.stop}: {ep.error}" if ep.stop in ("agent_error", "user_error") else ""
        record = None
        if ep.record is not None:
            record = ep.record.model_dump(mode="json", exclude_none=True)
            record["messages"] = ep.messages  # with the user's stop, as tau2 keeps it
            record["meta"]["tau2"] = {"task_id": task.id, "trial": trial, **score}
        return Attempt(task_id, score["reward"], ep.runner.state_hash(), ep.messages, record,
                       error, diff, calls(), round(time.perf_counter() - started, 3))


def open_suite(spec: str, *, user: Any = None, limit: int | None = None,
               task_ids: list[str] | None = None, max_steps: int | None = None,
               max_turns: int = 30, user_style: str = "roles") -> EnvSuite | Tau2Suite:
    """``env:NAME[,NAME]`` or ``tau2:DOMAIN[:SPLIT]`` (``user`` is the tau2 user simulator,
    ``user_style`` how it sees the conversation; ``max_steps``: agent model calls per
    episode for tau2, per user turn for env)."""
    if spec.startswith("tau2:"):
        if user is None:
            raise SuiteError(f"suite {spec!r} needs a user simulator (a user model)")
        return Tau2Suite(spec, user, limit=limit, task_ids=task_ids, max_turns=max_turns,
                         max_steps=max_steps or 40, user_style=user_style)
    if spec.startswith("env:"):
        from lamstudio.agent import env_tasks
        from lamstudio.envs import ENVS

        names = [n.strip() for n in spec[4:].split(",") if n.strip()]
        bad = [n for n in names if n not in ENVS or n.startswith("tau2:")]
        if not names or bad:
            raise SuiteError(f"suite {spec!r}: expected env:NAME with NAME one of: store, todo")
        tasks = [t for n in names for t in env_tasks(n)]
        return EnvSuite(spec, tasks, max_steps=max_steps or 5, limit=limit, task_ids=task_ids)
    raise SuiteError(f"suite {spec!r}: reflection and committees run on env:store, env:todo "
                     "or tau2:DOMAIN[:SPLIT]")
