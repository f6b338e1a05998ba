"""Stage 4, dedup: exact duplicates on (normalised query + canonical calls), and
near-duplicate queries with MinHash / LSH (``datasketch``) on word shingles. Keep-first:
the first record of a cluster is kept, later ones are rejected with ``duplicate_of`` (the
kept record's id) and the cluster id.

The query of a record is its user messages joined; normalisation casefolds, turns
punctuation into spaces and collapses whitespace, so "What's the weather?" and
"whats the  weather" agree. Near-duplicates are judged on the query among records that call the
same functions (argument values may differ): the same question asked with and without a
fitting tool (BFCL's relevance / irrelevance pairs) is two examples, not one. LSH proposes
candidates and the MinHash estimate of Jaccard similarity must reach the threshold before a
record is called a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from lamstudio.schema import Trajectory
from lamstudio.verify._verdict import Verdict

STAGE = "dedup"


@dataclass(frozen=True)
class DedupOptions:
    threshold: float = 0.9   # Jaccard similarity of word shingles
    shingle: int = 3         # words per shingle
    num_perm: int = 128
    near: bool = True        # False: exact duplicates only


@dataclass
class DedupKeys:
    """What dedup needs of a record; cheap to send between processes."""

    exact: str
    signature: np.ndarray | None  # MinHash hash values (uint32), None for an empty query
    group: str = ""               # the functions called, sorted: near-dups share it


def normalize_query(text: str) -> str:
    out = []
    for ch in text.casefold():
        cat = unicodedata.category(ch)
        out.append(" " if cat[0] in "PSZC" else ch)
    return " ".join("".join(out).split())


def query_text(t: Trajectory) -> str:
    return "\n".join(m.content or "" for m in t.messages if m.role == "user")


def canonical_calls(t: Trajectory) -> str:
    calls = [[c.name, c.arguments] for c in t.calls()]
    return json.dumps(calls, sort_keys=True, ensure_ascii=False, default=str)


def shingles(norm: str, k: int) -> set[str]:
    words = norm.split()
    if len(words) <= k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=1).permutations


def signature(tokens: set[str], num_perm: int) -> np.ndarray | None:
    if not tokens:
        return None
    from datasketch import MinHash

    # crc32 instead of the default sha1: deterministic across processes and runs (a resumed
    # run must rebuild the same index) and ~2x faster; datasketch premixes it (affine32).
    m = MinHash(num_perm=num_perm, permutations=_permutations(num_perm), scheme="affine32",
                hashfunc=zlib.crc32)
    m.update_batch([s.encode("utf-8") for s in sorted(tokens)])
    return np.asarray(m.hashvalues, dtype=np.uint32)


def dedup_keys(t: Trajectory, options: DedupOptions | None = None) -> DedupKeys:
    opts = options or DedupOptions()
    norm = normalize_query(query_text(t))
    exact = hashlib.blake2b(f"{norm}\x1f{canonical_calls(t)}".encode(),
                            digest_size=16).hexdigest()
    sig = signature(shingles(norm, opts.shingle), opts.num_perm) if opts.near else None
    return DedupKeys(exact, sig, json.dumps(sorted(c.name for c in t.calls())))


@dataclass
class Deduplicator:
    """Keep-first dedup over a stream. Only *kept* records enter the index, so a record
    rejected by an earlier stage never causes a later one to be dropped."""

    options: DedupOptions = field(default_factory=DedupOptions)

    def __post_init__(self) -> None:
        from datasketch import MinHashLSH

        probe = MinHashLSH(threshold=self.options.threshold, num_perm=self.options.num_perm)
        self._params = (probe.b, probe.r)  # computed once: choosing (b, r) integrates
        self._exact: dict[str, str] = {}
        self._lsh: dict[str, MinHashLSH] = {}  # one index per group of called functions
        self._sigs: dict[str, np.ndarray] = {}
        self._order: dict[str, int] = {}
        self.clusters: dict[str, str] = {}  # kept id -> cluster id (only when it has dups)

    def check(self, record_id: str, keys: DedupKeys) -> Verdict:
        first = self._exact.get(keys.exact)
        code = "exact_duplicate"
        if first is None and self.options.near and keys.signature is not None:
            first, code = self._near(keys), "near_duplicate"
        if first is not None:
            cluster = self.cluster_of(first)
            what = "the same query and calls as" if code == "exact_duplicate" \
                else f"a query ≥{self.options.threshold:g} similar to that of"
            return Verdict.fail(STAGE, code, f"{what} {first!r}",
                                duplicate_of=first, cluster=cluster)
        self.add(record_id, keys)
        return Verdict.ok(STAGE)

    def add(self, record_id: str, keys: DedupKeys) -> None:
        """Index a kept record (also used to rebuild the index when a run resumes)."""
        self._exact.setdefault(keys.exact, record_id)
        self._order.setdefault(record_id, len(self._order))
        if keys.signature is not None and record_id not in self._sigs:
            from datasketch import MinHashLSH

            self._sigs[record_id] = keys.signature
            lsh = self._lsh.get(keys.group)
            if lsh is None:
                lsh = self._lsh[keys.group] = MinHashLSH(num_perm=self.options.num_perm,
                                                         params=self._params)
            lsh.insert(record_id, self._minhash(keys.signature))

    def cluster_of(self, kept_id: str) -> str:
        cluster = self.clusters.get(kept_id)
        if cluster is None:
            cluster = self.clusters[kept_id] = f"dup-{len(self.clusters) + 1:06d}"
        return cluster

    def _near(self, keys: DedupKeys) -> str | None:
        lsh, sig = self._lsh.get(keys.group), keys.signature
        if lsh is None or sig is None:
            return None
        best: str | None = None
        for cand in lsh.query(self._minhash(sig)):
            if float(np.mean(self._sigs[cand] == sig)) >= self.options.threshold and (
                    best is None or self._order[cand] < self._order[best]):
                best = cand
        return best

    def _minhash(self, sig: np.ndarray) -> Any:
        from datasketch import LeanMinHash

        return LeanMinHash(seed=1, hashvalues=sig, scheme="affine32")
