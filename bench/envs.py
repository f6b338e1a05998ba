"""tau2-bench environments: lamstudio's re-implemented retail / airline domains against
tau2's own environments on the same replays, in the same run.

    .venv/bin/python bench/envs.py [--repeat N]

Every task's ground-truth actions are replayed on a fresh environment in each (tau2 in
``.venv-tau2``, built on first use). Timed: full-task replays (fresh environment, the calls,
the environment's own state hash) and the calls alone (steps). Prints a table and the
agreement count (final database hash per task).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from lamstudio.envs import (
    TAU2_PIN,
    EnvRunner,
    ground_truth,
    load_tasks,
    make_env,
    run_tau2_reference,
)
from lamstudio.eval import Call, ReferenceEnv

REPO = Path(__file__).resolve().parents[1]
DOMAINS = ("retail", "airline")


def ours(domain: str, jobs: list[list[dict]]) -> dict:
    make_env(f"tau2:{domain}")._state_hash()  # one-off: load db.json, digest every entity
    hashes, step_s, steps = [], 0.0, 0
    t0 = time.perf_counter()
    for calls in jobs:
        runner = EnvRunner(make_env(f"tau2:{domain}"))
        for c in calls:
            ts = time.perf_counter()
            runner.run(Call(c["name"], c["arguments"]))
            step_s += time.perf_counter() - ts
            steps += 1
        hashes.append(runner.state_hash())
    return {"hashes": hashes, "replay_s": time.perf_counter() - t0, "step_s": step_s,
            "steps": steps}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="lamstudio runs (median kept)")
    args = ap.parse_args()
    console = Console()
    venv = ReferenceEnv(REPO / ".venv-tau2", REPO / "tests/envs/tau2_reference_requirements.txt",
                        pins=(TAU2_PIN,))
    if built := venv.build(log=console.print):
        console.print(f"built .venv-tau2 in {built:.0f} s")
    jobs = {d: [ground_truth(t) for t in load_tasks(d)] for d in DOMAINS}
    console.print(f"load before: {os.getloadavg()}")
    ref = run_tau2_reference(venv, jobs, use_cache=False, parallel=False).domains
    table = Table("domain", "env", "replays", "replays/s", "steps", "steps/s", "ratio")
    for d in DOMAINS:
        runs = sorted((ours(d, jobs[d]) for _ in range(args.repeat)),
                      key=lambda r: r["replay_s"])
        mine, theirs = runs[len(runs) // 2], ref[d]
        agree = sum(a == b["hash"] for a, b in zip(mine["hashes"], theirs["results"],
                                                   strict=True))
        n = len(jobs[d])
        table.add_row(d, "tau2 (pydantic)", str(n), f"{n / theirs['replay_s']:.1f}",
                      str(theirs["steps"]), f"{theirs['steps'] / theirs['step_s']:,.0f}", "1.00×")
        step_ratio = (theirs["step_s"] / theirs["steps"]) / (mine["step_s"] / mine["steps"])
        table.add_row(d, "lamstudio", str(n), f"{n / mine['replay_s']:.1f}",
                      str(mine["steps"]), f"{mine['steps'] / mine['step_s']:,.0f}",
                      f"{theirs['replay_s'] / mine['replay_s']:.1f}× replays, "
                      f"{step_ratio:.1f}× steps")
        console.print(f"{d}: final database agrees on {agree}/{n} tasks")
    console.print(table)
    console.print(f"{platform.machine()}, {os.cpu_count()} cores, Python "
                  f"{platform.python_version()}; load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
