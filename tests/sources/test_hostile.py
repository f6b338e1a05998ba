"""Hostile values through ``convert`` (issue 15, items 1-2): a reject with its own code, the
rest of the file converted; integers of any size kept exactly, also inside tool-call
arguments that travel as JSON strings; NaN and overflowing floats rejected, never nulled."""

from __future__ import annotations

import json

import pytest

from lamstudio.io import InputError
from lamstudio.sources._convert import convert

BIG = "123456789012345678901234567890"
PRIME = {"name": "is_prime", "description": "Checks primality.",
         "parameters": {"num": {"description": "The number.", "type": "int"}}}


def apigen_line(num: str, rid: int) -> str:
    answers = '[{"name": "is_prime", "arguments": {"num": %s}}]' % num  # noqa: UP031
    return json.dumps({"id": rid, "query": "Is it prime?", "tools": json.dumps([PRIME]),
                       "answers": answers})


def lamstudio_line(rid: str, value: str) -> str:
    return ('{"id": "%s", "messages": [{"role": "user", "content": "hi"}, '  # noqa: UP031
            '{"role": "assistant", "content": "yo"}], "meta": {"v": %s}}' % (rid, value))


def rejects_of(path):
    return {r["line"]: r["code"] for r in map(json.loads, path.read_text().splitlines())}


@pytest.mark.parametrize("to", ["lamstudio", "apigen", "openai"])
def test_big_integers_in_call_arguments_are_kept_exactly(tmp_path, to):
    src = tmp_path / "in.jsonl"
    src.write_text(apigen_line(BIG, 1) + "\n" + apigen_line("-" + BIG, 2) + "\n")
    tally = convert([src], "apigen", tmp_path / "out.jsonl", to_format=to)
    assert tally.kept == 2
    text = (tmp_path / "out.jsonl").read_text()
    assert text.count(BIG) == 2 and "e+29" not in text


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_call_arguments_are_rejected(tmp_path, value):
    src = tmp_path / "in.jsonl"
    src.write_text(apigen_line(value, 1) + "\n" + apigen_line("7", 2) + "\n")
    tally = convert([src], "apigen", tmp_path / "out.jsonl")
    assert (tally.kept, rejects_of(tmp_path / "out.rejects.jsonl")) == \
        (1, {1: "non_finite_number"})


def test_hostile_lines_are_rejected_alone_and_the_file_goes_on(tmp_path):
    lines = [lamstudio_line("a", "1"), lamstudio_line("deep", "[" * 10_000 + "]" * 10_000),
             lamstudio_line("huge", "9" * 5000), lamstudio_line("sur", '"\\ud800"'),
             lamstudio_line("nan", "NaN"), lamstudio_line("big", BIG), lamstudio_line("b", "2")]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    tally = convert([src], "lamstudio", tmp_path / "out.jsonl")
    assert rejects_of(tmp_path / "out.rejects.jsonl") == {
        2: "too_deep", 3: "number_too_large", 4: "bad_encoding", 5: "non_finite_number"}
    kept = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in kept] == ["a", "big", "b"] and BIG in kept[1]
    assert tally.balanced and tally.read == 7


def test_an_array_file_with_a_broken_element_fails_instead_of_losing_rows(tmp_path):
    elements = [lamstudio_line(f"r{i}", str(i)) for i in range(100)]
    elements[10] = elements[10][:-5]
    src = tmp_path / "in.json"
    src.write_text("[\n" + ",\n".join(elements) + "\n]\n")
    with pytest.raises(InputError, match="element 11"):
        convert([src], "lamstudio", tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
