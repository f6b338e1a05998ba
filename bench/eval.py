"""Checking speed: lamstudio's AST checker vs bfcl_eval's ast_checker, same pairs, one run.

    .venv/bin/python bench/eval.py [--repeat 5]

Pairs: every BFCL v4 single-turn entry (AST + relevance categories) with its reference answer
and systematic perturbations (the agreement test's pairs). BFCL's checker runs inside
``.venv-bfcl`` over the same pairs; only its checking loop is timed (interpreter start-up
and imports excluded), as is ours (entry compilation is reported separately: it happens
once per entry, whatever the number of outputs). Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from lamstudio.eval._agreement import build_pairs
from lamstudio.eval._ast import check, compile_case
from lamstudio.eval._reference import ReferenceEnv, bfcl_decoded, run_reference

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    env = ReferenceEnv(REPO / ".venv-bfcl", REPO / "tests/eval/bfcl_reference_requirements.txt")
    env.build()
    pairs = build_pairs()
    n = len(pairs.items)

    t0 = time.perf_counter()
    for c in pairs.cases:
        compile_case(c["id"], c["category"], c["function"], c["ground_truth"])
    compile_s = time.perf_counter() - t0
    ours_times, verdicts = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        verdicts = [check(pairs.compiled[k], calls) for k, _, calls in pairs.items]
        ours_times.append(time.perf_counter() - t0)
    ref = run_reference(env, pairs.cases, [(k, bfcl_decoded(c)) for k, _, c in pairs.items],
                        repeat=args.repeat, use_cache=False)
    same = sum(v.valid == r["valid"] for v, r in zip(verdicts, ref.verdicts, strict=True))
    ours_s = statistics.median(ours_times)
    print(f"machine: {platform.machine()}, {platform.python_version()}; pairs: {n} over "
          f"{len(pairs.cases)} entries; repeat {args.repeat} (medians)")
    print(f"bfcl_eval ast_checker : {ref.seconds:7.3f} s  {n / ref.seconds:10,.0f} checks/s")
    print(f"lamstudio check       : {ours_s:7.3f} s  {n / ours_s:10,.0f} checks/s  "
          f"(+ {compile_s:.3f} s compiling {len(pairs.cases)} entries once)")
    print(f"speed-up              : {ref.seconds / ours_s:.2f}x  "
          f"(incl. compilation {ref.seconds / (ours_s + compile_s):.2f}x)")
    print(f"identical verdicts    : {same}/{n}")


if __name__ == "__main__":
    main()
