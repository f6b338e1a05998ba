"""The operating-system side of a sandbox worker: namespaces, rlimits, privileges, audit hook.

Every function here runs *inside* the worker process and reports what it achieved, so the
sandbox can state its guarantees honestly instead of assuming them (see ``_sandbox``).
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import math
import os
import resource
import signal
import socket
import stat
import sys
import time
from collections.abc import Iterable
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND = 0x1, 0x2, 0x4, 0x20, 0x1000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
PRIVATE_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")

_libc: Any = None


class NetworkBlocked(PermissionError):
    """Raised by the audit hook when a sandboxed tool touches the network."""


class ProcessLimitExceeded(PermissionError):
    """Raised by the audit hook when a sandboxed tool starts too many processes."""


def libc() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _unshare(flags: int) -> bool:
    return libc().unshare(flags) == 0


def isolate_network() -> str | None:
    """Move into an empty network namespace (only a downed loopback). Returns how, or None.

    As root a plain ``CLONE_NEWNET`` works; otherwise a user namespace may grant it.
    """
    if _unshare(CLONE_NEWNET):
        return "netns"
    if _unshare(CLONE_NEWUSER | CLONE_NEWNET):
        return "userns+netns"
    return None


def private_mount_namespace() -> bool:
    """Enter a mount namespace whose mounts never propagate back to the host (root only)."""
    if os.geteuid() != 0 or not _unshare(CLONE_NEWNS):
        return False
    # Without this, mounts would propagate back to the host's namespace.
    return libc().mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == 0


def private_tmp() -> list[str]:
    """Mount a fresh tmpfs over /tmp, /var/tmp and /dev/shm (inside the namespace of
    :func:`private_mount_namespace`). Call :func:`keep_importable` first: code under those
    directories would vanish from view. Returns the directories mounted.
    """
    targets = [d for d in PRIVATE_TMP_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    done = []
    for d in targets:
        if libc().mount(b"tmpfs", d.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                        b"size=64m,mode=1777") == 0:
            done.append(d)
    return done


def _read_only_view(path: str) -> bool:
    """Bind ``path`` onto itself read-only (in the private mount namespace)."""
    mount, target = libc().mount, path.encode()
    if mount(target, target, None, MS_BIND, None) != 0:
        return False
    return mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None) == 0


def _world_readable(path: str) -> bool:
    """Whether any uid could list ``path`` (every ancestor searchable by others)."""
    try:
        if not os.stat(path).st_mode & stat.S_IROTH:
            return False
        while True:
            if not os.stat(path).st_mode & stat.S_IXOTH:
                return False
            parent = os.path.dirname(path)
            if parent == path:
                return True
            path = parent
    except OSError:
        return True  # nothing to keep reachable


def keep_importable(hidden_dirs: Iterable[str], read_only: bool) -> dict[str, str]:
    """Keep code importable after the worker drops to a stranger uid or covers /tmp.

    Python imports lazily (``encodings.idna`` on the first DNS call, a ``lib-dynload``
    extension, a tool's function-level import). The interpreter may live under a directory
    only root can enter (``/root/.pyenv``) or under a soon-covered /tmp. An open directory
    descriptor reaches it anyway: ``/proc/self/fd/N`` resolves without walking the
    ancestors. Each affected ``sys.path`` entry and package ``__path__`` is re-pointed
    there. Returns ``{original: replacement}``.

    A descriptor is also a way *out*: ``open('/proc/self/fd/N/x', 'w')`` writes into the
    directory it holds. So each one is an ``O_PATH`` descriptor on a read-only bind mount of
    the directory (``read_only``: the caller entered a private mount namespace); without
    mounts, a directory that others may write to is not kept (imports from it then fail).
    """
    hidden = [os.path.realpath(d) + os.sep for d in hidden_dirs]

    def needs(path: str) -> bool:
        real = os.path.realpath(path) + os.sep
        return os.path.isdir(path) and (any(real.startswith(h) for h in hidden)
                                        or not _world_readable(path))

    roots: dict[str, str] = {}

    def keep(path: str) -> str | None:
        if read_only:
            if not _read_only_view(path):
                return None
        elif os.stat(path).st_mode & stat.S_IWOTH:
            return None
        roots[path] = f"/proc/self/fd/{os.open(path, _PATH_FLAGS)}"
        return roots[path]

    for entry in [p for p in sys.path if p and os.path.isabs(p)]:
        if entry not in roots and needs(entry):
            keep(entry)

    def rewrite(path: str) -> str:
        for root in sorted(roots, key=len, reverse=True):
            if path == root or path.startswith(root + os.sep):
                return roots[root] + path[len(root):]
        return (keep(path) or path) if needs(path) else path

    sys.path[:] = [rewrite(p) if p and os.path.isabs(p) else p for p in sys.path]
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if isinstance(paths, list):
            paths[:] = [rewrite(p) for p in paths]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    return roots


_PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


def vm_size_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def count_tasks(uid: int) -> int:
    """Threads + processes owned by ``uid`` (what RLIMIT_NPROC counts)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                total += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return total


def set_limits(memory_mb: int, max_procs: int, file_mb: int, drop_to: int | None,
               shared_uid_tasks: int = 0) -> dict:
    """Apply rlimits; memory is counted on top of what the imported tool modules use."""
    baseline = vm_size_bytes()
    limit_as = baseline + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20, file_mb << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # NPROC counts every task of the (real) user: after dropping to a fresh uid that is
    # only this worker; otherwise the user's current count is the baseline.
    own = len(os.listdir("/proc/self/task"))
    base = own if drop_to is not None else max(shared_uid_tasks, own)
    resource.setrlimit(resource.RLIMIT_NPROC, (base + max_procs, base + max_procs))
    return {"memory_bytes": limit_as, "baseline_bytes": baseline, "nproc": base + max_procs}


def set_cpu_budget(seconds: float) -> None:
    """Soft RLIMIT_CPU = CPU used so far + ``seconds`` (the limit is per process lifetime)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = math.ceil(used + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def drop_privileges(uid: int) -> bool:
    """Become ``uid``/``gid`` with no supplementary groups (root only)."""
    if os.geteuid() != 0:
        return False
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    return os.geteuid() == uid


def harden(parent_pid: int) -> None:
    """No privilege gain through setuid binaries; die with the parent."""
    lib = libc()
    lib.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    lib.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # Orphaned grandchildren come back to the worker, which reaps them after the call.
    lib.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


class Guard:
    """An audit hook that blocks network access and caps process creation per call.

    Audit hooks cover code that goes through the interpreter's own socket/os functions;
    C extensions and ctypes can bypass them, which is why the network namespace is the
    real barrier when it is available and this hook is the fallback.
    """

    NET_EVENTS = frozenset({
        "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
        "socket.gethostbyaddr", "socket.getnameinfo", "socket.sendto", "socket.sendmsg",
    })
    PROC_EVENTS = frozenset({
        "os.fork", "os.forkpty", "os.posix_spawn", "os.system", "subprocess.Popen",
        "os.exec", "os.spawn", "pty.spawn",
    })

    def __init__(self, block_network: bool, max_procs: int) -> None:
        self.block_network = block_network
        self.max_procs = max_procs
        self.spawned = 0
        self.network_attempts = 0
        self.active = False

    def install(self) -> None:
        sys.addaudithook(self._hook)
        os.register_at_fork(after_in_child=self._in_child)

    def start_call(self) -> None:
        self.spawned = 0
        self.network_attempts = 0
        self.active = True

    def end_call(self) -> None:
        self.active = False

    def _in_child(self) -> None:
        # A forked child may not fork again: bounds a fork loop at max_procs processes.
        self.spawned = self.max_procs

    def _hook(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        if event == "socket.__new__":
            family = args[1] if len(args) > 1 else None
            if self.block_network and family not in (socket.AF_UNIX, -1):
                self.network_attempts += 1
                raise NetworkBlocked("network access is disabled in the tool sandbox")
        elif event in self.NET_EVENTS:
            self.network_attempts += 1
            if self.block_network:
                raise NetworkBlocked(f"network access is disabled in the tool sandbox ({event})")
        elif event in self.PROC_EVENTS:
            self.spawned += 1
            if self.spawned > self.max_procs:
                raise ProcessLimitExceeded(
                    f"tool started more than {self.max_procs} processes ({event})")


def is_network_error(exc: BaseException) -> bool:
    """An error that means "no network here" (hook or empty namespace), also when wrapped."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (NetworkBlocked, socket.gaierror)):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH,
                                                      errno.ENETDOWN, errno.EADDRNOTAVAIL):
            return True
        reason = getattr(exc, "reason", None)  # urllib.error.URLError wraps the cause
        exc = reason if isinstance(reason, BaseException) else (exc.__cause__ or exc.__context__)
    return False


