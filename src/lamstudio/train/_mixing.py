"""Per-source mixing and per-rank sharding, on indices only (cheap to test, exact to log).

An *epoch sample* is a list of ``(source, example)`` pairs. How many come from each source:

* ``epochs`` (ActionStudio's multiplier, default 1): ``round(n_i * epochs_i)``;
* ``weight``: a share ``w_i / Σw`` of ``samples_per_epoch`` (default ``Σ n_i``);
* ``temperature`` T: a share ``p_i ∝ n_i^(1/T)`` of ``samples_per_epoch``.

A source asked for more than it has is repeated whole, then topped up with a random subset;
one asked for less gives a random subset that changes every epoch. Everything is a function
of ``(seed, epoch)``, so every rank computes the same sample without talking to the others.
Ranks then take disjoint, equally long slices of it (DDP needs equal step counts; the few
left-over units are dropped and reported) and each shuffles its slice with its own seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

T = TypeVar("T")

# Salts keep the random streams of different purposes apart for the same seed.
_DRAW, _ORDER, _RANK, _EVAL = 1, 2, 3, 4


@dataclass(frozen=True)
class MixSpec:
    """How one source enters the mix (see the module docstring)."""

    name: str
    size: int
    weight: float | None = None
    epochs: float | None = None


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in key]))


def _largest_remainder(total: int, shares: Sequence[float]) -> list[int]:
    """Integers proportional to ``shares`` that sum exactly to ``total``."""
    s = sum(shares)
    if s <= 0:
        return [0] * len(shares)
    exact = [total * x / s for x in shares]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def mix_counts(specs: Sequence[MixSpec], temperature: float | None = None,
               samples_per_epoch: int | None = None) -> list[int]:
    """Examples drawn from each source in one epoch."""
    sizes = [s.size for s in specs]
    total = samples_per_epoch if samples_per_epoch is not None else sum(sizes)
    if temperature is not None:
        return _largest_remainder(total, [n ** (1.0 / temperature) if n else 0.0 for n in sizes])
    if any(s.weight is not None for s in specs):
        return _largest_remainder(total, [(s.weight or 0.0) if s.size else 0.0 for s in specs])
    return [math.floor(s.size * (1.0 if s.epochs is None else s.epochs) + 0.5) for s in specs]


def _draw(n: int, count: int, rng: np.random.Generator) -> list[int]:
    """``count`` indices of ``range(n)``: whole passes first, then a random subset."""
    if n == 0 or count == 0:
        return []
    full, rest = divmod(count, n)
    parts = [rng.permutation(n) for _ in range(full)]
    if rest:
        parts.append(rng.permutation(n)[:rest])
    return np.concatenate(parts).tolist()


def epoch_sample(specs: Sequence[MixSpec], seed: int, epoch: int,
                 temperature: float | None = None,
                 samples_per_epoch: int | None = None) -> list[tuple[int, int]]:
    """The shuffled ``(source index, example index)`` pairs of one epoch, same on every rank."""
    counts = mix_counts(specs, temperature, samples_per_epoch)
    pairs: list[tuple[int, int]] = []
    for i, (spec, count) in enumerate(zip(specs, counts, strict=True)):
        pairs.extend((i, j) for j in _draw(spec.size, count, _rng(seed, epoch, _DRAW, i)))
    order = _rng(seed, epoch, _ORDER).permutation(len(pairs))
    return [pairs[k] for k in order]


def shard(units: Sequence[T], rank: int, world: int, seed: int,
          epoch: int) -> tuple[list[T], list[T]]:
    """This rank's slice of an epoch's units (shuffled with its own seed) and the dropped tail.

    Slices are disjoint and equally long; at most ``world - 1`` units are dropped.
    """
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} outside a world of {world}")
    per_rank = len(units) // world
    kept, dropped = list(units[: per_rank * world]), list(units[per_rank * world:])
    mine = kept[rank::world]
    order = _rng(seed, epoch, _RANK, rank).permutation(len(mine))
    return [mine[k] for k in order], dropped


def split_eval(sizes: Sequence[int], fraction: float, seed: int,
               max_eval: int | None = None) -> tuple[list[list[int]], list[list[int]]]:
    """Hold out ``fraction`` of every source (at most ``max_eval`` in all) for evaluation.

    Returns per-source ``(train indices, eval indices)``; each example lands in exactly one.
    """
    want = [math.floor(n * fraction + 0.5) if fraction > 0 else 0 for n in sizes]
    if max_eval is not None and sum(want) > max_eval:
        want = _largest_remainder(max_eval, want)
    train, held = [], []
    for i, (n, k) in enumerate(zip(sizes, want, strict=True)):
        k = min(k, max(n - 1, 0))  # never hold out a whole source
        perm = _rng(seed, 0, _EVAL, i).permutation(n).tolist()
        held.append(sorted(perm[:k]))
        train.append(sorted(perm[k:]))
    return train, held
