"""A sandbox worker: ``python -m lamstudio.tools._worker``, one JSON object per line.

Protocol (stdin → worker, worker → stdout; the tool's own stdout goes to stderr and its
stdin is /dev/null, so a printing tool cannot corrupt the channel):

1. parent sends the config (modules, sys.path, limits, isolation switches);
2. worker isolates itself, imports the modules and answers
   ``{"ready": true, "tools": {name: spec}, "isolation": {...}}`` or ``{"ready": false, ...}``;
3. then for each ``{"id", "name", "arguments"}`` it answers ``{"id", "ok", "result" |
   "error_code", "error", "recycle"}``; ``recycle`` asks the parent for a fresh worker.

The worker after setup is a *template*: it never runs a tool itself. Each call runs in a
child forked from it, which closes every descriptor but its own reply pipe (and the
read-only code descriptors of ``keep_importable``), runs the tool, writes one reply line
and exits. Whatever the tool changed (builtins, module globals, ``os.environ``, the umask,
the worker's own functions) dies with the child, so a call cannot change another call's
result. After the child, every process the call left is killed (``kill_strays``).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from typing import IO, Any

from lamstudio.tools import _isolation as iso
from lamstudio.tools._decorator import ToolDefinitionError
from lamstudio.tools._registry import ToolRegistry

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
        root = os.geteuid() == 0
        uid = config.get("uid") if root else None
        mounts = iso.private_mount_namespace() if root else False
        want_tmp = config.get("private_tmp", True) and mounts
        rerouted = iso.keep_importable(iso.PRIVATE_TMP_DIRS if want_tmp else (), mounts) \
            if uid is not None or want_tmp else {}
        self.keep_fds = {int(v.rsplit("/", 1)[1]) for v in rerouted.values()}
        tmp = iso.private_tmp() if want_tmp else []
        self.workdir = tempfile.mkdtemp(prefix="lamstudio-tool-")
        if uid is not None:
            os.chown(self.workdir, uid, uid)
        self._scrub_env()
        # + 1: the process each call runs in counts against the limit too.
        limits = iso.set_limits(config["memory_mb"], config["max_procs"] + 1,
                                config["file_mb"], uid, baseline)
        dropped = iso.drop_privileges(uid) if uid is not None else False
        iso.harden(config["parent_pid"])
        self.unique_uid = dropped
        self.guard = iso.Guard(block_network=mode in ("auto", "audit_hook"),
                               max_procs=config["max_procs"])
        self.guard.install()
        self.isolation = {
            "network": [x for x in (net, "audit_hook" if mode != "netns" else None) if x],
            "uid": os.geteuid(), "dropped_privileges": dropped, "private_tmp": tmp,
            "workdir": self.workdir, "rerouted_imports": rerouted,
            "read_only_code_mounts": bool(rerouted) and mounts, "fork_per_call": True,
            **limits,
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
        started = time.perf_counter()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the call's child: never returns
            os.close(read_end)
            self._child(name, arguments, write_end)
        os.close(write_end)
        try:
            reply = self._collect(pid, read_end)
        finally:
            os.close(read_end)
            iso.kill_strays(self.unique_uid)
        reply["tool_seconds"] = time.perf_counter() - started
        reply["recycle"] = reply.get("recycle", False) or not self._clean_workdir()
        return reply

    def _child(self, name: str, arguments: dict[str, Any], out: int) -> None:
        code = 0
        try:
            iso.libc().prctl(iso.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            keep = sorted({0, 1, 2, out} | self.keep_fds)
            for low, high in zip(keep, keep[1:] + [os.sysconf("SC_OPEN_MAX")], strict=True):
                os.closerange(low + 1, high)  # the channel to the parent above all
            reply = _encoded_reply(self._run(name, arguments))
            while reply:
                reply = reply[os.write(out, reply):]
            sys.stdout.flush()  # what the tool printed, for the worker's stderr log
        except BaseException:  # noqa: BLE001 - nothing may escape into the template's loop
            code = 70
        os._exit(code)

    def _run(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        iso.set_cpu_budget(self.config["cpu_s"])
        self.guard.start_call()
        me = os.getpid()
        try:
            result = self.registry.get(name)(**arguments)
        except SystemExit as exc:
            return _fail("exited", f"tool called sys.exit({exc.code!r})")
        except MemoryError:
            return _fail("memory_limit", f"tool exceeded the memory limit of "
                         f"{self.config['memory_mb']} MB (MemoryError)")
        except BaseException as exc:  # noqa: BLE001 - the tool's failure is the answer
            return self._tool_failure(exc)
        finally:
            self.guard.end_call()
            if os.getpid() != me:  # a process the tool forked: never answer
                os._exit(0)
        return _encode(result, self.config["max_result_bytes"])

    def _collect(self, pid: int, pipe: int) -> dict[str, Any]:
        """The child's one reply line, within the time limit (the child is killed past it)."""
        deadline = time.monotonic() + self.config.get("timeout_s", 5.0)
        exited = _pidfd(pid)  # readable once the child exits; None: poll (kernel < 5.3)
        data, status = b"", None
        try:
            while status is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return _fail("timeout", f"tool ran past the "
                                 f"{self.config.get('timeout_s', 5.0):g} s time limit")
                waits = [pipe] if exited is None else [pipe, exited]
                ready = select.select(waits, [], [], remaining if exited is not None
                                       else min(remaining, 0.005))[0]
                if pipe in ready:
                    data += os.read(pipe, 1 << 16)
                done, code = os.waitpid(pid, os.WNOHANG) if exited is None or exited in \
                    ready else (0, 0)
                status = code if done else None
            data += _read_available(pipe)  # a stray may hold the pipe open: no waiting
        finally:
            if exited is not None:
                os.close(exited)
        return self._reply_of(status, data)

    def _reply_of(self, status: int, data: bytes) -> dict[str, Any]:
        if os.WIFSIGNALED(status):
            sig = signal.Signals(os.WTERMSIG(status))
            if sig == signal.SIGXCPU:
                return _fail("timeout", f"tool used more than {self.config['cpu_s']} s of "
                             "CPU time (SIGXCPU)")
            if sig == signal.SIGXFSZ:
                return _fail("crashed", "tool wrote a file past the file-size limit (SIGXFSZ)")
            return _fail("crashed", f"the tool's process died from {sig.name}")
        lines = data.split(b"\n")
        if os.WEXITSTATUS(status) != 0 or not data:
            if os.WEXITSTATUS(status) == 70 or data:
                return _fail("crashed", "the tool's process failed to send its reply")
            return _fail("exited", f"the tool ended its process (exit status "
                         f"{os.WEXITSTATUS(status)})")
        try:
            if len(lines) != 2 or lines[1]:
                raise ValueError("more than one line")
            reply = json.loads(lines[0])
            if not isinstance(reply, dict) or "ok" not in reply:
                raise ValueError("not a reply")
        except ValueError:
            return _fail("crashed", "the tool's process sent a malformed reply (the tool "
                         "wrote to its reply pipe)")
        return reply

    def _tool_failure(self, exc: BaseException) -> dict[str, Any]:
        message = f"{type(exc).__name__}: {exc}"
        tb = "".join(traceback.format_exception(exc)[-4:])
        if self.guard.network_attempts or iso.is_network_error(exc):
            return _fail("network_blocked", message, traceback=tb)
        if isinstance(exc, iso.ProcessLimitExceeded) or (
                self.guard.spawned and isinstance(exc, BlockingIOError)):
            return _fail("process_limit", message, traceback=tb)
        return _fail("tool_error", message, traceback=tb)

    def _clean_workdir(self) -> bool:
        """Empty the work directory; False when the worker should be replaced."""
        try:
            os.chdir(self.workdir)
            for entry in os.scandir(self.workdir):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
        except OSError:
            return False
        return True


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _read_available(fd: int) -> bytes:
    data = b""
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        data += chunk
    return data


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


def _encoded_reply(message: dict[str, Any]) -> bytes:
    payload = message.pop("result_json", None)
    line = json.dumps(message, ensure_ascii=False, default=str)
    if payload is not None:  # splice the already-encoded result in, no second encode
        line = line[:-1] + (", " if len(line) > 2 else "") + f'"result": {payload}}}'
    return line.encode() + b"\n"


def _send(out: IO[bytes], message: dict[str, Any]) -> None:
    out.write(_encoded_reply(message))
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
        # A tool definition error says all there is to say; anything else needs its trace.
        trace = "" if isinstance(exc, ToolDefinitionError) else traceback.format_exc()
        _send(channel_out, {"ready": False, "error": f"{type(exc).__name__}: {exc}",
                            "traceback": trace})
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
