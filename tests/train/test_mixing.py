"""Mixing: per-source counts, determinism for a seed, disjoint equal shards per rank."""

from __future__ import annotations

from collections import Counter

import pytest

from lamstudio.train import MixSpec, epoch_sample, mix_counts, shard, split_eval

SPECS = [MixSpec("a", 100), MixSpec("b", 30), MixSpec("c", 7)]


def per_source(sample: list[tuple[int, int]]) -> Counter[int]:
    return Counter(s for s, _ in sample)


def test_default_takes_every_example_once() -> None:
    sample = epoch_sample(SPECS, seed=0, epoch=0)
    assert sorted(sample) == [(i, j) for i, s in enumerate(SPECS) for j in range(s.size)]


def test_epoch_multipliers_repeat_whole_passes_then_a_subset() -> None:
    specs = [MixSpec("a", 100, epochs=0.5), MixSpec("b", 30, epochs=2.0),
             MixSpec("c", 7, epochs=2.5)]
    sample = epoch_sample(specs, seed=1, epoch=0)
    assert per_source(sample) == {0: 50, 1: 60, 2: 18}
    b = Counter(j for s, j in sample if s == 1)
    assert set(b.values()) == {2} and len(b) == 30  # every example exactly twice
    c = Counter(j for s, j in sample if s == 2)
    assert sorted(c.values()) == [2, 2, 2, 3, 3, 3, 3]
    a = [j for s, j in sample if s == 0]
    assert len(set(a)) == 50  # a subset: no repeats while there are unseen examples


def test_weights_set_shares_of_the_epoch() -> None:
    specs = [MixSpec("a", 100, weight=1), MixSpec("b", 30, weight=1), MixSpec("c", 7, weight=2)]
    assert mix_counts(specs, samples_per_epoch=400) == [100, 100, 200]
    assert sum(mix_counts(specs)) == 137  # default epoch size: Σ n_i


def test_temperature_flattens_towards_uniform() -> None:
    sizes = [s.size for s in SPECS]
    assert mix_counts(SPECS, temperature=1.0) == sizes
    flat = mix_counts(SPECS, temperature=1e6, samples_per_epoch=300)
    assert flat == [100, 100, 100]
    t2 = mix_counts(SPECS, temperature=2.0, samples_per_epoch=1000)
    shares = [n ** 0.5 for n in sizes]
    assert t2 == [round(1000 * s / sum(shares)) for s in shares]


def test_sampling_is_deterministic_per_seed_and_changes_per_epoch() -> None:
    specs = [MixSpec("a", 100, epochs=0.3), MixSpec("b", 30)]
    assert epoch_sample(specs, 7, 0) == epoch_sample(specs, 7, 0)
    assert epoch_sample(specs, 7, 0) != epoch_sample(specs, 8, 0)
    e0, e1 = epoch_sample(specs, 7, 0), epoch_sample(specs, 7, 1)
    assert {j for s, j in e0 if s == 0} != {j for s, j in e1 if s == 0}  # a fresh subset


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_ranks_get_disjoint_equal_shards_covering_the_epoch(world: int) -> None:
    units = list(range(103))
    shards = [shard(units, r, world, seed=5, epoch=0) for r in range(world)]
    mine = [s for s, _ in shards]
    dropped = shards[0][1]
    assert len({len(m) for m in mine}) == 1  # DDP needs equal step counts
    assert len(dropped) < world
    flat = [u for m in mine for u in m]
    assert len(flat) == len(set(flat))  # disjoint
    assert sorted(flat + dropped) == units  # together they cover the epoch


def test_each_rank_shuffles_with_its_own_seed() -> None:
    units = list(range(1000))
    r0, _ = shard(units, 0, 2, seed=5, epoch=0)
    assert r0 == shard(units, 0, 2, seed=5, epoch=0)[0]
    assert r0 != sorted(r0)  # shuffled, not in slice order
    assert r0 != shard(units, 0, 2, seed=5, epoch=1)[0]
    with pytest.raises(ValueError):
        shard(units, 2, 2, seed=0, epoch=0)


def test_eval_split_holds_out_a_fraction_of_each_source_exactly_once() -> None:
    train, held = split_eval([100, 30, 1], fraction=0.1, seed=0)
    assert [len(h) for h in held] == [10, 3, 0]  # a 1-example source keeps its example
    for n, tr, ev in zip([100, 30, 1], train, held, strict=True):
        assert sorted(tr + ev) == list(range(n))
    _, capped = split_eval([100, 30], fraction=0.5, seed=0, max_eval=20)
    assert sum(len(h) for h in capped) == 20
