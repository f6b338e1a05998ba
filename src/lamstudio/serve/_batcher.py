"""A bounded queue and one worker thread that runs the engine on batches of requests.

Requests wait in arrival order; the worker takes the oldest and every waiting request that
can share its ``generate`` call (same sampling settings, ``GenRequest.batch_key``), up to
``max_batch``. A full queue refuses new requests at once (the server answers 503) rather than
letting latency grow without bound.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from lamstudio.serve._engine import Engine, GenRequest


class QueueFull(Exception):
    pass


@dataclass
class _Job:
    req: GenRequest
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


@dataclass
class BatchStats:
    batches: int = 0
    requests: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)


class Batcher:
    def __init__(self, engine: Engine, max_queue: int = 64, max_batch: int = 8,
                 wait_s: float = 0.005) -> None:
        self.engine, self.max_queue, self.max_batch, self.wait_s = \
            engine, max_queue, max_batch, wait_s
        self._waiting: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.stats = BatchStats()

    @property
    def depth(self) -> int:
        return len(self._waiting)

    def start(self) -> None:
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lamstudio-batcher",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def submit(self, req: GenRequest) -> asyncio.Future:
        """Queue ``req`` (call from the event loop); the future gets its ``GenResult``."""
        loop = asyncio.get_running_loop()
        job = _Job(req, loop, loop.create_future())
        with self._cond:
            if len(self._waiting) >= self.max_queue:
                raise QueueFull
            self._waiting.append(job)
            self._cond.notify()
        return job.future

    def _take(self) -> list[_Job]:
        with self._cond:
            while not self._waiting and not self._closed:
                self._cond.wait()
            if self._closed:
                return []
        if len(self._waiting) < self.max_batch and self.wait_s > 0:
            time.sleep(self.wait_s)  # let requests that arrive together run together
        with self._cond:
            key = self._waiting[0].req.batch_key
            batch = [j for j in self._waiting if j.req.batch_key == key][:self.max_batch]
            for j in batch:
                self._waiting.remove(j)
        return batch

    def _run(self) -> None:
        while batch := self._take():
            live = [j for j in batch if not j.future.cancelled()]
            if not live:
                continue
            self._count(len(live))
            try:
                results: list[Any] = self.engine.generate([j.req for j in live])
            except Exception as exc:  # noqa: BLE001 - the requests fail, the server lives
                for j in live:
                    j.loop.call_soon_threadsafe(_fail, j.future, exc)
                continue
            for j, res in zip(live, results, strict=True):
                j.loop.call_soon_threadsafe(_succeed, j.future, res)
        with self._cond:  # closing: nobody will answer what is still waiting
            for j in self._waiting:
                j.loop.call_soon_threadsafe(_fail, j.future, RuntimeError("server stopping"))
            self._waiting.clear()

    def _count(self, n: int) -> None:
        s = self.stats
        s.batches, s.requests, s.largest = s.batches + 1, s.requests + n, max(s.largest, n)
        s.sizes[n] = s.sizes.get(n, 0) + 1


def _succeed(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _fail(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
