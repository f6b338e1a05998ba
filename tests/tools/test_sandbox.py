"""The sandbox runs real worker processes: hostile tools fail with a reason, and the pool
keeps answering afterwards. Claims that depend on privileges are checked against what
``Sandbox.isolation`` reports the workers achieved."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from lamstudio.tools import CallResult, Sandbox, SandboxError

HOSTILE = str(Path(__file__).with_name("hostile_tools.py"))
SECRET = "LAMSTUDIO_TEST_API_KEY"


@pytest.fixture(scope="module")
def box():
    os.environ[SECRET] = "do-not-leak"
    try:
        with Sandbox([HOSTILE], workers=2, timeout_s=1.5, cpu_s=5, memory_mb=128,
                     max_procs=8) as sandbox:
            yield sandbox
    finally:
        os.environ.pop(SECRET, None)


def still_answers(box: Sandbox) -> None:
    for _ in range(box.workers):  # every worker of the pool, not just one
        result = box.call("echo", {"value": "ok"})
        assert result.ok and result.result["value"] == "ok", result


def test_a_normal_call_returns_the_result(box):
    result = box.call("echo", {"value": "hello"})
    assert isinstance(result, CallResult)
    assert result.ok and result.result["value"] == "hello"
    assert result.error_code is None and result.seconds > 0


@pytest.mark.parametrize("name, code", [
    ("spin", "timeout"),
    ("sleep_forever", "timeout"),
    ("hog_memory", "memory_limit"),
    ("grow_memory", "memory_limit"),
    ("call_sys_exit", "exited"),
    ("call_os_exit", "exited"),
    ("raise_error", "tool_error"),
    ("return_unserialisable", "unserialisable_result"),
    ("return_nan", "unserialisable_result"),
    ("open_socket", "network_blocked"),
    ("resolve_host", "network_blocked"),
])
def test_hostile_tool_fails_with_its_reason_and_the_pool_recovers(box, name, code):
    started = time.perf_counter()
    result = box.call(name, {})
    assert not result.ok
    assert result.error_code == code, result
    assert result.error
    assert time.perf_counter() - started < 6.0
    still_answers(box)


def test_tool_error_names_the_exception(box):
    result = box.call("raise_error", {"message": "negative radius"})
    assert result.error == "ValueError: negative radius"
    assert "in raise_error" in (result.traceback or "")
    assert box.call("echo", {"value": object()}).error_code == "bad_arguments"


def test_fork_loop_is_stopped_and_its_children_are_gone(box):
    result = box.call("fork_loop", {})
    assert result.error_code == "process_limit", result
    # No process is left in any worker's process group.
    for worker_pid in box.worker_pids():
        assert _group_members(worker_pid) == [worker_pid]
    still_answers(box)


def test_rlimit_nproc_holds_even_when_the_audit_hook_is_bypassed(box):
    if not box.isolation["dropped_privileges"] and os.geteuid() == 0:
        pytest.skip("root without a dropped uid is exempt from RLIMIT_NPROC")
    result = box.call("raw_fork_until_refused", {"limit": 64})
    assert result.ok, result
    assert result.result["children"] <= 8
    assert result.result["refused"] is True
    still_answers(box)


def test_no_network_even_without_the_audit_hook():
    try:
        sandbox = Sandbox([HOSTILE], workers=1, network="netns")
        sandbox.start()
    except SandboxError as exc:
        pytest.skip(f"no network namespace here: {exc}")
    with sandbox:
        assert sandbox.isolation["network"] == ["netns"] or \
            sandbox.isolation["network"] == ["userns+netns"]
        result = sandbox.call("open_socket", {})
        assert result.error_code == "network_blocked", result
        assert "unreachable" in result.error.lower()


def test_no_network_with_the_audit_hook_alone():
    with Sandbox([HOSTILE], workers=1, network="audit_hook") as sandbox:
        assert sandbox.isolation["network"] == ["audit_hook"]
        for name in ("open_socket", "resolve_host"):
            result = sandbox.call(name, {})
            assert result.error_code == "network_blocked", result
            assert "NetworkBlocked" in result.error


def test_cpu_limit_ends_a_busy_tool_before_the_wall_clock_limit():
    with Sandbox([HOSTILE], workers=1, timeout_s=30, cpu_s=1) as sandbox:
        started = time.perf_counter()
        result = sandbox.call("spin", {})
        assert result.error_code == "timeout" and "CPU" in result.error, result
        assert time.perf_counter() - started < 25  # CPU seconds come slower on a busy host
        assert sandbox.call("echo", {"value": "a"}).ok


def test_secrets_do_not_reach_the_worker(box):
    env = box.call("read_environment", {}).result
    assert SECRET not in env
    assert not any(k.endswith(("_KEY", "_TOKEN", "_SECRET")) for k in env)
    assert env["HOME"] == env["TMPDIR"]


def test_each_call_starts_in_an_empty_private_directory(box):
    first = box.call("write_file", {"path": "scratch.txt"})
    assert first.ok
    assert Path(first.result).parent.name.startswith("lamstudio-tool-")
    for _ in range(box.workers):
        assert box.call("file_exists", {"path": "scratch.txt"}).result is False


def test_writing_into_the_repository_is_refused_when_privileges_are_dropped(box):
    if not box.isolation["dropped_privileges"]:
        pytest.skip("not enforced: the worker runs as the calling user (not root)")
    target = Path(__file__).with_name(f"_probe_{uuid.uuid4().hex}.txt")
    result = box.call("write_file", {"path": str(target)})
    assert result.error_code == "tool_error"
    # PermissionError; FileNotFoundError when the checkout itself lies under a private /tmp.
    assert result.error.startswith(("PermissionError", "FileNotFoundError")), result.error
    assert not target.exists()


def test_writes_to_tmp_stay_inside_the_worker_when_tmp_is_private(box):
    if "/tmp" not in box.isolation["private_tmp"]:
        pytest.skip("not enforced: /tmp is shared (needs root)")
    target = f"/tmp/lamstudio-probe-{uuid.uuid4().hex}"
    assert box.call("write_file", {"path": target}).ok
    assert not os.path.exists(target)


def test_reading_root_only_files_is_refused_when_privileges_are_dropped(box):
    if not box.isolation["dropped_privileges"]:
        pytest.skip("not enforced: the worker runs as the calling user (not root)")
    secret = Path("/root")
    if not secret.is_dir() or secret.stat().st_mode & 0o005:
        pytest.skip("no private directory to probe")
    result = box.call("list_directory", {"path": str(secret)})
    assert result.error_code == "tool_error" and "PermissionError" in result.error


def test_printing_does_not_corrupt_the_channel(box):
    result = box.call("print_noise", {})
    assert result.ok and result.result == "done"
    still_answers(box)


def test_a_forged_reply_is_caught_and_the_worker_replaced(box):
    result = box.call("forge_reply", {})
    assert result.result != "forged"
    assert result.error_code == "crashed" and "malformed reply" in result.error
    still_answers(box)


def test_error_payload_is_ok_but_flagged(box):
    result = box.call("error_payload", {})
    assert result.ok and result.is_error_payload
    assert not box.call("echo", {"value": "x"}).is_error_payload


def test_unknown_tool_and_bad_arguments(box):
    assert box.call("no_such_tool", {}).error_code == "unknown_tool"
    bad = box.call("echo", {"value": 3})
    assert bad.error_code == "bad_arguments" and "'value'" in bad.error
    assert box.call("echo", {}).error_code == "bad_arguments"
    assert box.call("echo", {"value": "a", "extra": 1}).error_code == "bad_arguments"


def test_map_keeps_order_across_workers_and_failures(box):
    calls = [("echo", {"value": str(i)}) if i % 3 else ("raise_error", {"message": str(i)})
             for i in range(9)]
    calls.append(("spin", {}))
    results = box.map(calls)
    assert len(results) == len(calls)
    for i, result in enumerate(results[:9]):
        if i % 3:
            assert result.result["value"] == str(i)
        else:
            assert result.error == f"ValueError: {i}"
    assert results[-1].error_code == "timeout"
    assert {r.result["pid"] for r in box.map([("echo", {"value": "p"})] * 6)} != set()


def test_recycle_every_call_gives_a_fresh_process_each_time():
    with Sandbox([HOSTILE], workers=1, recycle_every=1) as sandbox:
        pids = set()
        for _ in range(2):
            pids |= set(sandbox.worker_pids())
            assert sandbox.call("echo", {"value": "x"}).ok
        assert len(pids) == 2


def test_a_module_that_fails_to_import_is_a_clear_setup_error(tmp_path):
    broken = tmp_path / "broken_tools.py"
    broken.write_text("raise RuntimeError('cannot load me')\n")
    with pytest.raises(SandboxError, match="cannot load me"):
        with Sandbox([str(broken)], workers=1):
            pass


def test_builtin_library_runs_in_the_default_sandbox():
    with Sandbox(workers=1) as sandbox:
        assert len(sandbox.names()) >= 40
        result = sandbox.call("is_prime", {"n": 97})
        assert result.ok and result.result["is_prime"] is True


def _group_members(pgid: int) -> list[int]:
    members = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.getpgid(int(pid)) == pgid:
                members.append(int(pid))
        except OSError:
            continue
    return members


def test_a_tool_cannot_write_through_the_workers_open_descriptors(tmp_path, monkeypatch):
    """The worker once kept descriptors on the host's /tmp and on the tools' folder, and
    ``open('/proc/self/fd/5/NAME', 'w')`` landed in the host's /tmp."""
    shared = tmp_path / "shared_tools"  # a tools folder on sys.path that others may write to
    shared.mkdir()
    shared.chmod(0o777)
    tools = shared / "hostile_copy.py"
    tools.write_text(Path(HOSTILE).read_text())
    monkeypatch.syspath_prepend(str(shared))
    name = f"lamstudio-escape-{uuid.uuid4().hex}"
    with Sandbox([str(tools)], workers=1) as sandbox:
        result = sandbox.call("write_through_open_directories", {"name": name})
        assert result.ok, result
        assert result.result["written"] == []
        # Only the code descriptors that keep imports working stay open (read-only views).
        kept = set(sandbox.isolation["rerouted_imports"])
        assert set(result.result["open_directories"]) <= kept
        assert "/tmp" not in result.result["open_directories"]
    for folder in {tempfile.gettempdir(), "/tmp", str(shared), str(Path(HOSTILE).parent)}:
        assert not os.path.exists(os.path.join(folder, name)), folder


