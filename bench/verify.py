"""Benchmark the verify stage.

1. Format check throughput (rows/s) on N generated rows, next to the floor of reading the
   same file with ``json.loads`` in the same run: the check alone (records already
   validated), and ``verify --stages format`` end to end (read, validate, check, write
   kept/rejects) with 1 and 2 worker processes.
2. Execution throughput (calls/s) of a cheap built-in tool: the ``Sandbox`` pool versus a
   fresh process per call (the same sandbox with ``recycle_every=1``, same call).

    .venv/bin/python bench/verify.py [--rows 200000] [--calls 2000] [--no-append]

Targets: format check >= 20k rows/s per core; pooled execution >= 20x a process per call;
end to end >= 25% of the floor with one worker, two workers >= 1.6x one (idle 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lamstudio.schema import validate_record  # noqa: E402
from lamstudio.verify import FormatChecker, VerifyConfig, verify  # noqa: E402

TYPES = [{"type": "string"}, {"type": "integer", "minimum": 0}, {"type": "number"},
         {"type": "boolean"}, {"type": "string", "enum": ["a", "b", "c"]},
         {"type": "array", "items": {"type": "string"}}]
VALUES = ["Paris", 3, 2.5, True, "b", ["x", "y"]]


def make_tools(n: int, rng: random.Random) -> list[dict]:
    tools = []
    for i in range(n):
        k = rng.randint(1, 4)
        kinds = rng.sample(range(len(TYPES)), k)
        props = {f"p{j}_{kind}": TYPES[kind] for j, kind in enumerate(kinds)}
        tools.append({"type": "function", "function": {
            "name": f"tool_{i}", "description": f"Tool number {i}.",
            "parameters": {"type": "object", "properties": props,
                           "required": list(props)[:1]}}})
    return tools


def make_row(i: int, tools: list[dict], rng: random.Random) -> dict:
    offered = rng.sample(tools, rng.randint(1, 4))
    calls = []
    for k, t in enumerate(rng.sample(offered, rng.randint(1, min(2, len(offered))))):
        props = t["function"]["parameters"]["properties"]
        args = {name: VALUES[int(name.rsplit("_", 1)[1])] for name in props}
        if rng.random() < 0.05:  # some failures, so the reject path is exercised too
            args[next(iter(props))] = {"wrong": "type"}
        calls.append({"id": f"c{k}", "type": "function",
                      "function": {"name": t["function"]["name"], "arguments": args}})
    msgs = [{"role": "user", "content": f"Please do task number {i} with the tools."},
            {"role": "assistant", "content": None, "tool_calls": calls}]
    msgs += [{"role": "tool", "tool_call_id": c["id"], "content": '{"ok": true}'} for c in calls]
    msgs.append({"role": "assistant", "content": "Done."})
    return {"id": f"b{i}", "source": "bench", "tools": offered, "messages": msgs,
            "meta": {"category": "simple"}}


def write_rows(path: Path, n: int) -> None:
    rng = random.Random(0)
    tools = make_tools(40, rng)
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps(make_row(i, tools, rng)) + "\n")


def json_floor(data: Path, rows: int) -> float:
    t0 = time.perf_counter()
    with open(data, "rb") as fh:
        for line in fh:
            json.loads(line)
    return rows / (time.perf_counter() - t0)


def bench_format(rows: int, tmp: Path) -> dict:
    """Each rate is measured next to a json.loads floor of its own (the machine is shared
    and its load drifts), and ratios use that adjacent floor."""
    data = tmp / "rows.jsonl"
    write_rows(data, rows)
    sample = min(rows, 20_000)  # check alone: records validated beforehand, not timed
    with open(data, "rb") as fh:
        records = [validate_record(json.loads(next(fh))).record for _ in range(sample)]
    checker = FormatChecker()
    for t in records[:2000]:  # compile the distinct schemas first (a one-off cost)
        checker.check(t)
    checks, floors = [], []
    for _ in range(3):
        floors.append(json_floor(data, rows))
        t0 = time.perf_counter()
        for t in records:
            checker.check(t)
        checks.append(sample / (time.perf_counter() - t0))
    del records
    out = {"rows": rows, "floor": statistics.median(floors),
           "check_only": statistics.median(checks),
           "check_ratio": statistics.median(c / f for c, f in zip(checks, floors, strict=True)),
           "e2e": {}}
    out["load_before"] = os.getloadavg()[0]
    for workers in (1, 2):
        floor = json_floor(data, rows)
        cfg = VerifyConfig(stages=("format",), workers=workers, chunk_size=5000)
        t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
        res = verify([data], tmp / f"kept{workers}.jsonl", config=cfg)
        seconds = time.perf_counter() - t0
        rate = rows / seconds
        # CPU time (a load-independent view): this process's (the whole run with one
        # worker, the main process's share with two) and the worker processes'.
        cpu_us = (time.process_time() - c0) / rows * 1e6
        kids_us = (_children_cpu() - k0) / rows * 1e6
        out["e2e"][workers] = (rate, rate / floor, cpu_us, kids_us)
        assert res.tally.total.read == rows and res.tally.balanced
        out["kept"], out["rejected"] = res.tally.total.kept, res.tally.total.rejected
    out["floor_cpu_us"] = _floor_cpu_us(data, rows)
    out["load_after"] = os.getloadavg()[0]
    return out


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def cpu_projection(fmt: dict) -> tuple[float, float]:
    """(one worker's CPU ratio to the floor, two workers / one projected for two idle
    cores: the busier of the main process alone and all processes' CPU shared by two)."""
    one, two = fmt["e2e"][1], fmt["e2e"][2]
    two_wall = max(two[2], (two[2] + two[3]) / 2)
    return fmt["floor_cpu_us"] / one[2], one[2] / two_wall


def _floor_cpu_us(data: Path, rows: int) -> float:
    c0 = time.process_time()
    with open(data, "rb") as fh:
        for line in fh:
            json.loads(line)
    return (time.process_time() - c0) / rows * 1e6


def bench_execution(calls: int) -> dict:
    from lamstudio.tools import Sandbox

    call = ("is_prime", {"n": 1_000_003})
    out = {}
    for label, workers, n, recycle in (("pool, 1 worker", 1, calls, None),
                                       ("pool, 2 workers", 2, calls, None),
                                       ("process per call", 1, max(10, calls // 100), 1)):
        with Sandbox(workers=workers, recycle_every=recycle) as box:
            assert box.call(*call).ok  # warm (and for the per-call case: one spawn)
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                results = box.map([call] * n)
                times.append(time.perf_counter() - t0)
                assert all(r.ok for r in results)
        out[label] = n / statistics.median(times)
    return out


def report(fmt: dict, ex: dict) -> str:
    floor = fmt["floor"]
    per_call = ex["process per call"]
    lines = [
        f"\n## verify: format and execution check throughput ({date.today()})\n",
        f"Machine: {os.cpu_count()}-core {platform.machine()} CPU, Python "
        f"{platform.python_version()}, shared with other engineers (noisy). "
        "`bench/verify.py`; baseline for the format check: reading the same JSONL file with "
        "`json.loads` in the same run; for execution: the same sandbox replacing its worker "
        "after every call (a fresh process per call, `recycle_every=1`).\n",
        f"Format check, {fmt['rows']:,} generated rows (1-4 tools of 40 schemas, 1-2 calls, "
        f"5% bad arguments; kept {fmt['kept']:,}, rejected {fmt['rejected']:,}):\n",
        "| what | rows/s | vs json.loads (adjacent run) |", "| --- | ---: | ---: |",
        f"| `json.loads` of every line (floor, median of 3) | {floor:,.0f} | 1.00× |",
        f"| format check alone (validated records, schemas compiled, 1 core, median of 3) | "
        f"{fmt['check_only']:,.0f} | {fmt['check_ratio']:.2f}× |",
    ]
    for w, (rate, ratio, _, _) in fmt["e2e"].items():
        lines.append(f"| `verify --stages format --workers {w}` end to end (load, validate, "
                     f"check, write) | {rate:,.0f} | {ratio:.2f}× |")
    one, two = fmt["e2e"][1], fmt["e2e"][2]
    cpu_ratio, projected = cpu_projection(fmt)
    lines += ["", f"Load average {fmt['load_before']:.1f} before, {fmt['load_after']:.1f} "
              f"after the end-to-end runs. CPU time: `json.loads` {fmt['floor_cpu_us']:.1f} "
              f"µs/row; verify, one worker, {one[2]:.1f} µs/row (CPU ratio "
              f"{cpu_ratio:.2f}×); with two workers the main process spends {two[2]:.1f} "
              f"µs/row and the workers {two[3]:.1f} µs/row together (two idle cores would "
              f"run {projected:.2f}× one worker). Two workers / one (wall): "
              f"{two[0] / one[0]:.2f}×."]
    lines += ["", "Execution of `is_prime(1000003)` in the sandbox (median of 3):\n",
              "| mode | calls/s | vs process per call |", "| --- | ---: | ---: |"]
    for label, rate in ex.items():
        lines.append(f"| {label} | {rate:,.1f} | {rate / per_call:.1f}× |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--no-append", action="store_true", help="do not touch bench/RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fmt = bench_format(args.rows, Path(tmp))
    ex = bench_execution(args.calls)
    text = report(fmt, ex)
    print(text)
    one, two = fmt["e2e"][1], fmt["e2e"][2]
    print(f"targets: end to end, one worker, {one[1]:.2f}x the floor (>= 0.25: "
          f"{'met' if one[1] >= 0.25 else 'NOT met'}); two workers {two[0] / one[0]:.2f}x one "
          f"(>= 1.6 on an idle 2-core machine: {'met' if two[0] / one[0] >= 1.6 else 'NOT met'})")
    cpu_ratio, projected = cpu_projection(fmt)
    print(f"by CPU time: one worker {cpu_ratio:.2f}x the floor; two workers projected "
          f"{projected:.2f}x one on two idle cores")
    speedup = ex["pool, 1 worker"] / ex["process per call"]
    print(f"targets: check alone {fmt['check_only']:,.0f} rows/s (>= 20,000 per core: "
          f"{'met' if fmt['check_only'] >= 20_000 else 'NOT met'}); pooled execution "
          f"{speedup:.1f}x a process per call (>= 20x: {'met' if speedup >= 20 else 'NOT met'})")
    if not args.no_append:
        results = ROOT / "bench" / "RESULTS.md"
        current = results.read_text() if results.exists() else "# Benchmark results\n"
        results.write_text(current.rstrip("\n") + "\n" + text)


if __name__ == "__main__":
    main()
