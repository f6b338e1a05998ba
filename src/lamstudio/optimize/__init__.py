"""Making a given agent better without retraining, each method measured against the plain
agent on the same tasks with its cost in LLM calls.

REX exploration for data collection (``_rex.py``): ``explore_episode(rollout, agent, user,
RexConfig(...))`` plays an episode exploring candidate actions with UCB scores over rewards
from finished rollouts; ``lamstudio synth apigen-mt trajectories --explore M`` uses it.
"""

from lamstudio.optimize._rex import (
    Exploration,
    RexConfig,
    action_key,
    explore_episode,
    state_key,
    ucb,
)

__all__ = ["Exploration", "RexConfig", "action_key", "explore_episode", "state_key", "ucb"]
