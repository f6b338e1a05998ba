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
  both selectors and the oracle.

Each (suite, method) writes ``OUT/<suite>/<method>/`` and a ``done.json`` with its minutes
(skipped when present); ``OUT/optimize.json`` gathers the rows and a markdown table is
printed. The toy environments have three tasks each: RPO's validation split is then the
same three tasks as its training split (in-sample; the table says so).

    LAMSTUDIO_HOME=/tmp/qwen-home python bench/optimize_methods.py --out runs/optimize
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from loops import lamstudio, log, served  # noqa: E402 - bench/ is not a package

os.environ.setdefault("HF_HUB_OFFLINE", "1")
METHODS = ("reflect", "rpo", "committee")


def m_reflect(args: argparse.Namespace, url: str, suite: str, where: Path) -> dict[str, Any]:
    lamstudio("eval", "run", "--suite", suite, "--model", args.model, "--backend", "openai",
              "--base-url", url, "--trials", str(args.trials), "--reflect",
              "--max-new-tokens", "256", "-o", str(where))
    return json.loads((where / "summary.json").read_text())


def m_rpo(args: argparse.Namespace, url: str, suite: str, where: Path) -> dict[str, Any]:
    env = suite.split(":", 1)[1]
    lamstudio("optimize", "rpo", "--env", env, "--train-split", "0:3", "--val-split", "0:3",
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
              "--max-new-tokens", "256", "-o", str(where / "out"))
    return json.loads((where / "out" / "summary.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/optimize"))
    p.add_argument("--model", default="qwen2.5-coder-0.5b")
    p.add_argument("--second", default="smollm2-135m", help="the committee's other model")
    p.add_argument("--suites", default="env:store,env:todo", type=lambda s: s.split(","))
    p.add_argument("--methods", default=",".join(METHODS), type=lambda s: s.split(","))
    p.add_argument("--trials", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    jobs = [(s, m) for s in args.suites for m in args.methods
            if not (args.out / s.replace(":", "-") / m / "done.json").is_file()]
    if jobs:
        with served(args.model, args.threads) as url:
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
