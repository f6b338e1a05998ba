"""Making a given agent better without retraining, each method measured against the plain
agent on the same tasks with its cost in LLM calls.

REX exploration for data collection (``_rex.py``): ``explore_episode(rollout, agent, user,
RexConfig(...))`` plays an episode exploring candidate actions with UCB scores over rewards
from finished rollouts; ``lamstudio synth apigen-mt trajectories --explore M`` uses it.

BOLAA orchestration (``_orchestrate.py``): ``Orchestrator(specialists, agent, controller)``
routes each task to one ``Specialist`` (an LLM controller, or a keyword router as its
fallback) and plays it with only that specialist's tools.
"""

from lamstudio.optimize._orchestrate import (
    FALLBACKS,
    Orchestrator,
    Route,
    Specialist,
    keyword_route,
    task_text,
)
from lamstudio.optimize._rex import (
    Exploration,
    RexConfig,
    action_key,
    explore_episode,
    state_key,
    ucb,
)

__all__ = ["FALLBACKS", "Exploration", "Orchestrator", "RexConfig", "Route", "Specialist",
           "action_key", "explore_episode", "keyword_route", "state_key", "task_text", "ucb"]
