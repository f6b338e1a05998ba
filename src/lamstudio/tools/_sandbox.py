"""``Sandbox``: run tool calls in a pool of isolated worker processes.

Each worker is ``python -m lamstudio.tools._worker`` speaking JSON lines over pipes. It
imports the tool modules, isolates itself, and then serves calls one at a time, each in a
process forked from it for that call alone (a clean template: the worker itself never runs
tool code). The pool is reused across calls; a worker that stops answering, crashes or
cannot clean up is killed (with its whole process group) and replaced. Every failure is a
``CallResult`` with an ``error_code``; the sandbox never raises for something a tool did.

What is enforced, and how (``Sandbox.isolation`` reports what the running workers achieved;
the tests in ``tests/tools/test_sandbox.py`` check exactly those claims):

* **Calls are independent**: the call's process is forked from the template and exits after
  the call, so whatever a tool changes (builtins, ``json.dumps``, module globals,
  ``os.environ``, the worker's own code) is gone before the next call.
* **Time**: a wall-clock limit per call (``timeout_s``; the worker kills the call's process,
  the parent kills a worker that stops answering) and a CPU-time limit per call (``cpu_s``,
  ``RLIMIT_CPU`` of the call's process; SIGXCPU ends it).
* **Memory**: ``RLIMIT_AS`` of ``memory_mb`` on top of the worker's size after importing
  the tool modules; an allocation past it raises ``MemoryError`` (``memory_limit``).
  Address space, not resident memory, is limited: tools that map large files or start many
  threads hit it sooner.
* **Processes**: ``RLIMIT_NPROC`` bounds the tasks of the worker's uid; an audit hook also
  caps process creation at ``max_procs`` per call (forked children may not fork again).
  After every call each process it left is killed, however it was started (ctypes,
  ``setsid``, double fork): the worker is a child subreaper and kills its descendants, and
  with a private uid also every process of that uid. As root the uid is a fresh, unused one
  per worker, so the rlimit counts only that worker; as an ordinary user it counts all of
  that user's processes (the baseline is taken at start-up, so it is approximate).
* **Network**: as root (or with unprivileged user namespaces) the worker moves into an
  empty network namespace, so nothing, not even ctypes or a subprocess, can reach a
  network, loopback included. In addition (or alone, where namespaces are refused) an audit
  hook blocks socket creation for non-Unix families, connect/bind/DNS calls: code that
  bypasses the interpreter (ctypes, C extensions) can get past the hook.
* **Files**: each call runs with its cwd, ``HOME`` and ``TMPDIR`` in a private work
  directory that is emptied after the call, and ``RLIMIT_FSIZE`` caps file size. As root
  the worker drops to its fresh uid/gid (no groups, ``no_new_privs``): it can then write
  only where everyone may write, and cannot read files that are not world-readable. As
  root it also mounts private tmpfs over ``/tmp``, ``/var/tmp`` and ``/dev/shm``, so writes
  there vanish with the worker. Code the worker must still import from a hidden or
  root-only directory stays reachable only through ``O_PATH`` descriptors on read-only bind
  mounts; the call's process closes every other descriptor (the channel to the parent
  included) before the tool runs. As an ordinary user none of the uid/mount part holds:
  the tool can write wherever that user can.
* **Environment**: the worker sees only ``PATH``, ``LANG``, ``LC_*``, ``TZ`` and the
  ``PYTHONPATH`` it needs: no API keys or tokens.

Not covered: a tool decides its own result, so it can also fake it (write a reply into its
own reply pipe and exit), but never another call's. It can read world-readable files and
burn its CPU/time budget. Tool modules are imported in the worker before privileges are
dropped, so a module that does something hostile *at import time* runs with fewer limits
(but already without network). This is process isolation, not a security boundary against
kernel exploits.
"""

from __future__ import annotations

import json
import os
import queue
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Literal

