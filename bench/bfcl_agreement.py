"""Agreement of lamstudio's AST checker with bfcl_eval's ast_checker, per BFCL category.

    .venv/bin/python bench/bfcl_agreement.py [CATEGORY ...]

Builds ``.venv-bfcl`` (bfcl-eval's checker and the provider SDKs it imports) on first use
from tests/eval/bfcl_reference_requirements.txt, judges every (entry, output) pair with both
checkers and prints an agreement table plus every disagreement with both reasons.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rich.console import Console

from lamstudio.eval._agreement import agreement_table, build_pairs, compare
from lamstudio.eval._reference import ReferenceEnv

REPO = Path(__file__).resolve().parents[1]


def main(categories: list[str]) -> int:
    console = Console()
    env = ReferenceEnv(REPO / ".venv-bfcl", REPO / "tests/eval/bfcl_reference_requirements.txt")
    built = env.build(log=console.print)
    if built:
        console.print(f"built .venv-bfcl in {built:.0f} s")
    t0 = time.perf_counter()
    pairs = build_pairs(categories or None)
    console.print(f"{len(pairs.items)} pairs over {len(pairs.cases)} entries "
                  f"({time.perf_counter() - t0:.1f} s to build)")
    result = compare(pairs, env, use_cache=False)
    console.print(agreement_table(result))
    console.print(f"error types that differ where both fail: {result.error_type_mismatches}; "
                  f"BFCL checker exceptions: {result.reference_exceptions}")
    for d in result.disagreements:
        console.print(json.dumps(d)[:800])
    return 1 if result.disagreements else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