def kill_strays(unique_uid: bool) -> int:
    """Kill every process a tool left behind; returns how many were signalled.

    With a private uid, ``kill(-1)`` reaches every process of that uid at once (also ones
    that called ``setsid``). In every case the worker is a child subreaper, so orphans of
    the call (whatever their group or session) become its children: those are killed and
    reaped until none is left, grandchildren included as they are re-parented.
    """
    killed = 0
    if unique_uid:
        try:
            os.kill(-1, signal.SIGKILL)  # Linux spares the caller
        except ProcessLookupError:
            pass
    for _ in range(64):
        children = _children()
        if not children:
            break
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return killed


def _children() -> list[int]:
    """This process's children (zombies included), from ``/proc``."""
    me, found = os.getpid(), []
    try:
        for tid in os.listdir(f"/proc/{me}/task"):
            with open(f"/proc/{me}/task/{tid}/children") as fh:
                found += [int(p) for p in fh.read().split()]
        return found
    except OSError:  # a kernel without CONFIG_PROC_CHILDREN: read every parent pid
        pass
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if int(fh.read().rsplit(")", 1)[1].split()[1]) == me:
                    found.append(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    return found


def reap(wait_s: float = 0.5) -> None:
    """Collect exited children (zombies still count against RLIMIT_NPROC)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.002)
