"""Making a given agent better without retraining (``lamstudio optimize``).

PRAct's action principles learned by RPO (Reflective Principle Optimization): a reflector
critiques the agent's trajectories, an optimizer rewrites the principles, the set with the
best validation reward is kept (``run_rpo``; ``docs/optimize.md``). ``read_principles``
reads what it writes, for ``lamstudio eval --principles`` and ``agent run --principles``.

>>> from lamstudio.optimize import RPOConfig, run_rpo
>>> cfg = RPOConfig(env="store", train_split="1:3", val_split="0:1", rounds=2, batch=2)
>>> result = run_rpo(cfg, "out/rpo", agent=agent, reflector=llm, optimizer=llm)
>>> result.best["principles"], result.best["val_reward"]
"""

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

__all__ = [
    "MODES", "SCHEDULES", "UNUSABLE_OPTIMIZER", "UNUSABLE_REFLECTOR", "PrinciplesError",
    "RPOConfig", "RPOConfigError", "RPOResult", "ResumeError", "SplitError",
    "parse_principles", "read_principles", "run_rpo",
]
