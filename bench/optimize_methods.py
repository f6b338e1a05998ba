"""Each optimization method against the plain agent with a real model (issue 26).

The agent model is served once by ``lamstudio serve`` (llama.cpp engine) and every method
runs through lamstudio's own commands against that OpenAI-compatible endpoint, so the same
commands run unchanged against a strong hosted model. Per suite (``env:store``,
``env:todo`` by default):

* ``reflect``   - ``eval run --trials K --reflect``: plain pass^k and success-within-k with
  reflection on the same tasks (trial 1 shared);
* ``rpo``       - ``optimize rpo`` (reward mode, batch schedule): the plain agent's validation
  reward (round 0) and the best round's;
* ``committee`` - ``eval run --committee``: members = the served model greedy, the served
  model sampled (T 0.7, seed 1) and ``--second`` (another model, local llama.cpp) greedy;
  both selectors and the oracle;
* ``rex``       - tau2 suites only: ``synth apigen-mt trajectories --explore M`` on blueprints
  made from the suite's tasks ``--rex-tasks`` (the task's user scenario as the instruction,
  its ground-truth actions and ``communicate_info`` as the blueprint's actions and
  outputs): plain play (the exploration's first rollout) vs exploring, verified
  trajectories and LLM calls. The default, retail test task 90, is one of the split's
  tasks with a single ground-truth action.

tau2 suites (``tau2:retail:test``) play the first ``--tau2-tasks`` tasks, with
``--user-model`` (default: the agent's model) as the simulated user, served by a second
``lamstudio serve`` so that agent and user
each keep their own KV prefix (one server alternating between a ~4k-token agent prompt and
the user's prompt prefills the policy again on every agent call: ~50 s a call on one core).

Each (suite, method) writes ``OUT/<suite>/<method>/`` and a ``done.json`` with its minutes
(skipped when present); ``OUT/optimize.json`` gathers the rows and a markdown table is
printed. The toy environments have three tasks each: RPO's validation split is then the
same three tasks as its training split (in-sample; the table says so).

    LAMSTUDIO_HOME=/tmp/qwen-home python bench/optimize_methods.py --out runs/optimize
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from loops import lamstudio, log, served  # noqa: E402 - bench/ is not a package

os.environ.setdefault("HF_HUB_OFFLINE", "1")
METHODS = ("reflect", "rpo", "committee", "rex")


def tau2_opts(args: argparse.Namespace, url: str, suite: str) -> list[str]:
    """What ``eval run`` gets here: one episode at a time, and for tau2 suites the task
    subset and the simulated user."""
    if not suite.startswith("tau2:"):
        return ["--concurrency", "1"]  # one served model keeps one cached prefix
    return ["--concurrency", "1",
            "--limit", str(args.tau2_tasks), "--user-model", args.user, "--user-base-url",
            args.user_url or url, "--max-steps", str(args.max_steps), "--user-style",
            args.user_style]


def m_reflect(args: argparse.Namespace, url: str, suite: str, where: Path) -> dict[str, Any]:
    lamstudio("eval", "run", "--suite", suite, "--model", args.model, "--backend", "openai",
              "--base-url", url, "--trials", str(args.trials), "--reflect",
              "--max-new-tokens", "256", *tau2_opts(args, url, suite), "-o", str(where))
    return json.loads((where / "summary.json").read_text())


def m_rpo(args: argparse.Namespace, url: str, suite: str, where: Path) -> dict[str, Any]:
    if suite.startswith("tau2:"):  # tau2:retail:test -> its first tasks, the served user
        env, split = suite.rsplit(":", 1) if suite.count(":") == 2 else (suite, "test")
        n = args.tau2_tasks
        rng = [f"{split}:0:{n}"] * 2 + ["--user-model", args.user, "--user-base-url",
                                        args.user_url or url, "--user-style", args.user_style]
    else:  # the toy environments: three tasks, validated in-sample
        env, rng = suite.split(":", 1)[1], ["0:3", "0:3"]
    lamstudio("optimize", "rpo", "--env", env, "--train-split", rng[0], "--val-split", rng[1],
              *rng[2:],
              "--mode", "reward", "--schedule", "batch", "--rounds", str(args.rounds),
              "--batch", "3", "--agent-model", args.model, "--base-url", url,
              "--api-key-env", "NO_KEY", "--concurrency", "1", "-o", str(where))
    best = json.loads((where / "best.json").read_text())
    history = [json.loads(line) for line in
               (where / "history.jsonl").read_text().splitlines() if line]
    return {"best": best, "history": history}


def m_committee(args: argparse.Namespace, url: str, suite: str, where: Path
                ) -> dict[str, Any]:
    where.mkdir(parents=True, exist_ok=True)
    yaml_text = (
        "members:\n"
        f"  - {{name: greedy, model: {args.model}, base_url: '{url}'}}\n"
        f"  - {{name: sampled, model: {args.model}, base_url: '{url}', temperature: 0.7,"
        " seed: 1}\n"
        f"  - {{name: second, model: {args.second}, engine: llamacpp}}\n"
        f"selector: {{model: {args.model}, base_url: '{url}'}}\n")
    (where / "committee.yaml").write_text(yaml_text)
    lamstudio("eval", "run", "--suite", suite, "--committee", str(where / "committee.yaml"),
              "--max-new-tokens", "256", *tau2_opts(args, url, suite), "-o", str(where / "out"))
    return json.loads((where / "out" / "summary.json").read_text())


def tau2_blueprints(suite: str, ids: list[str]) -> list[dict[str, Any]]:
    """Blueprints from these tasks of a tau2 split, in the shape ``blueprints`` writes."""
    from lamstudio import envs
    from lamstudio.eval._tau2 import scenario_text

    _, domain, *split = suite.split(":")
    by_id = {t["id"]: t for t in envs.load_tasks(domain, split[0] if split else None)}
    tasks = [by_id[i] for i in ids]
    return [{"id": f"tau2-{domain}-{t['id']}", "env": f"tau2:{domain}",
             "instruction": scenario_text(t), "actions": envs.ground_truth(t),
             "outputs": list((t.get("evaluation_criteria") or {}).get("communicate_info")
                             or [])} for t in tasks]


def m_rex(args: argparse.Namespace, url: str, suite: str, where: Path) -> dict[str, Any]:
    if not suite.startswith("tau2:"):
        return {"skipped": "REX explores APIGen-MT trajectories, which play tau2 blueprints"}
    where.mkdir(parents=True, exist_ok=True)
    bp = where / "blueprints.jsonl"
    bp.write_text("".join(json.dumps(b) + "\n" for b in tau2_blueprints(suite, args.rex_tasks)))
    lamstudio("synth", "apigen-mt", "trajectories", "--blueprints", str(bp), "--agent-model",
              args.model, "--agent-base-url", url, "--user-model", args.user,
              "--user-style", args.user_style,
              "--user-base-url", args.user_url or url, "--api-key-env", "NO_KEY", "--explore",
              str(args.explore), "--explore-budget", str(args.explore_budget), "--max-turns",
              str(args.max_turns), "-o", str(where / "out"))
    return json.loads((where / "out" / "yields.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/optimize"))
    p.add_argument("--model", default="qwen2.5-coder-0.5b")
    p.add_argument("--user-model", dest="user", default=None,
                   help="tau2: the simulated user's model (default: --model)")
    p.add_argument("--user-style", default="roles", choices=("roles", "transcript"),
                   help="tau2: how the simulated user sees the conversation")
    p.add_argument("--second", default="smollm2-135m", help="the committee's other model")
    p.add_argument("--suites", default="env:store,env:todo", type=lambda s: s.split(","))
    p.add_argument("--methods", default=",".join(METHODS), type=lambda s: s.split(","))
    p.add_argument("--trials", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tau2-tasks", type=int, default=1, help="tau2 suites: the first N tasks")
    p.add_argument("--max-steps", type=int, default=12, help="tau2: agent calls per turn")
    p.add_argument("--max-turns", type=int, default=8, help="rex: user turns per play")
    p.add_argument("--rex-tasks", default="90", type=lambda s: s.split(","),
                   help="rex: tau2 task ids to make blueprints of")
    p.add_argument("--explore", type=int, default=2, help="rex: candidates per step")
    p.add_argument("--explore-budget", type=int, default=40, help="rex: LLM calls per play")
    args = p.parse_args()
    args.user = args.user or args.model
    jobs = [(s, m) for s in args.suites for m in args.methods
            if not (args.out / s.replace(":", "-") / m / "done.json").is_file()]
    if jobs:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(served(args.model, args.threads))
            args.user_url = None
            if any(s.startswith("tau2:") for s, _ in jobs):
                args.user_url = stack.enter_context(served(args.user, args.threads))
            for suite, method in jobs:
                where = args.out / suite.replace(":", "-") / method
                t0 = time.perf_counter()
                try:
                    res = globals()[f"m_{method}"](args, url, suite, where)
                except Exception as exc:  # noqa: BLE001 - a failed method is its row
                    res = {"error": f"{type(exc).__name__}: {exc}"}
                res["minutes"] = round((time.perf_counter() - t0) / 60, 2)
                where.mkdir(parents=True, exist_ok=True)
                (where / "done.json").write_text(json.dumps(res, indent=2))
                log(f"{suite} {method}: {res['minutes']} min")
    rows = {f"{s}/{m}": json.loads((args.out / s.replace(":", "-") / m / "done.json")
                                   .read_text())
            for s in args.suites for m in args.methods
            if (args.out / s.replace(":", "-") / m / "done.json").is_file()}
    (args.out / "optimize.json").write_text(json.dumps(rows, indent=2))
    print(json.dumps(rows, indent=1)[:8000])


if __name__ == "__main__":
    main()
