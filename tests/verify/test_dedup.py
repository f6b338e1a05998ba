"""Dedup: exact (normalised query + canonical calls) and MinHash/LSH near-duplicates."""

from __future__ import annotations

from tests.verify.conftest import call, traj

from lamstudio.verify import Deduplicator, DedupOptions, dedup_keys, normalize_query, shingles


def check(d, rid, query, calls=None):
    return d.check(rid, dedup_keys(traj(rid=rid, query=query, calls=calls)))


def test_normalisation():
    assert normalize_query("  What's the   WEATHER?\n") == "what s the weather"
    assert shingles("a b c d", 3) == {"a b c", "b c d"} and shingles("a b", 3) == {"a b"}


def test_exact_duplicates_ignore_case_space_punctuation_and_key_order():
    d = Deduplicator(DedupOptions(near=False))
    a = [call("f", {"x": 1, "y": 2})]
    b = [call("f", {"y": 2, "x": 1})]
    assert check(d, "1", "Weather in Paris?", a).passed
    v = check(d, "2", "weather in   paris", b)
    assert not v.passed and v.code == "exact_duplicate"
    assert v.details == {"duplicate_of": "1", "cluster": "dup-000001"}
    assert check(d, "3", "Weather in Paris?", [call("f", {"x": 2, "y": 2})]).passed, \
        "same query, other calls: not an exact duplicate"


def test_near_duplicates_keep_first_and_share_a_cluster():
    d = Deduplicator(DedupOptions(threshold=0.8))
    base = ("please find me a cheap hotel near the central station in berlin for two "
            "nights starting next friday with free breakfast and late checkout")
    assert check(d, "a", base).passed
    v = check(d, "b", base + " thanks")
    assert v.code == "near_duplicate" and v.details["duplicate_of"] == "a"
    v2 = check(d, "c", "thanks " + base)
    assert v2.details == {"duplicate_of": "a", "cluster": v.details["cluster"]}
    assert check(d, "d", "book a table for four at an italian restaurant tonight").passed
    assert d.clusters == {"a": "dup-000001"}


def test_threshold_is_respected():
    q1 = "one two three four five six seven eight nine ten"
    q2 = "one two three four five six seven eight nine eleven"  # Jaccard 7/9 ≈ 0.78
    strict, loose = Deduplicator(DedupOptions(threshold=0.9)), Deduplicator(DedupOptions(0.5))
    for d in (strict, loose):
        check(d, "1", q1)
    assert check(strict, "2", q2).passed
    assert check(loose, "2", q2).code == "near_duplicate"


def test_near_duplicates_must_call_the_same_functions():
    d = Deduplicator(DedupOptions(threshold=0.8))
    q = "who won the football world cup in the year two thousand and ten in south africa"
    assert check(d, "no-call", q, []).passed
    assert check(d, "call", q + " please", [call("search", {"q": "world cup 2010"})]).passed, \
        "asked with a fitting tool it is another example (relevance vs irrelevance)"
    v = check(d, "call-2", "please " + q, [call("search", {"q": "2010 world cup"})])
    assert v.code == "near_duplicate" and v.details["duplicate_of"] == "call"
