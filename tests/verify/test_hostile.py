"""Hostile rows through verify (issue 15, items 1, 2, 4): each is one reject with its own
reason code on both load paths (validated from bytes, or decoded then validated), values
are kept exactly, and every stage's ``in`` is the previous stage's ``passed``."""

from __future__ import annotations

import json

import pytest
from tests.verify.conftest import call, record, spec, write_dataset

from lamstudio.io import RawRow
from lamstudio.verify import VerifyConfig, verify
from lamstudio.verify._front import FrontOptions, FrontStage, fast_record

BIG = "123456789012345678901234567890"
ECHO = spec("echo", {"n": {"type": "integer"}}, ["n"])


def _line(rid: str, value: str, where: str = "meta") -> str:
    """A valid record with ``value`` (JSON text) in its meta or in a call's arguments."""
    rec = record(rid=rid, calls=[call("echo", {"n": 1})], tools=[ECHO])
    text = json.dumps(rec)
    if where == "meta":
        return text.replace('"meta": {}', f'"meta": {{"v": {value}}}')
    return text.replace('{"n": 1}', f'{{"n": {value}}}')


HOSTILE = {
    "too_deep": _line("deep", "[" * 10_000 + "]" * 10_000),
    "number_too_large": _line("huge", "1" * 5000),
    "bad_encoding": _line("sur", '"\\ud800"'),
    "non_finite_number": _line("nan", "NaN"),
}
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_hostile_rows_are_rejected_alone_with_their_codes(tmp_path, workers):
    good = [_line(f"ok{i}", "1") for i in range(3)]
    data = _write(tmp_path / "in.jsonl", [good[0], *HOSTILE.values(), good[1],
                                          _line("inf", "1e999", "args"), good[2]])
    cfg = VerifyConfig(stages=("format",), workers=workers, chunk_size=2)
    res = verify([data], tmp_path / "kept.jsonl", config=cfg)
    rejects = [json.loads(x) for x in (tmp_path / "kept.rejects.jsonl").read_text().splitlines()]
    assert {r["line"]: r["code"] for r in rejects} == {
        2: "too_deep", 3: "number_too_large", 4: "bad_encoding", 5: "non_finite_number",
        7: "non_finite_number"}
    kept = [json.loads(x)["id"] for x in (tmp_path / "kept.jsonl").read_text().splitlines()]
    assert kept == ["ok0", "ok1", "ok2"] and res.tally.balanced
    # and a second run over the same output (the resume path) does not crash either
    again = verify([data], tmp_path / "kept.jsonl", config=cfg)
    assert again.tally.total.read == 8


@pytest.mark.parametrize("where", ["meta", "args"])
@pytest.mark.parametrize("workers", [1, 2])
def test_big_integers_are_kept_exactly(tmp_path, where, workers):
    data = _write(tmp_path / "in.jsonl", [_line("big", BIG, where), _line("neg", "-" + BIG)])
    cfg = VerifyConfig(stages=("format",), workers=workers)
    verify([data], tmp_path / "kept.jsonl", config=cfg)
    text = (tmp_path / "kept.jsonl").read_text()
    assert text.count(BIG) == 2 and "e+" not in text and "E+" not in text


@pytest.mark.parametrize("value", [*NON_FINITE, BIG, "[" * 200 + "]" * 200, '"\\ud800"',
                                   '"\\udc00"'])
def test_the_fast_path_hands_every_risky_value_to_the_careful_one(value):
    """pydantic's parser would keep NaN/inf, and depths up to ~200: the bytes path must
    decline such lines so the careful path decides, the same way on both paths."""
    assert fast_record(_line("x", value).encode()) is None
    assert fast_record(_line("x", value, "args").encode()) is None
    assert fast_record(_line("x", "1").encode()) is not None


@pytest.mark.parametrize("code", sorted(HOSTILE))
def test_both_load_paths_give_the_same_verdict(code):
    raw = RawRow("f.jsonl", 1, HOSTILE[code].encode())
    fast = FrontStage(FrontOptions())
    slow = FrontStage(FrontOptions())
    slow.fast = False
    assert fast.run(raw).reject == slow.run(raw).reject
    assert fast.run(raw).reject.code == code


def test_each_stage_in_is_the_previous_stage_passed(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 200)  # duplicate ids, IFN, bad JSON, dups
    cfg = VerifyConfig(stages=("format", "dedup"))
    res = verify([data], tmp_path / "kept.jsonl", config=cfg)
    stages = res.to_dict()["stages"]
    assert stages["load"]["rejected_by_reason"].get("duplicate_id")
    names = list(stages)
    for before, after in zip(names, names[1:], strict=False):
        assert stages[after]["in"] == stages[before]["passed"], (before, after, stages)
    assert res.tally.balanced
