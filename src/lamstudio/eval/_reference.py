"""BFCL's own checker, run in its own virtual environment, as a reference to agree with.

``bfcl_eval``'s checker imports every provider SDK (through ``constants/model_config.py``)
and pins numpy/networkx versions a training environment cannot take, so it lives in a
separate venv (``.venv-bfcl``) built on demand from a pinned requirements file. All
(entry, output) pairs go to ONE subprocess as a JSON file; verdicts come back as JSON and
are cached under the venv, keyed by a hash of the inputs, the requirements and the
bfcl-eval version.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamstudio._reference_env import ReferenceEnv, ReferenceUnavailable
from lamstudio.eval._bfcl import bfcl_version
from lamstudio.tools import Call

MODEL_NAME = "gorilla-openfunctions-v2"  # a registered model whose names keep their dots

# Runs inside .venv-bfcl. It mirrors BFCL's runner for one decoded output: the format check
# of _evaluate_single_ast_entry, then ast_checker (or the relevance rule).
_RUNNER = r"""
import json, sys, time
from bfcl_eval.constants.enums import Language
from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
from bfcl_eval.utils import is_function_calling_format_output, is_empty_output
job = json.load(open(sys.argv[1]))
cases, pairs, repeat = job["cases"], job["pairs"], job.get("repeat", 1)
LANG = {"python": Language.PYTHON, "java": Language.JAVA, "javascript": Language.JAVASCRIPT}
def one(case, decoded):
    cat = case["category"]
    if "relevance" in cat:
        called = not is_empty_output(decoded)
        ok = not called if "irrelevance" in cat else called
        return {"valid": ok, "error_type": "" if ok else "relevance"}
    if not is_function_calling_format_output(decoded):
        return {"valid": False, "error_type": "ast_decoder:decoder_wrong_output_format"}
    try:
        r = ast_checker(case["function"], decoded, case["ground_truth"],
                        LANG[case["language"]], cat, job["model"])
        return {"valid": bool(r["valid"]), "error_type": r.get("error_type", "")}
    except Exception as e:
        return {"valid": False, "error_type": "exception:" + type(e).__name__}
out, times = None, []
for _ in range(repeat):
    t0 = time.perf_counter()
    out = [one(cases[i], d) for i, d in pairs]
    times.append(time.perf_counter() - t0)
times.sort()
json.dump({"verdicts": out, "seconds": times[len(times) // 2], "times": times},
          open(sys.argv[2], "w"))
"""


def bfcl_decoded(calls: Sequence[Call]) -> list[dict[str, Any]]:
    """BFCL's decoded-output shape: ``[{name: {param: value}}]``."""
    return [{c.name: c.arguments} for c in calls]


@dataclass
class ReferenceRun:
    verdicts: list[dict[str, Any]]
    seconds: float  # median time of the checker loop, interpreter start-up excluded
    cached: bool
    times: list[float] | None = None


def run_reference(env: ReferenceEnv, cases: list[dict[str, Any]],
                  pairs: list[tuple[int, list[dict[str, Any]]]], repeat: int = 1,
                  use_cache: bool = True) -> ReferenceRun:
    """BFCL's verdict for each (case index, decoded output). ``cases`` carry ``category``,
    ``language``, ``function`` and ``ground_truth``."""
    job = {"model": MODEL_NAME, "cases": cases, "pairs": pairs, "repeat": repeat}
    blob = json.dumps(job).encode()  # key order matters: BFCL reports the first failing argument
    key = hashlib.sha256(blob + env._stamp().encode() + bfcl_version().encode()).hexdigest()
    cache = env.root / "verdict-cache" / f"{key[:32]}.json"
    if use_cache and cache.exists():
        data = json.loads(cache.read_text())
        return ReferenceRun(data["verdicts"], data["seconds"], True)
    with tempfile.TemporaryDirectory(prefix="lamstudio-bfcl-") as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_bytes(blob)
        script = Path(tmp) / "runner.py"
        script.write_text(_RUNNER)
        root = Path(tmp) / "bfcl_root"  # the checker's import writes result/, score/ here
        root.mkdir()
        env_vars = {**os.environ, "BFCL_PROJECT_ROOT": str(root), "PYTHONWARNINGS": "ignore"}
        proc = subprocess.run([str(env.python), str(script), str(job_path), str(out_path)],
                              capture_output=True, text=True, env=env_vars, cwd=tmp)
        if proc.returncode != 0:
            raise ReferenceUnavailable(f"BFCL checker failed:\n{proc.stderr[-3000:]}")
        data = json.loads(out_path.read_text())
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(data))
    return ReferenceRun(data["verdicts"], data["seconds"], False, data.get("times"))
