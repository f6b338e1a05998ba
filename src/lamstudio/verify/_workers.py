"""Worker processes for the per-row half, fed over one pipe each.

``multiprocessing.Pool`` moves results through two helper threads in the main process;
with a few hundred rows a task they cost the main process ~17 µs a row (unpickling plus
GIL hand-overs), as much as the main process's own share of the work. Here the main
thread reads each worker's pipe itself, in submission order (tasks go round-robin), so
results come back in input order with no thread in between. Tasks must be small messages
(a byte range, not rows): a task that fills the pipe while its worker is blocked sending
a result would deadlock, hence ``depth`` tasks at most in flight per worker.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_DIED = "a verify worker process ended unexpectedly (killed, or out of memory?)"


class WorkerDied(RuntimeError):
    """A worker process ended without answering (killed, out of memory)."""


def _serve(conn: Any, inherited: list[Any], init: Callable[..., None],
           init_args: tuple[Any, ...], work: Callable[..., Any]) -> None:
    # The main process's ends of the pipes, inherited by the fork: closed, so that this
    # process sees EOF and ends when the main process dies (even by SIGKILL).
    for other in inherited:
        other.close()
    init(*init_args)
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        if args is None:
            return
        try:
            result: tuple[bool, Any] = (True, work(*args))
        except Exception as exc:  # noqa: BLE001 - re-raised in the main process
            result = (False, exc)
        conn.send(result)


class Workers:
    """``map(work, args...)`` over ``n`` forked processes, results in order."""

    def __init__(self, n: int, init: Callable[..., None], init_args: tuple[Any, ...],
                 work: Callable[..., Any], depth: int = 2) -> None:
        ctx = multiprocessing.get_context("fork")
        self.depth, self.conns, self.procs = depth, [], []
        for _ in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, daemon=True,
                               args=(child, [*self.conns, parent], init, init_args, work))
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def map(self, tasks: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        pending: deque[Any] = deque()
        n = len(self.conns)
        for i, args in enumerate(tasks):
            conn = self.conns[i % n]
            try:
                conn.send(args)
            except OSError:  # BrokenPipeError: that worker is gone
                raise WorkerDied(_DIED) from None
            pending.append(conn)
            if len(pending) >= self.depth * n:
                yield _answer(pending.popleft())
        while pending:
            yield _answer(pending.popleft())

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.join()
        for conn in self.conns:
            conn.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _answer(conn: Any) -> Any:
    try:
        ok, value = conn.recv()
    except (EOFError, OSError):  # ConnectionResetError when it died mid-answer
        raise WorkerDied(_DIED) from None
    if not ok:
        raise value
    return value