from lamstudio.io import InputError
from lamstudio.schema import ToolSpec

DEFAULT_MODULES = ("lamstudio.tools.builtin",)
ERROR_CODES = ("timeout", "memory_limit", "crashed", "exited", "tool_error",
               "unserialisable_result", "result_too_large", "unknown_tool", "bad_arguments",
               "network_blocked", "process_limit")
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
_GRACE_S = 5.0


class SandboxError(RuntimeError, InputError):
    """The sandbox itself could not start (bad tool module, no namespace when required).

    An ``InputError`` too: commands report it as a clear error, without a traceback."""


@dataclass
class CallResult:
    """The outcome of one sandboxed call. ``result`` is JSON-serialisable when ``ok``."""

    ok: bool
    result: Any = None
    error_code: str | None = None
    error: str | None = None
    seconds: float = 0.0
    name: str | None = None
    traceback: str | None = field(default=None, repr=False)

    @property
    def is_error_payload(self) -> bool:
        """The tool returned normally but with an error object such as ``{"error": ...}``."""
        return self.ok and isinstance(self.result, dict) and bool(self.result.get("error"))

    def content(self) -> str:
        """The text a ``tool`` message would carry for this call."""
        if self.ok:
            return json.dumps(self.result, ensure_ascii=False)
        return json.dumps({"error": self.error, "error_code": self.error_code},
                          ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Lost(Exception):
    """The worker stopped answering: carries the error code and message for the call."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class _Proc:
    """One worker process and the bytes it has sent so far."""

    def __init__(self, config: dict[str, Any], env: dict[str, str]) -> None:
        self.config = config
        self.uid: int | None = config.get("uid")
        self.stderr: IO[bytes] = tempfile.TemporaryFile()
        self.popen = subprocess.Popen(
            [sys.executable, "-s", "-m", "lamstudio.tools._worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
            # Not /tmp: ``-m`` puts the cwd first on sys.path, where anyone could plant
            # a ``json.py`` for the worker (still root at start-up) to import.
            start_new_session=True, cwd="/")
        self.fd = self.popen.stdout.fileno()  # type: ignore[union-attr]
        self.buffer = b""
        self.ready: dict[str, Any] = {}
        self.calls = 0
        self.send(config)

    def send(self, message: dict[str, Any]) -> None:
        stdin = self.popen.stdin
        assert stdin is not None
        stdin.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
        stdin.flush()

    def read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def wait_ready(self, timeout: float) -> None:
        try:
            self.ready = self.read(timeout)
        except (TimeoutError, EOFError):
            self.kill()
            raise SandboxError(f"tool worker did not start: {self.stderr_tail()}") from None
        if not self.ready.get("ready"):
            self.kill()
            raise SandboxError(f"tool worker could not load its tools: {self.ready.get('error')}"
                               f"\n{self.ready.get('traceback', '')}".rstrip())

    def stderr_tail(self, size: int = 4000) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, self.stderr.tell() - size))
            return self.stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    def trim_stderr(self, keep: int = 1 << 20) -> None:
        """Start the captured stderr over once it passes ``keep`` bytes (the worker is idle
        now, and shares the file offset, so its next write lands at the start)."""
        try:
            if os.fstat(self.stderr.fileno()).st_size > keep:
                self.stderr.truncate(0)
                self.stderr.seek(0)
        except (OSError, ValueError):
            pass

    def kill(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.ready.get("isolation", {}).get("dropped_privileges") and self.uid:
            _kill_uid(self.uid)  # children that left the process group with setsid
        self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout, self.stderr):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        workdir = self.ready.get("isolation", {}).get("workdir")
        tmp_private = any(workdir and workdir.startswith(d + os.sep)
                          for d in self.ready.get("isolation", {}).get("private_tmp", []))
        if workdir and not tmp_private:  # a private tmpfs vanishes with the worker itself
            shutil.rmtree(workdir, ignore_errors=True)


def _kill_uid(uid: int) -> None:
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid:
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            continue


class Sandbox:
    """A pool of isolated tool workers; use as a context manager.

    ``with Sandbox(["my_tools.py"], workers=2) as box: box.call("add", {"a": 1, "b": 2})``.
    ``recycle_every=1`` replaces the worker after every call (a process per call).
    """

    def __init__(
        self, tool_modules: Sequence[str] = DEFAULT_MODULES, workers: int = 2,
        timeout_s: float = 5.0, cpu_s: int = 5, memory_mb: int = 512, *,
        max_procs: int = 8, file_mb: int = 64, max_result_bytes: int = 1_000_000,
        network: Literal["auto", "netns", "audit_hook"] = "auto",
        drop_privileges: bool = True, private_tmp: bool = True,
        recycle_every: int | None = None, start_timeout_s: float = 60.0,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.tool_modules = [str(m) for m in tool_modules]
        self.workers, self.timeout_s, self.cpu_s = workers, timeout_s, cpu_s
        self.recycle_every, self.start_timeout_s = recycle_every, start_timeout_s
        self.drop_privileges = drop_privileges
        self._config = {
            "modules": [_absolute(m) for m in self.tool_modules],
            "sys_path": [p for p in sys.path if p and os.path.isabs(p) and os.path.exists(p)],
            "memory_mb": memory_mb, "cpu_s": cpu_s, "max_procs": max_procs,
            "file_mb": file_mb, "max_result_bytes": max_result_bytes, "network": network,
            "private_tmp": private_tmp, "parent_pid": os.getpid(), "timeout_s": timeout_s,
        }
        self._idle: queue.Queue[list[_Proc | None]] = queue.Queue()
        self._slots: list[list[_Proc | None]] = []
        self._pool: ThreadPoolExecutor | None = None
        self.restarts = 0
        self.tools: dict[str, ToolSpec] = {}
        self.categories: dict[str, str] = {}
        self.isolation: dict[str, Any] = {}

    # -- life cycle -------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        procs = [self._spawn() for _ in range(self.workers)]
        try:
            for proc in procs:
                proc.wait_ready(self.start_timeout_s)
        except SandboxError:
            for proc in procs:
                proc.kill()
            raise
        first = procs[0].ready
        self.tools = {n: ToolSpec.model_validate(s) for n, s in first["tools"].items()}
        self.categories = first.get("categories", {})
        self.isolation = first["isolation"]
        for proc in procs:
            slot: list[_Proc | None] = [proc]
            self._slots.append(slot)
            self._idle.put(slot)
        self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                        thread_name_prefix="lamstudio-sandbox")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for slot in self._slots:
            if slot[0] is not None:
                slot[0].kill()
                slot[0] = None
        self._slots.clear()
        self._idle = queue.Queue()

    def _spawn(self) -> _Proc:
        config = dict(self._config)
        if self.drop_privileges and os.geteuid() == 0:
            # A fresh uid per worker: RLIMIT_NPROC then counts only this worker's tasks,
            # and kill(-1) from inside reaches only its own strays.
            config["uid"] = random.SystemRandom().randrange(1 << 30, 1 << 31)
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env["PYTHONPATH"] = os.pathsep.join(config["sys_path"])
        env["PYTHONHASHSEED"] = "0"
        return _Proc(config, env)

    # -- calls ------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self.tools)

    def worker_pids(self) -> list[int]:
        """The pool's worker (template) processes; each call runs in a child of one."""
        return [slot[0].popen.pid for slot in self._slots if slot[0] is not None]

    def specs(self) -> list[ToolSpec]:
        return list(self.tools.values())

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallResult:
        """Run one call in the next free worker; failures come back as ``CallResult``."""
        if not self._slots:
            raise SandboxError("the sandbox is not started (use it as a context manager)")
        slot = self._idle.get()
        try:
            return self._call_in(slot, name, {} if arguments is None else arguments)
        finally:
            self._idle.put(slot)

    def map(self, calls: Iterable[Any]) -> list[CallResult]:
        """Run many calls across the workers; results keep the order of ``calls``.

        Each item is ``(name, arguments)``, ``{"name", "arguments"}`` or an object with
        ``.name`` and ``.arguments`` (such as ``lamstudio.schema.FunctionCall``).
        """
        if self._pool is None:
            raise SandboxError("the sandbox is not started (use it as a context manager)")
        items = [_as_pair(c) for c in calls]
        return list(self._pool.map(lambda pair: self.call(*pair), items))

    def _call_in(self, slot: list[_Proc | None], name: str, arguments: Any) -> CallResult:
        try:
            json.dumps(arguments, allow_nan=False)
        except (TypeError, ValueError) as exc:
            return CallResult(ok=False, error_code="bad_arguments", name=name,
                              error=f"arguments are not JSON: {exc}")
        if slot[0] is None:
            slot[0] = self._replacement()
        proc = slot[0]
        started = time.perf_counter()
        try:
            proc.send({"id": proc.calls, "name": name, "arguments": arguments})
            # The worker enforces timeout_s itself (it kills the call's process); this is
            # the backstop for a worker that stops answering.
            reply = proc.read(self.timeout_s + _GRACE_S)
            if not isinstance(reply, dict) or reply.get("id") != proc.calls:
                # Something in the worker wrote to the private channel: never trust it again.
                raise ValueError("reply out of sequence")
        except ValueError:
            reply = {"ok": False, "error_code": "crashed", "recycle": True,
                     "error": "the worker sent a malformed reply (the tool wrote to the "
                              "sandbox's private channel)"}
        except TimeoutError:
            reply = {"ok": False, "error_code": "timeout", "recycle": True,
                     "error": f"tool ran past the {self.timeout_s:g} s time limit"}
        except (EOFError, BrokenPipeError, OSError):
            code, message = self._cause_of_death(proc)
            reply = {"ok": False, "error_code": code, "error": message, "recycle": True}
        seconds = time.perf_counter() - started
        proc.calls += 1
        proc.trim_stderr()
        if reply.get("recycle") or (self.recycle_every and proc.calls >= self.recycle_every):
            proc.kill()
            slot[0] = None
            slot[0] = self._replacement()
        return CallResult(ok=bool(reply.get("ok")), result=reply.get("result"),
                          error_code=reply.get("error_code"), error=reply.get("error"),
                          seconds=seconds, name=name, traceback=reply.get("traceback"))

    def _replacement(self) -> _Proc:
        proc = self._spawn()
        proc.wait_ready(self.start_timeout_s)
        self.restarts += 1
        return proc

    def _cause_of_death(self, proc: _Proc) -> tuple[str, str]:
        try:
            rc = proc.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "crashed", "the worker stopped answering"
        tail = proc.stderr_tail()
        if rc < 0:
            sig = signal.Signals(-rc)
            if sig == signal.SIGXCPU:
                return "timeout", f"tool used more than {self.cpu_s} s of CPU time (SIGXCPU)"
            if sig == signal.SIGXFSZ:
                return "crashed", "tool wrote a file past the file-size limit (SIGXFSZ)"
            return "crashed", f"the worker died from {sig.name}" + _last_line(tail)
        if "MemoryError" in tail:
            return "memory_limit", "the worker ran out of memory" + _last_line(tail)
        return "exited", f"the tool ended the worker process (exit status {rc})"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""


def _absolute(module: str) -> str:
    """File paths travel as absolute paths (the worker runs in another directory)."""
    if module.endswith(".py") or os.sep in module:
        return os.path.abspath(module)
    return module


def _as_pair(item: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return item[0], item[1]
    if isinstance(item, dict):
        return item["name"], item.get("arguments") or {}
    return item.name, item.arguments
