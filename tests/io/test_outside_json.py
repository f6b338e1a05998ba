"""The one way in for outside JSON: values made in memory (``check_value``), JSON at the
start of a longer text (``decode_prefix``) and JSON somewhere in a model's reply
(``find_json``) follow the readers' rules and reason codes."""

from __future__ import annotations

import datetime
import time

import pytest

from lamstudio.io import JsonValueError, check_value, decode_prefix, find_json


@pytest.mark.parametrize("value, code", [
    ("bad \ud800", "bad_encoding"),
    ({"k\udc00": 1}, "bad_encoding"),
    ({"a": float("nan")}, "non_finite_number"),
    ([float("-inf")], "non_finite_number"),
    (10**5000, "number_too_large"),
    (-(10**4300), "number_too_large"),
    ({1: "x"}, "not_json"),
    ({"a": {1, 2}}, "not_json"),
    (datetime.date(2026, 1, 1), "not_json"),
    (eval("[" * 200 + "]" * 200), "too_deep"),  # noqa: S307 - a literal
    ({"a": [None, float("nan")]}, "non_finite_number"),  # orjson writes NaN as null
], ids=lambda v: v if isinstance(v, str) and v.isascii() else type(v).__name__)
def test_check_value_refuses_what_no_writer_keeps(value, code):
    with pytest.raises(JsonValueError) as exc:
        check_value(value)
    assert exc.value.code == code


@pytest.mark.parametrize("value", [
    None, True, 0, 10**4299, 2**70, -1.5, "naïve ☃", {"a": [1, None, {"b": "c"}]},
    eval("[" * 128 + "]" * 128),  # noqa: S307 - a literal, exactly at the limit
], ids=lambda v: type(v).__name__)
def test_check_value_keeps_every_json_value(value):
    check_value(value)


def test_decode_prefix_returns_the_end_and_applies_the_readers_codes():
    assert decode_prefix('{"a": 1} trailing', 0) == ({"a": 1}, 8)
    assert decode_prefix('xx[1, 2]', 2) == ([1, 2], 8)
    for text, code in [('{"a": NaN}', "non_finite_number"), ('{"a": 1e999}', "non_finite_number"),
                       ('{"a": ' + "7" * 5000 + "}", "number_too_large"),
                       ('"\\ud800"', "bad_encoding"), ("[" * 100_000, "too_deep"),
                       ('{"a": ' * 300 + "1" + "}" * 300, "too_deep"), ("{x", "bad_json")]:
        with pytest.raises(JsonValueError) as exc:
            decode_prefix(text)
        assert exc.value.code == code, text[:20]


def test_find_json_skips_prose_and_broken_candidates():
    value, start, end = find_json('Sure! {"a": oops} and then ```json\n{"query": "q"}\n```')
    assert value == {"query": "q"}
    assert (start, end) == (35, 49)
    assert find_json("no json here") is None
    err = find_json('{"a": NaN}')
    assert isinstance(err, JsonValueError) and err.code == "non_finite_number"
    assert find_json("[1, 2]", want=list)[0] == [1, 2]


def test_find_json_never_returns_an_object_nested_in_one_it_cannot_keep():
    err = find_json('{"query": "q", "n": NaN, "answers": [{"name": "f"}]}')
    assert isinstance(err, JsonValueError) and err.code == "non_finite_number"


def test_find_json_is_linear_on_megabytes_of_braces():
    # Retrying at every brace, with line/column computed over the prefix each time, was
    # quadratic: 80k characters took 1.8 s and 2 MB did not finish in 400 s.
    for text in ("{" * 2_000_000, '{"a":' * 400_000, '{"' * 1_000_000):
        start = time.perf_counter()
        result = find_json(text)
        assert result is None or isinstance(result, JsonValueError)
        assert time.perf_counter() - start < 5.0
