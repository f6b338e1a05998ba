"""Writers are atomic: an interrupted write leaves the old file (or none), never a partial one."""

import json

import pytest

from lamstudio.io import JsonlWriter, Tally, atomic_path


def test_jsonl_writer_replaces_only_on_success(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"old": true}\n')
    with pytest.raises(KeyboardInterrupt):
        with JsonlWriter(out) as w:
            w.write({"new": 1})
            raise KeyboardInterrupt
    assert out.read_text() == '{"old": true}\n'
    assert list(tmp_path.iterdir()) == [out]  # no temp file left behind
    with JsonlWriter(out) as w:
        w.write({"new": 1})
    assert json.loads(out.read_text()) == {"new": 1}


def test_atomic_path_creates_parent_dirs(tmp_path):
    target = tmp_path / "a" / "b" / "c.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("hi")
        assert not target.exists()
    assert target.read_text() == "hi"


def test_gz_target_is_compressed(tmp_path):
    import gzip

    with JsonlWriter(tmp_path / "x.jsonl.gz") as w:
        w.write({"a": 1})
    assert gzip.open(tmp_path / "x.jsonl.gz", "rt").read() == '{"a":1}\n'


def test_tally_balances():
    t = Tally()
    t.keep("f")
    t.reject("bad_json", "f")
    t.warn("undefined_tool")
    assert t.balanced and t.to_dict()["rejected_by_reason"] == {"bad_json": 1}


def test_outputs_get_normal_file_modes(tmp_path):
    import os
    import stat

    with JsonlWriter(tmp_path / "x.jsonl") as w:
        w.write({"a": 1})
    mask = os.umask(0)
    os.umask(mask)
    mode = stat.S_IMODE((tmp_path / "x.jsonl").stat().st_mode)
    assert mode == 0o666 & ~mask
