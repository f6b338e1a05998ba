"""The quickstart tokenizer writes a value with the same tokens in the query and in the call,
so copying it is a token-for-token copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lamstudio.quickstart._tokenizer import build_tokenizer, quickstart_template
from lamstudio.synth import write_quickstart_data


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok")
    return write_quickstart_data(out / "data", 300, 10, seed=1).train


def _contains(seq: list[str], sub: list[str]) -> bool:
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


@pytest.mark.parametrize("split_digits", [False, True])
def test_values_tokenize_the_same_in_query_and_call(data: Path, tmp_path: Path,
                                                    split_digits: bool) -> None:
    tok = build_tokenizer(data, 1000, tmp_path, quickstart_template(),
                          split_digits=split_digits)
    checked = 0
    for line in data.read_text().splitlines():
        rec = json.loads(line)
        query = rec["messages"][0]["content"]
        for call in rec["messages"][1].get("tool_calls") or []:
            for value in call["function"]["arguments"].values():
                text = json.dumps(value, ensure_ascii=False)
                inner = text.strip('"')
                if inner not in query:  # e.g. 250.0 written as 250 in the query
                    continue
                in_call = tok.tokenize(f'"x":{text},')
                in_query = tok.tokenize(query)
                value_tokens = tok.tokenize(inner)
                assert _contains(in_call, value_tokens), (value, in_call)
                assert _contains(in_query, value_tokens), (value, query, in_query)
                checked += 1
    assert checked > 200


def test_digit_runs_merge_unless_split(data: Path, tmp_path: Path) -> None:
    merged = build_tokenizer(data, 1000, tmp_path / "m", quickstart_template())
    split = build_tokenizer(data, 1000, tmp_path / "s", quickstart_template(),
                            split_digits=True)
    assert all(len(t) == 1 for t in split.tokenize("2027-07-19") if t.isdigit())
    assert len(merged.tokenize("2027-07-19")) < len(split.tokenize("2027-07-19"))
