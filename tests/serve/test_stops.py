"""``StopMatcher`` against the plain definition, on random text fed in random pieces: where
the earliest stop string starts, and how much of the end may still begin one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lamstudio.serve import StopMatcher

ALPHABET = "ab \u00e9"  # few letters: stops overlap and nearly match all the time


def naive_first(text: str, stops: list[str]) -> int | None:
    hits = [i for s in stops if (i := text.find(s)) >= 0]
    return min(hits) if hits else None


def naive_held(text: str, stops: list[str]) -> int:
    return max((k for s in stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.text(ALPHABET, max_size=6), max_size=30),
       stops=st.lists(st.text(ALPHABET, min_size=1, max_size=8), max_size=4))
def test_matches_the_plain_definition(pieces, stops):
    matcher, text = StopMatcher(stops), ""
    for piece in pieces:
        text += piece
        first = matcher.feed(text)
        assert first == naive_first(text, stops)
        if first is not None:  # generation ends at the first stop found
            return
        assert matcher.held == naive_held(text, stops)


def test_a_rewritten_tail_is_read_again():
    """A tokenizer's clean-up may rewrite the end of the decoded text ("a ." -> "a.")."""
    matcher = StopMatcher(["a.b"])
    assert matcher.feed("xa ") is None and matcher.held == 0
    assert matcher.feed("xa.") is None and matcher.held == 2
    assert matcher.feed("xa.b") == 1


def test_no_stops_costs_nothing():
    matcher = StopMatcher([])
    assert matcher.feed("anything") is None and matcher.held == 0
