"""``lamstudio verify --stages format,semantic`` against a judge that misbehaves: a real
HTTP server on 127.0.0.1, the CLI in a subprocess. A row is rejected by the judge only for
the judge's verdict; the judge's own faults retry or stop the run, which then resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.scripted_server import Raw, Reply, ScriptedServer
from tests.verify.conftest import call, record

from lamstudio.verify import journal_dir

PASS = Reply(json.dumps({"pass": True, "reason": "fine"}))


def write_rows(path: Path, n: int) -> Path:
    rows = [record(f"Weather in city {i}?", [call("get_weather", {"city": f"C{i}"})],
                   rid=f"r{i}") for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run_verify(data: Path, out: Path, url: str, key: str | None = None,
               key_env: str = "JUDGE_KEY") -> tuple[int, str]:
    env = {**os.environ, "COLUMNS": "300"}
    env.pop(key_env, None)
    if key is not None:
        env[key_env] = key
    proc = subprocess.run(
        [sys.executable, "-m", "lamstudio", "verify", str(data), "-o", str(out),
         "--stages", "format,semantic", "--chunk-size", "5", "--judge-url", url,
         "--judge-model", "judge", "--judge-key-env", key_env],
        env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def summary_of(out: Path) -> dict:
    return json.loads(out.with_name(out.name.split(".")[0] + ".summary.json").read_text())


def test_a_garbage_200_once_rejects_no_row(tmp_path):
    data, out = write_rows(tmp_path / "in.jsonl", 10), tmp_path / "kept.jsonl"
    answered = 0

    def judge(body):
        nonlocal answered
        answered += 1
        return Raw("<html><body>502 Bad Gateway</body></html>") if answered == 1 else PASS

    with ScriptedServer(judge) as srv:
        code, text = run_verify(data, out, srv.base_url)
    assert code == 0, text
    summary = summary_of(out)
    assert summary["kept"] == 10 and summary["rejected"] == 0, summary
    assert len(srv.requests) == 11, "the garbage answer was asked again"


OLD, NEW = "sk-old-SECRET-1a2b", "sk-new-SECRET-3c4d"


def test_a_refused_key_stops_the_run_and_a_resume_finishes_it(tmp_path):
    data, out = write_rows(tmp_path / "in.jsonl", 20), tmp_path / "kept.jsonl"
    answered = 0

    def judge(body):  # the key is revoked once two chunks (10 rows) were judged
        nonlocal answered
        answered += 1
        if answered == 10:
            srv.api_key = NEW
        return PASS

    texts = []
    with ScriptedServer(judge, api_key=OLD) as srv:
        # a wrong key: 401 on every request (each echoing the key) stops the run at once
        code, text = run_verify(data, out, srv.base_url, key="sk-typo-SECRET-5e6f")
        texts.append(text)
        assert code != 0 and "HTTP 401" in text and "$JUDGE_KEY" in text, text
        assert "resume" in text and not out.exists()
        # the right key, revoked midway: two chunks committed, then a clear stop
        code, text = run_verify(data, out, srv.base_url, key=OLD)
        texts.append(text)
        assert code != 0 and "HTTP 401" in text, text
        assert not out.exists() and len(list(journal_dir(out).glob("chunk-*.json"))) == 2
        # the new key (in another variable): the resumed run judges only the 10 rows left
        # and rejects none
        before = answered
        code, text = run_verify(data, out, srv.base_url, key=NEW, key_env="JUDGE_KEY_2")
        texts.append(text)
        assert code == 0, text
        assert "resumed after 2 committed chunk" in text and answered - before == 10
    summary = summary_of(out)
    assert summary["read"] == 20 == summary["kept"] and summary["rejected"] == 0, summary
    assert len(out.read_text().splitlines()) == 20
    # the server echoed every key it got; none reached a file or the terminal
    assert all(h["Authorization"].startswith("Bearer sk-") for h in srv.headers)
    assert not any("SECRET" in t for t in texts), texts
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or "SECRET" not in path.read_text(errors="replace"), path
