"""convert A -> B -> lamstudio over BFCL's live_multiple and the shipped samples, through
real files: a record changes only if ``convert`` reported it (``not_carried`` warnings,
one per record, and one per record and field), and what the issue found lost is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lamstudio.sources import FORMATS, get_format
from lamstudio.sources._convert import convert

SAMPLES = Path(get_format("lamstudio").__file__).parents[1] / "data" / "samples"
WRITERS = [f for f in FORMATS if f != "lamstudio"]


def _sources(tmp: Path) -> dict[str, Path]:
    """Every sample and BFCL live_multiple, as lamstudio files."""
    out = {}
    for fmt in FORMATS:
        if fmt != "bfcl" and (SAMPLES / f"{fmt}.jsonl").exists():
            out[fmt] = tmp / f"{fmt}.lam.jsonl"
            convert([SAMPLES / f"{fmt}.jsonl"], fmt, out[fmt])
    bfcl = get_format("bfcl")
    out["live_multiple"] = tmp / "live_multiple.lam.jsonl"
    convert([bfcl.bfcl_data_dir() / "BFCL_v4_live_multiple.json"], "bfcl",
            out["live_multiple"])
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    return _sources(tmp_path_factory.mktemp("sources"))


def _records(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _kept(a, b) -> bool:
    """Everything of ``a`` is in ``b`` unchanged (a reader may add fields: a category)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return all(k in b and _kept(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_kept, a, b))
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("fmt", WRITERS)
def test_a_round_trip_changes_only_what_convert_reported(tmp_path, sources, fmt):
    for name, lam in sources.items():
        out = tmp_path / name / "BFCL_v4_live_multiple.json"  # a name BFCL's reader takes
        there = convert([lam], "lamstudio", out, to_format=fmt)
        back = convert([out], fmt, tmp_path / name / "back.jsonl")
        unreadable = sum(v for k, v in there.warnings.items()
                         if k.startswith("not_carried:unreadable"))
        assert back.rejected == unreadable, (name, back.reasons, there.warnings)
        gone = {r["line"] for r in _records(tmp_path / name / "back.rejects.jsonl")}
        before, after = _records(lam), iter(_records(tmp_path / name / "back.jsonl"))
        changed = sum(i + 1 in gone or not _kept(a, next(after)) for i, a in enumerate(before))
        assert changed == there.warnings.get("not_carried", 0), (name, fmt, there.warnings)


def test_what_the_issue_found_lost_is_kept(tmp_path, sources):
    lm = sources["live_multiple"]
    apigen = convert([lm], "lamstudio", tmp_path / "a.jsonl", to_format="apigen")
    lost = {k for k in apigen.warnings if k.startswith("not_carried:")}
    assert lost == {"not_carried:system"}  # meta.bfcl and nested tool schemas come back
    bfcl = convert([lm], "lamstudio", tmp_path / "q" / "BFCL_v4_live_multiple.json",
                   to_format="bfcl")
    assert (tmp_path / "q" / "possible_answer" / "BFCL_v4_live_multiple.json").exists()
    back = convert([tmp_path / "q" / "BFCL_v4_live_multiple.json"], "bfcl",
                   tmp_path / "b.jsonl")
    assert (bfcl.kept, back.kept, back.rejected) == (1050, 1050, 0)
    flagged = [r for r in _records(sources["lamstudio"])
               if any(m.get("train") is False for m in r["messages"])]
    assert flagged
    share = convert([sources["lamstudio"]], "lamstudio", tmp_path / "s.jsonl",
                    to_format="sharegpt")
    assert not any("train" in k for k in share.warnings)
