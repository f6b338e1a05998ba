"""Making a given agent better without retraining (``lamstudio optimize``), each method
measured against the plain agent on the same tasks with its cost in LLM calls.

PRAct's action principles learned by RPO (Reflective Principle Optimization): a reflector
critiques the agent's trajectories, an optimizer rewrites the principles, the set with the
best validation reward is kept (``run_rpo``; ``docs/optimize.md``). ``read_principles``
reads what it writes, for ``lamstudio eval --principles`` and ``agent run --principles``.

>>> from lamstudio.optimize import RPOConfig, run_rpo
>>> cfg = RPOConfig(env="store", train_split="1:3", val_split="0:1", rounds=2, batch=2)
>>> result = run_rpo(cfg, "out/rpo", agent=agent, reflector=llm, optimizer=llm)
>>> result.best["principles"], result.best["val_reward"]

REX exploration for data collection (``_rex.py``): ``explore_episode(rollout, agent, user,
RexConfig(...))`` plays an episode exploring candidate actions with UCB scores over rewards
from finished rollouts; ``lamstudio synth apigen-mt trajectories --explore M`` uses it.

BOLAA orchestration (``_orchestrate.py``): ``Orchestrator(specialists, agent, controller)``
routes each task to one ``Specialist`` (an LLM controller, or a keyword router as its
fallback) and plays it with only that specialist's tools.

* Reflection across trials (Retroformer's loop): ``run_trials_with_reflection``.
* A DEI committee of agents with a selector that never sees the reward: ``run_committee``.

Both play a ``Suite`` (``open_suite("env:store")``, ``open_suite("tau2:retail",
user=...)``): every attempt on its own fresh copy of the environment.
"""

from lamstudio.optimize._arena import Attempt, Suite, SuiteError, state_diff
from lamstudio.optimize._committee import (
    SELECTOR_SYSTEM,
    CommitteeResult,
    agreement_pick,
    committee,
    parse_choice,
    run_committee,
    selector_prompt,
)
from lamstudio.optimize._members import (
    CommitteeConfig,
    CommitteeError,
    Member,
    load_committee,
    open_members,
)
from lamstudio.optimize._orchestrate import (
    FALLBACKS,
    Orchestrator,
    Route,
    Specialist,
    keyword_route,
    task_text,
)
from lamstudio.optimize._reflect import (
    REFLECTOR_SYSTEM,
    ReflectConfig,
    ReflectResult,
    reflect_trials,
    run_trials_with_reflection,
    summarize_reflection,
)
from lamstudio.optimize._rex import (
    Exploration,
    RexConfig,
    action_key,
    explore_episode,
    state_key,
    ucb,
)
from lamstudio.optimize._rpo import (
    MODES,
    SCHEDULES,
    UNUSABLE_REFLECTOR,
    RPOConfig,
    RPOConfigError,
    RPOResult,
    run_rpo,
)
from lamstudio.optimize._rpo_principles import (
    UNUSABLE_OPTIMIZER,
    PrinciplesError,
    parse_principles,
    read_principles,
)
from lamstudio.optimize._rpo_store import ResumeError
from lamstudio.optimize._rpo_tasks import SplitError
from lamstudio.optimize._suites import EnvSuite, Tau2Suite, open_suite

__all__ = [
    "Attempt", "CommitteeConfig", "CommitteeError", "CommitteeResult", "EnvSuite",
    "Exploration", "FALLBACKS", "MODES", "Member", "Orchestrator", "PrinciplesError",
    "REFLECTOR_SYSTEM", "RPOConfig", "RPOConfigError", "RPOResult", "ReflectConfig",
    "ReflectResult", "ResumeError", "RexConfig", "Route", "SCHEDULES", "SELECTOR_SYSTEM",
    "Specialist", "SplitError", "Suite", "SuiteError", "Tau2Suite", "UNUSABLE_OPTIMIZER",
    "UNUSABLE_REFLECTOR", "action_key", "agreement_pick", "committee", "explore_episode",
    "keyword_route", "load_committee", "open_members", "open_suite", "parse_choice",
    "parse_principles", "read_principles", "reflect_trials", "run_committee", "run_rpo",
    "run_trials_with_reflection", "selector_prompt", "state_diff", "state_key",
    "summarize_reflection", "task_text", "ucb",
]
