"""A sandbox worker: ``python -m lamstudio.tools._worker``, one JSON object per line.

Protocol (stdin → worker, worker → stdout; the tool's own stdout goes to stderr and its
stdin is /dev/null, so a printing tool cannot corrupt the channel):

1. parent sends the config (modules, sys.path, limits, isolation switches);
2. worker isolates itself, imports the modules and answers
   ``{"ready": true, "tools": {name: spec}, "isolation": {...}}`` or ``{"ready": false, ...}``;
3. then for each ``{"id", "name", "arguments"}`` it answers ``{"id", "ok", "result" |
   "error_code", "error", "recycle"}``; ``recycle`` asks the parent for a fresh worker.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from typing import IO, Any

from lamstudio.tools import _isolation as iso
from lamstudio.tools._registry import ToolRegistry, reset_tool_state

ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


class Worker:
    """The state of one worker process after setup."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.pid = os.getpid()
        for path in reversed(config.get("sys_path", [])):
            if path not in sys.path:
                sys.path.insert(0, path)
        # RLIMIT_NPROC counts all tasks of a shared uid: take the baseline before a user
        # namespace would hide everyone's uid behind the overflow id.
        baseline = iso.count_tasks(os.getuid()) if os.geteuid() != 0 else 0
        mode = config.get("network", "auto")
        net = iso.isolate_network() if mode in ("auto", "netns") else None
        if mode == "netns" and net is None:
            raise RuntimeError("a network namespace is not available here (needs root or "
                               "unprivileged user namespaces)")
        self.registry = ToolRegistry.from_modules(config["modules"])
        uid = config.get("uid") if os.geteuid() == 0 else None
        want_tmp = config.get("private_tmp", True) and os.geteuid() == 0
        rerouted = iso.keep_importable(iso.PRIVATE_TMP_DIRS if want_tmp else ()) \
            if uid is not None or want_tmp else {}
        tmp = iso.private_tmp() if want_tmp else []
        self.workdir = tempfile.mkdtemp(prefix="lamstudio-tool-")
        if uid is not None:
            os.chown(self.workdir, uid, uid)
        self._scrub_env()
        limits = iso.set_limits(config["memory_mb"], config["max_procs"],
                                config["file_mb"], uid, baseline)
        dropped = iso.drop_privileges(uid) if uid is not None else False
        iso.harden(config["parent_pid"])
        self.unique_uid = dropped
        self.guard = iso.Guard(block_network=mode in ("auto", "audit_hook"),
                               max_procs=config["max_procs"])
        self.guard.install()
        self.threads = threading.active_count()
        self.isolation = {
            "network": [x for x in (net, "audit_hook" if mode != "netns" else None) if x],
            "uid": os.geteuid(), "dropped_privileges": dropped, "private_tmp": tmp,
            "workdir": self.workdir, "rerouted_imports": rerouted, **limits,
        }

    def _scrub_env(self) -> None:
        keep = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
        os.environ.clear()
        os.environ.update(keep, HOME=self.workdir, TMPDIR=self.workdir,
                          PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        tempfile.tempdir = self.workdir
        os.chdir(self.workdir)

    def ready_message(self) -> dict[str, Any]:
        tools = {n: self.registry.spec(n).model_dump(exclude_none=True)
                 for n in self.registry.names()}
        categories = {n: self.registry.category(n) for n in self.registry.names()}
        return {"ready": True, "tools": tools, "categories": categories,
                "isolation": self.isolation, "pid": self.pid}

    # -- one call -----------------------------------------------------------------------
    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        name, arguments = request.get("name"), request.get("arguments")
        if not isinstance(name, str) or name not in self.registry:
            return _fail("unknown_tool", f"unknown tool {name!r}")
        problems = self.registry.check_arguments(name, arguments)
        if problems:
            return _fail("bad_arguments", f"{name}: " + "; ".join(problems))
        if self.config.get("fresh_state", True):
            reset_tool_state()
        started = time.perf_counter()
        reply = self._run(name, arguments)
        reply["tool_seconds"] = time.perf_counter() - started
        reply["recycle"] = reply.get("recycle", False) or not self._clean_up()
        return reply

    def _run(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        iso.set_cpu_budget(self.config["cpu_s"])
        self.guard.start_call()
        try:
            result = self.registry.get(name)(**arguments)
        except SystemExit as exc:
            return _fail("exited", f"tool called sys.exit({exc.code!r})")
        except MemoryError:
            return _fail("memory_limit", f"tool exceeded the memory limit of "
                         f"{self.config['memory_mb']} MB (MemoryError)", recycle=True)
        except BaseException as exc:  # noqa: BLE001 - the tool's failure is the answer
            return self._tool_failure(exc)
        finally:
            self.guard.end_call()
            if os.getpid() != self.pid:  # a forked child of the tool: never answer
                os._exit(0)
        return _encode(result, self.config["max_result_bytes"])

    def _tool_failure(self, exc: BaseException) -> dict[str, Any]:
        message = f"{type(exc).__name__}: {exc}"
        tb = "".join(traceback.format_exception(exc)[-4:])
        if self.guard.network_attempts or iso.is_network_error(exc):
            return _fail("network_blocked", message, traceback=tb)
        if isinstance(exc, iso.ProcessLimitExceeded) or (
                self.guard.spawned and isinstance(exc, BlockingIOError)):
            return _fail("process_limit", message, traceback=tb)
        return _fail("tool_error", message, traceback=tb)

    def _clean_up(self) -> bool:
        """Reset between calls; False when the worker should be replaced."""
        if self.guard.spawned:
            iso.kill_strays(self.unique_uid)
        try:
            os.chdir(self.workdir)
            for entry in os.scandir(self.workdir):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
        except OSError:
            return False
        # A tool that left threads running would leak work into later calls.
        return threading.active_count() <= self.threads


def _fail(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "error": message, **extra}


def _encode(result: Any, max_bytes: int) -> dict[str, Any]:
    try:
        text = json.dumps(result, allow_nan=False, ensure_ascii=False)
    except MemoryError:
        return _fail("memory_limit", "encoding the result exceeded the memory limit",
                     recycle=True)
    except (TypeError, ValueError, RecursionError) as exc:
        return _fail("unserialisable_result",
                     f"result of type {type(result).__name__} is not JSON-serialisable: {exc}")
    if len(text) > max_bytes:
        return _fail("result_too_large", f"result is {len(text)} bytes (limit {max_bytes})")
    return {"ok": True, "result_json": text}


def _send(out: IO[bytes], message: dict[str, Any]) -> None:
    payload = message.pop("result_json", None)
    line = json.dumps(message, ensure_ascii=False, default=str)
    if payload is not None:  # splice the already-encoded result in, no second encode
        line = line[:-1] + (", " if len(line) > 2 else "") + f'"result": {payload}}}'
    out.write(line.encode() + b"\n")
    out.flush()


def main() -> int:
    # Keep private copies of the pipes; the tool sees /dev/null as stdin and stderr as stdout.
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)
    try:
        worker = Worker(json.loads(channel_in.readline()))
    except BaseException as exc:  # noqa: BLE001 - report setup failures to the parent
        _send(channel_out, {"ready": False, "error": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc()})
        return 1
    _send(channel_out, worker.ready_message())
    for line in channel_in:
        request = json.loads(line)
        reply = worker.handle(request)
        reply["id"] = request.get("id")
        _send(channel_out, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
