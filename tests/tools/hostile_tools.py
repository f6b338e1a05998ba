"""Tools that misbehave on purpose: the sandbox tests run them in real worker processes."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import time

from lamstudio.tools import tool

CATEGORY = "hostile"


@tool
def echo(value: str) -> dict:
    """Return the value unchanged (a well-behaved control).

    Args:
        value: Anything.
    """
    return {"value": value, "pid": os.getpid()}


@tool
def spin() -> int:
    """Loop forever."""
    n = 0
    while True:
        n += 1


@tool
def sleep_forever() -> None:
    """Sleep without using CPU (only the wall-clock limit can stop it)."""
    time.sleep(3600)


@tool
def hog_memory(megabytes: int = 4096) -> int:
    """Allocate a large block at once.

    Args:
        megabytes: Size of the block.
    """
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


@tool
def grow_memory() -> int:
    """Allocate in small pieces until something gives."""
    chunks = []
    while True:
        chunks.append(bytearray(8 * 1024 * 1024))


@tool
def fork_loop() -> int:
    """Fork until forking fails."""
    count = 0
    while True:
        os.fork()
        count += 1


@tool
def write_file(path: str, text: str = "x") -> str:
    """Write a file at any path.

    Args:
        path: Where to write.
        text: What to write.
    """
    with open(path, "w") as fh:
        fh.write(text)
    return os.path.abspath(path)


@tool
def file_exists(path: str) -> bool:
    """Whether a path exists as seen from the worker.

    Args:
        path: The path.
    """
    return os.path.exists(path)


@tool
def call_sys_exit(code: int = 3) -> None:
    """Call sys.exit.

    Args:
        code: The exit status.
    """
    sys.exit(code)


@tool
def call_os_exit(code: int = 7) -> None:
    """Call os._exit, ending the process without cleanup.

    Args:
        code: The exit status.
    """
    os._exit(code)


@tool
def raise_error(message: str = "bad value") -> None:
    """Raise ValueError.

    Args:
        message: The message.
    """
    raise ValueError(message)


@tool
def return_unserialisable() -> object:
    """Return an object JSON cannot encode."""
    return object()


@tool
def return_nan() -> float:
    """Return NaN, which strict JSON cannot carry."""
    return float("nan")


@tool
def open_socket(host: str = "127.0.0.1", port: int = 9) -> str:
    """Open a TCP connection.

    Args:
        host: Host to reach.
        port: Port to reach.
    """
    with socket.create_connection((host, port), timeout=1):
        return "connected"


@tool
def resolve_host(host: str = "localhost") -> str:
    """Resolve a host name.

    Args:
        host: The name.
    """
    return socket.gethostbyname(host)


@tool
def read_environment() -> dict:
    """Return the worker's environment variables."""
    return dict(os.environ)


@tool
def whoami() -> dict:
    """Report the worker's identity, working directory and limits."""
    return {"uid": os.geteuid(), "cwd": os.getcwd(), "pid": os.getpid()}


@tool
def print_noise() -> str:
    """Write to stdout and stderr before returning."""
    print("this must not corrupt the protocol")
    print("{\"id\": 0, \"ok\": true}")
    sys.stderr.write("noise on stderr\n")
    return "done"


@tool
def error_payload() -> dict:
    """Return an error object instead of raising."""
    return {"error": "city not found"}


@tool
def raw_fork_until_refused(limit: int = 64) -> dict:
    """Fork through libc (invisible to audit hooks) until the kernel refuses, then clean up.

    Args:
        limit: Stop after this many children even if the kernel allows more.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    children, refused = [], False
    for _ in range(limit):
        pid = libc.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        if pid < 0:
            refused = True
            break
        children.append(pid)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return {"children": len(children), "refused": refused}


@tool
def list_directory(path: str) -> list:
    """List a directory.

    Args:
        path: The directory.
    """
    return sorted(os.listdir(path))


@tool
def forge_reply() -> str:
    """Write a fake reply into the worker's private channel, then return normally."""
    for fd in range(3, 20):
        try:
            if os.fstat(fd).st_mode & 0o170000 == 0o010000:  # a pipe
                os.write(fd, b'{"id": 12345, "ok": true, "result": "forged"}\n')
        except OSError:
            continue
    return "real"


@tool
def write_through_open_directories(name: str) -> dict:
    """Try to create ``name`` inside every directory the process holds open.

    Args:
        name: File name to create.
    """
    opened, written = [], []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        path = f"/proc/self/fd/{fd}"
        if not os.path.isdir(path):
            continue
        opened.append(os.readlink(path))
        try:
            with open(f"{path}/{name}", "w") as fh:
                fh.write("escaped")
            written.append(os.readlink(path))
        except OSError:
            continue
    return {"open_directories": opened, "written": written}


_CALLS = []


@tool
def tamper() -> str:
    """Change interpreter state later calls depend on: ``json.dumps`` (as the worker uses it
    for every result but its own replies), builtins, the environment, module globals."""
    import builtins
    import json

    real = json.dumps

    def fake(obj, *args, **kwargs):
        keep = isinstance(obj, dict) and ("ok" in obj or "ready" in obj)
        return real(obj, *args, **kwargs) if keep else "6"

    json.dumps = fake
    builtins.round = lambda *args: 6
    os.environ["LAMSTUDIO_TAMPERED"] = "1"
    _CALLS.append(1)
    return "tampered"


@tool
def rounded(x: float) -> float:
    """Round a number (through the builtin ``round``).

    Args:
        x: The number.
    """
    return round(x)


@tool
def count_calls() -> int:
    """How many calls of this module's tools this process has seen (module state)."""
    _CALLS.append(1)
    return len(_CALLS)


@tool
def leave_raw_children(count: int = 8) -> list:
    """Fork through libc (invisible to audit hooks) and leave the children sleeping.

    Args:
        count: How many children to leave behind.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    children = []
    for _ in range(count):
        pid = libc.fork()
        if pid == 0:
            os.setsid()
            time.sleep(60)
            os._exit(0)
        if pid > 0:
            children.append(pid)
    return children


@tool
def run_true() -> int:
    """Start one short subprocess (an innocent use of a process)."""
    import subprocess

    return subprocess.run(["true"], check=False).returncode
