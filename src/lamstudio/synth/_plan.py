"""The plan of a ``synth apigen`` run: one ``Task`` per generation (style, tool category,
offered tools, prompt template, seed examples), drawn up front from ``--seed``.

Task ``i`` depends only on the seed, the pool and ``i``: a resumed run redoes exactly the
tasks it had not committed, and any ``--concurrency`` gives the same records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lamstudio.synth._config import ApigenConfig
from lamstudio.synth._pool import ToolPool
from lamstudio.synth._prompts import PromptTemplate, SeedExample

# (min, max) tools offered and calls asked for, per style.
_OFFERED = {"simple": (1, 1), "multiple": (2, 4), "parallel": (1, 1),
            "parallel_multiple": (2, 3), "irrelevance": (1, 3)}
_CALLS = {"simple": (1, 1), "multiple": (1, 1), "parallel": (2, 3),
          "parallel_multiple": (2, 4), "irrelevance": (0, 0)}


@dataclass(frozen=True)
class Task:
    index: int
    id: str
    style: str
    category: str
    tools: tuple[str, ...]
    n_calls: int
    template: str
    examples: tuple[str, ...]


def category_plan(pool: ToolPool, cfg: ApigenConfig) -> list[str]:
    """One category per task: the quotas first, the rest uniform over categories."""
    cats = list(pool.categories)
    if unknown := set(cfg.quotas) - set(cats):
        raise ValueError(f"quota for unknown tool categor(y/ies) {sorted(unknown)}; "
                         f"the pool has: {', '.join(cats)}")
    rng = random.Random(f"{cfg.seed}:categories")
    plan = [c for c, q in cfg.quotas.items() for _ in range(q)]
    plan += [rng.choice(cats) for _ in range(cfg.n - len(plan))]
    rng.shuffle(plan)
    return plan


def make_plan(pool: ToolPool, templates: list[PromptTemplate], seeds: list[SeedExample],
              cfg: ApigenConfig) -> list[Task]:
    styles = sorted(cfg.styles)
    weights = [cfg.styles[s] for s in styles]
    tasks = []
    for i, category in enumerate(category_plan(pool, cfg)):
        rng = random.Random(f"{cfg.seed}:task:{i}")
        style = rng.choices(styles, weights)[0]
        tasks.append(Task(i, f"apigen-s{cfg.seed}-{i:06d}", style, category,
                          _offer(pool, category, style, rng),
                          rng.randint(*_CALLS[style]), rng.choice(templates).id,
                          _examples(seeds, style, cfg.n_examples, rng)))
    return tasks


def _offer(pool: ToolPool, category: str, style: str, rng: random.Random) -> tuple[str, ...]:
    lo, hi = _OFFERED[style]
    own = pool.categories[category]
    want = min(rng.randint(lo, hi), len(pool))
    picked = rng.sample(own, min(want, len(own)))
    if len(picked) < want:  # a small category borrows from the others
        others = [n for n in pool.tools if n not in picked]
        picked += rng.sample(others, want - len(picked))
    return tuple(picked)


def _examples(seeds: list[SeedExample], style: str, k: int,
              rng: random.Random) -> tuple[str, ...]:
    """``k`` seed examples, those of the task's style first."""
    same = [s.id for s in seeds if s.style == style]
    rest = [s.id for s in seeds if s.style != style]
    rng.shuffle(same)
    rng.shuffle(rest)
    return tuple((same + rest)[:k])
