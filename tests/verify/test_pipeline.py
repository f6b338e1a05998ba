"""The verify pipeline end to end: books balance, every reject says why, runs resume."""

from __future__ import annotations

import json

import pytest
from tests.support.scripted_server import Reply, ScriptedServer
from tests.verify.conftest import FIXTURE_TOOLS, write_dataset

from lamstudio.verify import (
    ExecutionOptions,
    JournalMismatch,
    JudgeConfig,
    VerifyConfig,
    journal_dir,
    verify,
)

FAST = VerifyConfig(stages=("format", "dedup"), chunk_size=16)


def lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_format_and_dedup_books_balance_and_rejects_say_why(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 60)
    res = verify([data], tmp_path / "kept.jsonl", tmp_path / "rej.jsonl", FAST)
    kept, rejects = lines(tmp_path / "kept.jsonl"), lines(tmp_path / "rej.jsonl")
    t = res.tally
    assert t.balanced and t.total.read == 60 == len(kept) + len(rejects) == t.total.kept + \
        t.total.rejected
    by_code = {(r["stage"], r["code"]) for r in rejects}
    assert {("load", "bad_json"), ("load", "duplicate_id"), ("format", "IFN"),
            ("dedup", "exact_duplicate")} <= by_code
    for r in rejects:
        assert {"file", "line", "id", "stage", "code", "message", "raw"} <= set(r)
    bad = next(r for r in rejects if r["code"] == "bad_json")
    assert bad["line"] == 10 and bad["file"].endswith("in.jsonl")
    dup = next(r for r in rejects if r["code"] == "exact_duplicate")
    assert dup["duplicate_of"] == "r0" and dup["cluster"] == "dup-000001"
    first = next(k for k in kept if k["id"] == "r0")
    assert first["meta"]["verification"]["dedup_cluster"] == "dup-000001"
    assert set(first["meta"]["verification"]) == {"format", "dedup", "dedup_cluster"}
    summary = json.loads((tmp_path / "kept.summary.json").read_text())
    assert summary["read"] == 60 and summary["balanced"] and summary["stages"]["format"]["in"] \
        == t.stages["format"].read
    assert any("semantic" in n for n in summary["notes"])
    assert not journal_dir(tmp_path / "kept.jsonl").exists()


def test_worker_processes_give_identical_output(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 300)
    verify([data], tmp_path / "one.jsonl", tmp_path / "one.rej.jsonl", FAST)
    cfg2 = VerifyConfig(stages=("format", "dedup"), chunk_size=16, workers=2)
    verify([data], tmp_path / "two.jsonl", tmp_path / "two.rej.jsonl", cfg2)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert (tmp_path / "one.rej.jsonl").read_bytes() == (tmp_path / "two.rej.jsonl").read_bytes()


def test_all_stages_with_tools_and_a_judge(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 40)

    def judge(body):  # fails records about Lyon, passes the rest
        return Reply('{"pass": false, "reason": "Lyon"}' if "Lyon" in
                     body["messages"][1]["content"] else '{"pass": true, "reason": "ok"}')

    with ScriptedServer(judge) as srv:
        cfg = VerifyConfig(chunk_size=8, tool_modules=(FIXTURE_TOOLS,), builtin_tools=False,
                           execution=ExecutionOptions(skip_unexecutable=True),
                           judge=JudgeConfig(srv.base_url, srv.model, key_env=None))
        res = verify([data], tmp_path / "kept.jsonl", tmp_path / "rej.jsonl", cfg)
    kept, rejects = lines(tmp_path / "kept.jsonl"), lines(tmp_path / "rej.jsonl")
    assert res.tally.balanced and len(kept) + len(rejects) == 40
    added = next(k for k in kept if k["id"] == "r7")
    assert [m["role"] for m in added["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert json.loads(added["messages"][2]["content"])["sum"] == 8
    ver = added["meta"]["verification"]
    assert ver["execution"]["details"]["inserted"] == 1 and ver["semantic"]["passed"]
    weather = next(k for k in kept if k["id"] == "r0")
    assert weather["meta"]["verification"]["execution"]["skipped"]
    lyon = [r for r in rejects if r["stage"] == "semantic"]
    assert lyon and all(r["code"] == "judge_fail" and "Lyon" in json.dumps(r["raw"])
                        for r in lyon)
    assert res.tally.stages["semantic"].read == len(srv.requests)


def test_without_a_judge_the_semantic_stage_is_skipped_and_said_so(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 12)
    res = verify([data], tmp_path / "k.jsonl", config=VerifyConfig(
        stages=("format", "semantic"), chunk_size=5))
    assert res.tally.stages["semantic"].warnings["no_judge"] == res.tally.total.kept
    assert any("no judge configured" in n for n in res.notes)


def test_an_interrupted_run_resumes_to_the_same_result(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 120)
    verify([data], tmp_path / "clean.jsonl", tmp_path / "clean.rej.jsonl", FAST)

    def stop_after_three_chunks(total):
        calls = []

        def advance(n):
            calls.append(n)
            if len(calls) == 4:  # 1st call reports resumed rows, then one per chunk
                raise KeyboardInterrupt
        return advance

    out, rej = tmp_path / "kept.jsonl", tmp_path / "rej.jsonl"
    with pytest.raises(KeyboardInterrupt):
        verify([data], out, rej, FAST, progress=stop_after_three_chunks)
    assert not out.exists() and len(list(journal_dir(out).glob("chunk-*.json"))) == 3
    other = VerifyConfig(stages=("format", "dedup"), chunk_size=16,
                         format=FAST.format.__class__(require_calls=True))
    with pytest.raises(JournalMismatch, match="--restart"):
        verify([data], out, rej, other)
    res = verify([data], out, rej, FAST)
    assert res.resumed_chunks == 3 and res.tally.total.read == 120
    assert out.read_bytes() == (tmp_path / "clean.jsonl").read_bytes()
    assert rej.read_bytes() == (tmp_path / "clean.rej.jsonl").read_bytes()
    assert json.loads((tmp_path / "kept.summary.json").read_text())["read"] == 120


def test_workers_reading_byte_ranges_of_several_files_match_one_process(tmp_path, monkeypatch):
    from lamstudio.verify import _pipeline

    monkeypatch.setattr(_pipeline, "_RANGE_BYTES", 700)  # many ranges, some mid-record
    a = write_dataset(tmp_path / "a.jsonl", 120)
    b = tmp_path / "b.jsonl"
    b.write_bytes(b"\n" + a.read_bytes().replace(b'"id": "r', b'"id": "b'))
    cfg1 = VerifyConfig(stages=("format", "dedup"), chunk_size=7)
    cfg2 = VerifyConfig(stages=("format", "dedup"), chunk_size=7, workers=2)
    r1 = verify([a, b], tmp_path / "one.jsonl", tmp_path / "one.rej.jsonl", cfg1)
    r2 = verify([a, b], tmp_path / "two.jsonl", tmp_path / "two.rej.jsonl", cfg2)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert (tmp_path / "one.rej.jsonl").read_bytes() == (tmp_path / "two.rej.jsonl").read_bytes()
    assert r1.tally.to_dict() == r2.tally.to_dict() and r2.tally.total.read == 240
