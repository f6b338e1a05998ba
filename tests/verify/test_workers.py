"""The worker processes of the per-row half: answers in order, errors and deaths reported,
and no process left behind when the main process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from lamstudio.verify._workers import WorkerDied, Workers

_STATE: dict[str, int] = {}


def _init(offset: int) -> None:
    _STATE["offset"] = offset


def _work(x: int) -> tuple[int, int]:
    if x < 0:
        raise ValueError(f"negative: {x}")
    if x == 999:
        os.kill(os.getpid(), signal.SIGKILL)
    return x + _STATE["offset"], os.getpid()


def test_answers_come_back_in_order_from_several_processes():
    with Workers(2, _init, (100,), _work) as workers:
        out = list(workers.map((x,) for x in range(50)))
    assert [v for v, _ in out] == [x + 100 for x in range(50)]
    assert len({pid for _, pid in out}) == 2


def test_an_error_in_a_worker_is_raised_in_the_main_process():
    with Workers(2, _init, (0,), _work) as workers, pytest.raises(ValueError, match="-3"):
        list(workers.map((x,) for x in (1, 2, -3, 4)))


def test_a_worker_that_dies_is_reported_not_waited_for():
    with Workers(2, _init, (0,), _work) as workers, pytest.raises(WorkerDied):
        list(workers.map((x,) for x in (1, 999, 3, 4)))


def test_workers_end_when_the_main_process_is_killed():
    code = ("import sys, time\n"
            "from tests.verify.test_workers import _init, _work\n"
            "from lamstudio.verify._workers import Workers\n"
            "w = Workers(2, _init, (0,), _work)\n"
            "print(' '.join(str(p.pid) for p in w.procs), flush=True)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, "worker processes outlived the main process"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
