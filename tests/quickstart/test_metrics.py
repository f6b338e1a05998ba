"""The quickstart's metrics on hand-made predictions: what counts as right, and as parsed."""

from __future__ import annotations

import pytest

from lamstudio.quickstart import same_calls, score, summarize

WEATHER = {"name": "get_weather", "arguments": {"city": "Paris"}}


def row(predicted: list[dict], reference: list[dict], parsed: bool = True,
        category: str = "simple", novel: bool = False) -> dict:
    return {"predicted": predicted, "reference": reference, "parsed": parsed,
            "category": category, "novel": novel}


def test_right_call_scores_everywhere() -> None:
    m = summarize([row([WEATHER], [WEATHER])])
    assert m["parse_rate"] == m["function_name_accuracy"] == m["exact_match"] == 1.0
    assert m["accuracy"] == 1.0 and m["irrelevance_accuracy"] is None


def test_wrong_value_keeps_the_name_but_not_the_exact_match() -> None:
    wrong = {"name": "get_weather", "arguments": {"city": "Rome"}}
    m = summarize([row([wrong], [WEATHER])])
    assert m["parse_rate"] == 1.0 and m["function_name_accuracy"] == 1.0
    assert m["exact_match"] == 0.0 and m["accuracy"] == 0.0


def test_extra_optional_argument_is_a_mismatch() -> None:
    extra = {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
    assert not same_calls([(extra["name"], extra["arguments"])], [("get_weather",
                                                                    {"city": "Paris"})])


def test_unparseable_output_scores_nothing_even_if_calls_were_salvaged() -> None:
    m = summarize([row([WEATHER], [WEATHER], parsed=False)])
    assert m["parse_rate"] == 0.0 and m["function_name_accuracy"] == 0.0
    assert m["exact_match"] == 0.0


def test_parallel_calls_in_any_order_and_numbers_by_value() -> None:
    a = ("convert_currency", {"amount": 250, "from_currency": "USD", "to_currency": "EUR"})
    b = ("get_weather", {"city": "Oslo"})
    a_float = (a[0], {**a[1], "amount": 250.0})
    assert same_calls([b, a_float], [a, b])
    assert not same_calls([a], [a, b])          # a missing call
    assert not same_calls([a, a, b], [a, b])    # a duplicated call
    assert not same_calls([(a[0], {**a[1], "amount": "250"})], [a])  # string is not number


def test_irrelevance_right_when_answered_in_text() -> None:
    m = summarize([row([], [], category="irrelevance")])
    assert m["irrelevance_accuracy"] == 1.0 and m["accuracy"] == 1.0
    assert m["exact_match"] is None  # no call examples at all


def test_irrelevance_wrong_when_a_call_is_made() -> None:
    m = summarize([row([WEATHER], [], category="irrelevance")])
    assert m["irrelevance_accuracy"] == 0.0 and m["accuracy"] == 0.0


def test_no_call_where_one_was_needed_is_wrong_but_parsed() -> None:
    m = summarize([row([], [WEATHER])])
    assert m["parse_rate"] == 1.0
    assert m["function_name_accuracy"] == 0.0 and m["exact_match"] == 0.0


def test_mixed_set_rates_and_categories() -> None:
    rows = [row([WEATHER], [WEATHER], novel=True),
            row([{"name": "get_weather", "arguments": {"city": "X"}}], [WEATHER], novel=True),
            row([], [], category="irrelevance"),
            row([], [WEATHER], parsed=False, category="multiple")]
    m = summarize(rows)
    assert m["n"] == 4 and m["n_call_examples"] == 3 and m["n_irrelevance"] == 1
    assert m["parse_rate"] == pytest.approx(3 / 4)
    assert m["function_name_accuracy"] == pytest.approx(2 / 3)
    assert m["exact_match"] == pytest.approx(1 / 3)
    assert m["accuracy"] == pytest.approx(2 / 4)
    assert m["exact_match_novel_values"] == pytest.approx(1 / 2)
    assert m["by_category"]["simple"] == {"n": 2, "accuracy": 0.5}
    assert m["by_category"]["multiple"]["accuracy"] == 0.0


def test_score_flags() -> None:
    s = score(True, [("f", {})], [])
    assert not s.expects_calls and s.made_call and not s.correct
