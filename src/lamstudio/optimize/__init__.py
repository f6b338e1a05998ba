"""Make a given agent better without retraining, each method measured against the plain
agent on the same tasks with its cost in LLM calls (see docs/optimize.md).

* Reflection across trials (Retroformer's loop): ``run_trials_with_reflection``.
* A DEI committee of agents with a selector that never sees the reward: ``run_committee``.

Both play a ``Suite`` (``open_suite("env:store")``, ``open_suite("tau2:retail",
user=...)``): every attempt on its own fresh copy of the environment.
"""

from lamstudio.optimize._arena import Attempt, Counted, Suite, SuiteError, state_diff
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
from lamstudio.optimize._reflect import (
    REFLECTOR_SYSTEM,
    ReflectConfig,
    ReflectResult,
    reflect_trials,
    run_trials_with_reflection,
    summarize_reflection,
)
from lamstudio.optimize._suites import EnvSuite, Tau2Suite, open_suite

__all__ = [
    "REFLECTOR_SYSTEM", "SELECTOR_SYSTEM", "Attempt", "CommitteeConfig", "CommitteeError",
    "CommitteeResult", "Counted", "EnvSuite", "Member", "ReflectConfig", "ReflectResult",
    "Suite", "SuiteError", "Tau2Suite", "agreement_pick", "committee", "load_committee",
    "open_members", "open_suite", "parse_choice", "reflect_trials", "run_committee",
    "run_trials_with_reflection", "selector_prompt", "state_diff", "summarize_reflection",
]
