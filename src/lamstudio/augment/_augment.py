"""``augment(inputs, output, config)``: xLAM-style augmentation of function-calling data.

Each readable record is written as is (unless ``keep_original=False``) and followed by
``copies`` augmented copies; each copy draws its operations with probabilities from the
config, from a ``random.Random`` seeded by (seed, record id, copy), so a seed gives the
same output whatever the input order around a record. A copy's ``meta.augment`` lists what
was applied, ``meta.parent`` the original id; its id is ``<id>~aug<k>``. A copy that no
operation changed is not written. Rows that do not load go to the rejects file: rows read
= records passed + rows rejected.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from random import Random
from typing import Any

from lamstudio.augment._ops import (
    add_distractors,
    rename_parameters,
    rephrase_system,
    shuffle_tools,
    to_irrelevance,
)
from lamstudio.io import JsonlWriter, Reject, RejectWriter, default_rejects_path
from lamstudio.schema import Trajectory
from lamstudio.sources import get_format
from lamstudio.synth import ToolPool, load_refusals

OPS = ("shuffle_tools", "rephrase_system", "distractors", "irrelevance", "rename_parameters")


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities per copy of each operation, and where distractors come from."""

    seed: int = 0
    copies: int = 1
    keep_original: bool = True
    shuffle_tools: float = 1.0
    rephrase_system: float = 0.5
    distractors: float = 0.5
    max_distractors: int = 3
    irrelevance: float = 0.1
    rename_parameters: float = 0.0
    builtin_tools: bool = True
    tool_modules: tuple[str, ...] = ()
    tool_files: tuple[str, ...] = ()
    from_format: str = "lamstudio"

    def __post_init__(self) -> None:
        for op in OPS:
            p = getattr(self, op)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{op}: a probability in [0, 1], not {p}")
        if self.copies < 0 or self.max_distractors < 0:
            raise ValueError("copies and max_distractors must be >= 0")


@dataclass
class AugmentResult:
    read: int = 0
    passed: int = 0
    rejected: int = 0
    written: int = 0
    copies: int = 0
    applied: Counter[str] = field(default_factory=Counter)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)

    def balanced(self) -> bool:
        return self.read == self.passed + self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "passed": self.passed, "rejected": self.rejected,
                "written": self.written, "copies": self.copies, "applied": dict(self.applied),
                "rejected_by_reason": dict(self.rejected_by_reason)}


def augment(inputs: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str],
            rejects: str | os.PathLike[str] | None = None,
            config: AugmentConfig | None = None) -> AugmentResult:
    """Augment ``inputs`` into ``output`` (JSON Lines, atomic); see the module doc."""
    cfg = config or AugmentConfig()
    fmt = get_format(cfg.from_format)
    pool = [t.spec for t in ToolPool.load(builtin=cfg.builtin_tools, modules=cfg.tool_modules,
                                          files=cfg.tool_files).tools.values()]
    res = AugmentResult()
    rej_path = rejects or default_rejects_path(output)
    with JsonlWriter(output) as out, RejectWriter(rej_path) as rw:
        def on_reject(r: Reject) -> None:
            res.read += 1
            res.rejected += 1
            res.rejected_by_reason[r.code] += 1
            rw.write(r)

        for path in inputs:
            for t in fmt.load(path, on_reject=on_reject):
                res.read += 1
                res.passed += 1
                record = t.model_dump(mode="json", exclude_none=True)
                if cfg.keep_original:
                    out.write(record)
                for k in range(cfg.copies):
                    copy = augment_record(record, cfg, pool, k)
                    if copy is not None:
                        out.write(copy)
                        res.copies += 1
                        res.applied.update(a["op"] for a in copy["meta"]["augment"])
        res.written = out.count
    return res


def augment_record(record: dict[str, Any], cfg: AugmentConfig, pool: list[dict[str, Any]],
                   k: int = 0) -> dict[str, Any] | None:
    """One augmented copy of ``record`` (None when no operation applied)."""
    rng = Random(f"{cfg.seed}:{record['id']}:{k}")
    r, applied = record, []
    steps = [("irrelevance", lambda x: to_irrelevance(x, rng, load_refusals(), pool)),
             ("rename_parameters", lambda x: rename_parameters(x, rng)),
             ("distractors", lambda x: add_distractors(x, rng, pool, cfg.max_distractors)),
             ("shuffle_tools", lambda x: shuffle_tools(x, rng)),
             ("rephrase_system", lambda x: rephrase_system(x, rng))]
    for op, fn in steps:
        if rng.random() < getattr(cfg, op) and (done := fn(r)) is not None:
            r, what = done
            applied.append(what)
    if not applied:
        return None
    meta = {**r.get("meta", {}), "parent": record["id"], "augment": applied}
    meta.pop("verification", None)  # the parent's checks say nothing about the copy
    out = {**r, "id": f"{record['id']}~aug{k}", "meta": meta}
    Trajectory.model_validate(out)  # an operation must never produce an invalid record
    return out
