"""Best-fit-decreasing packing of encoded examples into fixed-size sequences.

Each packed sequence keeps its examples apart: ``position_ids`` restart at 0 for every
example (flash-attention's varlen path derives ``cu_seqlens`` from them) and ``seq_lens``
give the block-diagonal mask for SDPA/eager (``collate_packed``). The first label of every
example is masked so the last token of one example is never trained to predict the first
token of the next.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from lamstudio.render._encode import IGNORE_INDEX, Encoded


class Packed:
    """One packed sequence: its examples back to back.

    The token lists are built on first access (and cached): ``pack`` only decides the
    layout, so packing 100k examples takes a fraction of a second and the copying happens
    batch by batch in the collator, next to a training step that costs far more.
    """

    def __init__(self, parts: Sequence[Encoded]) -> None:
        self.parts = list(parts)
        self.seq_lens = [len(p) for p in self.parts]
        self.ids = [p.id for p in self.parts]

    def __len__(self) -> int:
        return sum(self.seq_lens)

    def __repr__(self) -> str:
        return f"Packed(len={len(self)}, seq_lens={self.seq_lens})"

    @cached_property
    def input_ids(self) -> list[int]:
        ids: list[int] = []
        for p in self.parts:
            ids += p.input_ids
        return ids

    @cached_property
    def labels(self) -> list[int]:
        labels: list[int] = []
        for p in self.parts:
            start = len(labels)
            labels += p.labels
            labels[start] = IGNORE_INDEX
        return labels

    @cached_property
    def position_ids(self) -> list[int]:
        positions = list(range(max(self.seq_lens, default=0)))
        out: list[int] = []
        for n in self.seq_lens:
            out += positions[:n]
        return out

    @cached_property
    def weights(self) -> list[float] | None:
        if not any(p.weights for p in self.parts):
            return None
        return [w for p in self.parts for w in (p.weights or [1.0] * len(p))]


@dataclass
class PackStats:
    n_examples: int = 0
    n_sequences: int = 0
    n_tokens: int = 0       # real tokens placed in sequences
    n_trained: int = 0      # of which have a label
    n_slots: int = 0        # n_sequences * max_len
    n_truncated: int = 0    # longer than max_len, cut to max_len (overflow="truncate")
    n_dropped: int = 0      # longer than max_len (overflow="drop"), or nothing left to train
    dropped_ids: list[str] = field(default_factory=list)

    @property
    def efficiency(self) -> float:
        """Real tokens / slots: 1.0 means no padding at all."""
        return self.n_tokens / self.n_slots if self.n_slots else 0.0

    def as_dict(self) -> dict:
        d = {k: v for k, v in vars(self).items() if k != "dropped_ids"}
        d["efficiency"] = round(self.efficiency, 4)
        return d


@dataclass
class PackResult:
    sequences: list[Packed]
    stats: PackStats


def pack(examples: Sequence[Encoded], max_len: int, *,
         overflow: Literal["truncate", "drop"] = "drop") -> PackResult:
    """Pack ``examples`` into sequences of at most ``max_len`` tokens (best fit decreasing).

    Longer examples are cut to ``max_len`` (keeping the start, as inference would see it) or
    dropped; an example with no trained token left is dropped either way. Both are counted.
    Inside a sequence examples are ordered longest first.
    """
    if max_len < 2:
        raise ValueError("max_len must be at least 2")
    if overflow not in ("truncate", "drop"):
        raise ValueError(f"overflow must be 'truncate' or 'drop', not {overflow!r}")
    stats = PackStats(n_examples=len(examples))
    with gc_paused():
        kept = _apply_overflow(examples, max_len, overflow, stats)
        bins = _best_fit_decreasing([len(e) for e in kept], max_len)
        sequences = [Packed([kept[i] for i in members]) for members in bins]
    stats.n_sequences = len(sequences)
    stats.n_slots = len(sequences) * max_len
    stats.n_tokens = sum(len(e) for e in kept)
    return PackResult(sequences, stats)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: building many small objects next to millions of token ids
    otherwise triggers full collections that walk every list (2-3x slower). Nothing
    built here forms a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _apply_overflow(examples: Sequence[Encoded], max_len: int, overflow: str,
                    stats: PackStats) -> list[Encoded]:
    kept = []
    for e in examples:
        if len(e) > max_len:
            if overflow == "drop":
                stats.n_dropped += 1
                stats.dropped_ids.append(e.id)
                continue
            labels = e.labels[:max_len]
            e = Encoded(e.input_ids[:max_len], labels, id=e.id, source=e.source,
                        n_trained=max_len - labels.count(IGNORE_INDEX), truncated=True,
                        weights=e.weights[:max_len] if e.weights else None)
            stats.n_truncated += 1
        # Trained tokens once packed: the first label of every example is masked.
        n = len(e.labels) - e.labels.count(IGNORE_INDEX) - (e.labels[:1] != [IGNORE_INDEX])
        if n <= 0:
            stats.n_dropped += 1  # nothing to learn from
            stats.dropped_ids.append(e.id)
            continue
        stats.n_trained += n
        kept.append(e)
    return kept


def _best_fit_decreasing(lengths: list[int], max_len: int) -> list[list[int]]:
    """Bins of example indices, placing each example (longest first) in the open bin with
    the least free room that still fits it.

    Open bins are bucketed by free room; ``rooms`` is the sorted list of distinct non-empty
    rooms (at most ``max_len`` values), so a bisect finds the best fit and buckets change in
    O(1) except when a room value appears or disappears.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__, reverse=True)
    bins: list[list[int]] = []
    by_room: dict[int, list[int]] = {}
    rooms: list[int] = []
    for i in order:
        need = lengths[i]
        j = bisect_left(rooms, need)
        if j == len(rooms):
            b, room = len(bins), max_len - need
            bins.append([i])
        else:
            room = rooms[j]
            bucket = by_room[room]
            b = bucket.pop()
            if not bucket:
                del by_room[room]
                del rooms[j]
            bins[b].append(i)
            room -= need
        if room > 0:
            bucket = by_room.get(room)
            if bucket is None:
                by_room[room] = [b]
                insort(rooms, room)
            else:
                bucket.append(b)
    return bins
