"""``lamstudio verify`` / ``report`` as a user runs them: in a subprocess, killed midway
(SIGKILL, SIGINT) and run again, the result equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.scripted_server import Reply, ScriptedServer
from tests.verify.conftest import write_dataset

from lamstudio.verify import journal_dir


class Gate:
    """The judge answers ``limit`` more requests, then holds the rest until released: a run
    being interrupted cannot finish before its signal arrives, however loaded the machine
    (timing alone was not enough: 5 ms, 30 ms and a 1 s hold set after the last committed
    chunk each lost the race once)."""

    def __init__(self) -> None:
        self.lock, self.answered, self.limit = threading.Lock(), 0, None
        self.released = threading.Event()

    def pass_through(self) -> None:
        with self.lock:
            self.answered += 1
            held = self.limit is not None and self.answered > self.limit
        if held:
            self.released.wait(60)

    def hold_after(self, more: int) -> None:
        with self.lock:
            self.limit = self.answered + more
        self.released.clear()

    def release(self) -> None:
        with self.lock:
            self.limit = None
        self.released.set()


GATE = Gate()


def slow_judge(body):
    GATE.pass_through()
    time.sleep(0.01)
    fail = "Kyoto" in body["messages"][1]["content"]
    return Reply(json.dumps({"pass": not fail, "reason": "Kyoto" if fail else "fine"}))


def cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"}
    return subprocess.Popen([sys.executable, "-m", "lamstudio", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def verify_args(data: Path, out: Path, url: str) -> list[str]:
    return ["verify", str(data), "-o", str(out), "--stages", "format,semantic,dedup",
            "--chunk-size", "5", "--judge-url", url, "--judge-model", "judge",
            "--judge-key-env", "NO_SUCH_KEY_VAR"]


def run_to_end(args: list[str]) -> str:
    proc = cli(args)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    return out


def interrupt_at(args: list[str], out: Path, chunks: int, sig: int) -> subprocess.Popen:
    """Start a run and send ``sig`` once ``chunks`` chunks are committed; the judge answers
    just enough requests for them (chunks of 5 records, one judge call each) and holds the
    next until the signal has been dealt with."""
    journal = journal_dir(out)
    committed = len(list(journal.glob("chunk-*.json")))
    GATE.hold_after((chunks - committed) * 5)
    proc = cli(args)
    try:
        deadline = time.monotonic() + 60
        while len(list(journal.glob("chunk-*.json"))) < chunks:
            assert proc.poll() is None, "the run finished before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        GATE.release()
    return proc


def test_interrupted_runs_resume_to_the_uninterrupted_result(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 100)
    out, clean = tmp_path / "kept.jsonl", tmp_path / "clean.jsonl"
    with ScriptedServer(slow_judge) as srv:
        run_to_end(verify_args(data, clean, srv.base_url))
        asked_clean = len(srv.requests)
        # Ctrl-C: a clean exit (130) that keeps the committed chunks
        proc = interrupt_at(verify_args(data, out, srv.base_url), out, 3, signal.SIGINT)
        assert proc.returncode == 130 and not out.exists()
        done = len(list(journal_dir(out).glob("chunk-*.json")))
        # SIGKILL of the resumed run: no chance to clean up at all
        proc = interrupt_at(verify_args(data, out, srv.base_url), out, done + 3, signal.SIGKILL)
        assert proc.returncode == -signal.SIGKILL and not out.exists()
        done = len(list(journal_dir(out).glob("chunk-*.json")))
        text = run_to_end(verify_args(data, out, srv.base_url))
        asked_again = len(srv.requests) - asked_clean
    assert f"resumed after {done} committed chunk" in text
    assert out.read_bytes() == clean.read_bytes()
    assert (tmp_path / "kept.rejects.jsonl").read_bytes() == \
        (tmp_path / "clean.rejects.jsonl").read_bytes()
    summary = json.loads((tmp_path / "kept.summary.json").read_text())
    assert summary["read"] == 100 == summary["kept"] + summary["rejected"]
    # committed chunks are never judged again: at most the two interrupted chunks were
    assert asked_again <= asked_clean + 2 * 5
    assert not journal_dir(out).exists()


def test_clear_errors_without_tracebacks(tmp_path):
    proc = cli(["verify", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "k.jsonl")])
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "no such file" in out and "Traceback" not in out
    proc = cli(["verify", str(tmp_path / "missing.jsonl"), "-o", "k.jsonl", "--stages", "nope"])
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "unknown stage" in out


def test_report_command(tmp_path):
    data = write_dataset(tmp_path / "in.jsonl", 40)
    run_to_end(["verify", str(data), "-o", str(tmp_path / "k.jsonl"), "--stages", "format,dedup"])
    text = run_to_end(["report", str(tmp_path / "k.jsonl"), "--rejects",
                       str(tmp_path / "k.rejects.jsonl"), "-o", str(tmp_path / "r.html")])
    assert "report of" in text
    html = (tmp_path / "r.html").read_text()
    assert "<svg" in html and "format: IFN" in html


def _calls_unknown_tool(i: int) -> dict:
    return {"id": f"u{i}", "tools": [{"type": "function", "function": {
        "name": "teleport", "description": "teleport somewhere", "parameters": {
            "type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]}}}],
        "messages": [{"role": "user", "content": f"teleport me to place {i}"},
                     {"role": "assistant", "tool_calls": [{"id": "c0", "type": "function",
                      "function": {"name": "teleport", "arguments": {"to": f"p{i}"}}}]}]}


def test_tools_without_code_get_a_note_on_what_to_do_and_nothing_kept_exits_1(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(_calls_unknown_tool(i)) + "\n" for i in range(4)))
    out = tmp_path / "v.jsonl"
    proc = cli(["verify", str(data), "-o", str(out), "--stages", "format,execution"])
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, text
    assert "4 of 4 records call tools that no module provides" in text
    assert "--skip-unexecutable" in text and "--tools" in text
    assert "every row was rejected (execution:no_executable_tool: 4)" in text
    # the advice works: the same run with the flag keeps them (unchecked), exit 0
    proc = cli(["verify", str(data), "-o", str(out), "--stages", "format,execution",
                "--skip-unexecutable", "--restart"])
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    assert len(out.read_text().splitlines()) == 4
