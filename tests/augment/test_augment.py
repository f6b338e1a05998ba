"""``lamstudio augment``: each operation, determinism, provenance, the books, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from random import Random

import pytest

from lamstudio.augment import (
    AugmentConfig,
    augment,
    rename_parameters,
    shuffle_tools,
    to_irrelevance,
)
from lamstudio.schema import Trajectory
from lamstudio.synth import bundled_seed_file, load_refusals

SEEDS = bundled_seed_file()
OFF = dict(shuffle_tools=0.0, rephrase_system=0.0, distractors=0.0, irrelevance=0.0,
           rename_parameters=0.0)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def seeds() -> dict[str, dict]:
    return {r["id"]: r for r in read(SEEDS)}


def test_same_seed_same_output_other_seed_other_output(tmp_path):
    cfg = AugmentConfig(seed=1, copies=2, irrelevance=0.3, rename_parameters=0.3)
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    augment([SEEDS], a, config=cfg)
    augment([SEEDS], b, config=cfg)
    augment([SEEDS], c, config=AugmentConfig(seed=2, copies=2, irrelevance=0.3,
                                             rename_parameters=0.3))
    assert a.read_text() == b.read_text() != c.read_text()


def test_copies_carry_parent_and_what_was_applied(tmp_path):
    out = tmp_path / "o.jsonl"
    res = augment([SEEDS], out, config=AugmentConfig(**{**OFF, "distractors": 1.0,
                                                        "rephrase_system": 1.0}, copies=3))
    rows = read(out)
    originals = seeds()
    assert res.read == res.passed == 9 and res.balanced()
    assert res.written == len(rows) == 9 + res.copies and res.copies == 27
    for r in rows:
        Trajectory.model_validate(r)
        if r["id"] in originals:
            assert r == originals[r["id"]]
            continue
        parent = originals[r["meta"]["parent"]]
        assert r["id"].startswith(parent["id"] + "~aug")
        ops = [a["op"] for a in r["meta"]["augment"]]
        assert "distractors" in ops and "rephrase_system" in ops
        added = next(a["added"] for a in r["meta"]["augment"] if a["op"] == "distractors")
        names = [t["function"]["name"] for t in r["tools"]]
        assert len(names) == len(set(names)) == len(parent["tools"]) + len(added)
        assert r["messages"] == parent["messages"] and r["system"]


def test_shuffle_changes_order_only():
    r = seeds()["seed-003"]
    out, what = shuffle_tools(r, Random(0))
    assert [t["function"]["name"] for t in out["tools"]] == what["order"]
    assert what["order"] != [t["function"]["name"] for t in r["tools"]]
    assert sorted(map(json.dumps, out["tools"])) == sorted(map(json.dumps, r["tools"]))
    assert shuffle_tools(seeds()["seed-001"], Random(0)) is None  # one tool


def test_irrelevance_removes_needed_tools_and_refuses():
    r = seeds()["seed-007"]  # convert_units + convert_temperature, both called
    pool = [t for s in seeds().values() for t in s["tools"]]
    out, what = to_irrelevance(r, Random(0), load_refusals(), pool)
    names = {t["function"]["name"] for t in out["tools"]}
    assert what["removed"] == ["convert_temperature", "convert_units"]
    assert names and not names & set(what["removed"])
    assert out["messages"][-1] == {"role": "assistant", "content": out["messages"][-1]["content"]}
    assert out["messages"][-1]["content"] in load_refusals()
    assert out["meta"]["category"] == "irrelevance"
    Trajectory.model_validate({**out, "id": "x"})
    assert to_irrelevance(seeds()["seed-008"], Random(0), load_refusals(), pool) is None


def test_rename_parameters_consistently():
    r = seeds()["seed-005"]  # is_prime(n) twice
    out, what = rename_parameters(r, Random(3))
    new = what["mapping"]["n"]
    assert new != "n"
    assert list(out["tools"][0]["function"]["parameters"]["properties"]) == [new]
    assert out["tools"][0]["function"]["parameters"]["required"] == [new]
    assert [c["function"]["arguments"] for c in out["messages"][1]["tool_calls"]] == [
        {new: 97}, {new: 221}]
    assert r["tools"][0]["function"]["parameters"]["required"] == ["n"]  # input untouched


def test_nothing_applied_writes_no_copy_and_rejects_balance(tmp_path):
    bad = tmp_path / "in.jsonl"
    bad.write_text(SEEDS.read_text() + "{not json\n" + json.dumps({"id": "x"}) + "\n")
    out = tmp_path / "o.jsonl"
    res = augment([bad], out, config=AugmentConfig(**OFF))
    assert res.read == 11 and res.passed == 9 and res.rejected == 2 and res.balanced()
    assert res.copies == 0 and len(read(out)) == 9
    assert len(read(tmp_path / "o.rejects.jsonl")) == 2


def test_bad_probability_is_named():
    with pytest.raises(ValueError, match="irrelevance"):
        AugmentConfig(irrelevance=2.0)


def test_cli(tmp_path):
    out = tmp_path / "cli.jsonl"
    proc = subprocess.run([sys.executable, "-m", "lamstudio", "augment", str(SEEDS), "-o",
                           str(out), "--copies", "2", "--irrelevance", "1", "--seed", "5"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "read 9 = passed 9 + rejected 0" in proc.stdout
    irr = [r for r in read(out)
           if any(a["op"] == "irrelevance" for a in r["meta"].get("augment", []))]
    assert len(irr) == 2 * 7  # every copy of the 7 records with calls