def test_a_call_cannot_change_a_later_calls_result():
    """A pooled worker once let a tool that replaced ``json.dumps`` answer for later calls."""
    with Sandbox([HOSTILE], workers=1) as sandbox:
        assert sandbox.call("count_calls", {}).result == 1
        assert sandbox.call("tamper", {}).ok
        echo = sandbox.call("echo", {"value": "ok"})
        assert echo.ok and echo.result["value"] == "ok", echo
        assert sandbox.call("rounded", {"x": 2.4}).result == 2
        assert "LAMSTUDIO_TAMPERED" not in sandbox.call("read_environment", {}).result
        assert sandbox.call("count_calls", {}).result == 1  # module globals start over
        assert sandbox.restarts == 0  # the same worker served every call


def test_children_forked_through_ctypes_do_not_outlive_the_call():
    """Children a tool forked past the audit hook once held the process limit, and the next
    innocent call failed with ``process_limit``."""
    with Sandbox([HOSTILE], workers=1, max_procs=8) as sandbox:
        left = sandbox.call("leave_raw_children", {"count": 8})
        assert left.ok and len(left.result) >= 1, left
        innocent = sandbox.call("run_true", {})
        assert innocent.ok and innocent.result == 0, innocent
        for pid in left.result:
            assert not _alive(pid), pid
        assert sandbox.restarts == 0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
