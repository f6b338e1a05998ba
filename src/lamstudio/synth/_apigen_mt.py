"""APIGen-MT phase 1: task blueprints — {user instruction, ground-truth actions, expected
outputs} — proposed by a generator LLM from sampled database entities and a persona, then
checked in order: format, execution against a fresh environment (every action succeeds,
at least one write, every write changes the state), domain policy as code, and a committee
of k reviewer LLMs (majority vote). A failed blueprint is regenerated with the failures and
the reviewers' feedback (joined and deduplicated, not LLM-summarised), up to ``rounds``.

Every attempt is counted per phase and per round; every final failure is a reject with the
reason code of the phase that stopped it (counts: requested = accepted + rejected).
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from typing import Any

import lamstudio.envs as envs
from lamstudio.io import JsonValueError
from lamstudio.llm import LLMError
from lamstudio.synth._apigen_mt_policy import POLICY_RULES
from lamstudio.synth._parse import first_object
from lamstudio.synth._safe import internal, writable

PHASES = ("format", "execution", "policy", "review")
PERSONAS = [
    "a busy parent who writes short, direct messages",
    "a retired teacher who is polite and detail-oriented",
    "a student on a budget who double-checks every price",
    "a frequent traveller who is impatient and wants things done in one go",
    "a cautious customer who asks for confirmation before every change",
    "a non-native English speaker who writes simply",
]

GENERATOR_PROMPT = """You design tasks for evaluating a customer-service agent.
Domain policy (the agent must follow it):
{policy}

Tools the agent can call:
{tools}

Ground the task in these database entries:
{grounding}

The customer is {persona}.
Write ONE task as a JSON object with keys:
  "instruction": what the customer wants, in second person ("You are ... You want ..."),
     including the details the customer knows (name, zip or email, order ids ...);
  "actions": the exact tool calls a correct agent makes, in order, each
     {{"name": ..., "arguments": {{...}}}}; include the lookups and at least one write;
  "outputs": short strings the agent must tell the customer (may be empty).
Answer with the JSON object only.{feedback}"""

REVIEW_PROMPT = """You review a task blueprint for a customer-service agent benchmark.
Domain policy:
{policy}

Blueprint:
{blueprint}

Execution of its actions on the database:
{execution}

Is the instruction clear and complete, do the actions follow the policy and do exactly
what the customer asks, and are the outputs right? Answer with a JSON object:
{{"pass": true or false, "feedback": "what is wrong, briefly"}}"""


@dataclass
class BlueprintConfig:
    env: str = "tau2:retail"
    count: int = 10
    reviewers: int = 3  # committee size (majority vote)
    rounds: int = 3  # generations per blueprint, the first included
    seed: int = 0
    concurrency: int = 4
    generator_params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.7})
    reviewer_params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.3})


@dataclass
class Check:
    ok: bool
    phase: str
    code: str = "ok"
    detail: str = ""


def sample_grounding(env_name: str, rng: random.Random) -> dict[str, Any]:
    """A user and a few of their orders / reservations, from a fresh environment."""
    env = envs.make_env(env_name)
    users = env.state["users"]
    uid = rng.choice(sorted(users))
    user = users[uid]
    if env_name == "tau2:retail":
        orders = [env.state["orders"][o] for o in user["orders"][:3]
                  if o in env.state["orders"]]
        return {"user": {k: user[k] for k in ("user_id", "name", "address", "email",
                                              "payment_methods")},
                "orders": [{k: o[k] for k in ("order_id", "status", "items",
                                             "payment_history")} for o in orders]}
    if env_name == "tau2:airline":
        res = [env.state["reservations"][r] for r in user["reservations"][:3]
               if r in env.state["reservations"]]
        return {"user": {k: user[k] for k in ("user_id", "name", "payment_methods",
                                              "membership")}, "reservations": res}
    return {"state": env.state}


def _tool_lines(env: Any) -> str:
    return "\n".join(f"- {s['function']['name']}: {s['function'].get('description', '')[:160]}"
                     for s in envs.tool_specs(env))


def read_object(text: Any) -> dict[str, Any] | JsonValueError | None:
    """The JSON object in a model's answer (fences and prose tolerated), decoded with the
    readers' strict rules: a ``JsonValueError`` says why it cannot be kept (a lone
    surrogate, NaN, a 5000-digit integer, too deep), None that there is none."""
    if not isinstance(text, str):
        return None
    return first_object(text.strip())


def parse_json_object(text: str | None) -> dict[str, Any] | None:
    """The first JSON object in a model's answer (code fences tolerated), else None."""
    found = read_object(text)
    return found if isinstance(found, dict) else None


def check_format(bp: dict[str, Any] | JsonValueError | None, env: Any) -> Check:
    if isinstance(bp, JsonValueError):
        return Check(False, "format", bp.code, bp.message)
    if bp is None:
        return Check(False, "format", "bad_json", "the answer is not a JSON object")
    if not isinstance(bp.get("instruction"), str) or not bp["instruction"].strip():
        return Check(False, "format", "missing_instruction", "no instruction")
    actions, outputs = bp.get("actions"), bp.get("outputs", [])
    if not isinstance(actions, list) or not actions:
        return Check(False, "format", "missing_actions", "no actions")
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
        return Check(False, "format", "bad_outputs", "outputs must be a list of strings")
    names = set(envs.actions(env))
    for i, a in enumerate(actions):
        if not isinstance(a, dict) or not isinstance(a.get("arguments", {}), dict):
            return Check(False, "format", "bad_action", f"action {i} is not {{name, arguments}}")
        if a.get("name") not in names:
            return Check(False, "format", "unknown_tool", f"action {i}: no tool {a.get('name')!r}")
    return Check(True, "format")


def execute(bp: dict[str, Any], env_name: str) -> tuple[Check, list[dict[str, Any]], Check]:
    """Run the actions on a fresh environment: the execution check, the trace, and the
    policy check (rules see the state before each action)."""
    from lamstudio.eval import Call

    runner = envs.EnvRunner(envs.make_env(env_name))
    writes, rules = envs.write_tools(runner.env), POLICY_RULES.get(env_name, [])
    trace: list[dict[str, Any]] = []
    policy = Check(True, "policy")
    for i, a in enumerate(bp["actions"]):
        step = {"name": a["name"], "arguments": a.get("arguments") or {}}
        for rule in rules:
            code = rule(runner.env, step, trace)
            if code and policy.ok:
                policy = Check(False, "policy", code, f"action {i} ({a['name']}): "
                               f"{(rule.__doc__ or '').strip()}")
        before = runner.state_hash()
        out = runner.run(Call(step["name"], step["arguments"]))
        step["result"] = out
        trace.append(step)
        if out.startswith("Error during execution"):
            return Check(False, "execution", "action_failed", f"action {i} ({a['name']}) "
                         f"failed: {out.split(': ', 1)[-1]}"), trace, policy
        if a["name"] in writes and runner.state_hash() == before:
            return Check(False, "execution", "write_without_effect",
                         f"action {i} ({a['name']}) changed nothing"), trace, policy
    if not any(a["name"] in writes for a in bp["actions"]):
        return Check(False, "execution", "no_write", "no action changes the database"), \
            trace, policy
    return Check(True, "execution"), trace, policy


async def review(blueprint: dict[str, Any], trace: list[dict[str, Any]], env: Any,
                 reviewers: list[Any], size: int, params: dict[str, Any]
                 ) -> tuple[Check, list[dict[str, Any]]]:
    """``size`` reviews (reviewer i is ``reviewers[i % len]`` with seed i); majority
    passes. An unreadable review counts as a fail with that feedback."""
    shown = {k: blueprint[k] for k in ("instruction", "actions", "outputs") if k in blueprint}
    prompt = REVIEW_PROMPT.format(
        policy=envs.system_prompt(env) or "", blueprint=json.dumps(shown, indent=1),
        # results are quoted: a tool's output cannot pass for another line of the trace
        execution="\n".join(f"{t['name']} -> {json.dumps(t['result'][:300])}" for t in trace))

    async def one(i: int) -> dict[str, Any]:
        res = await reviewers[i % len(reviewers)].complete(
            [{"role": "user", "content": prompt}], None, **{"seed": i, **params})
        verdict = read_object(res.content)
        if not isinstance(verdict, dict) or not isinstance(verdict.get("pass"), bool):
            why = f" ({verdict.code})" if isinstance(verdict, JsonValueError) else ""
            return {"pass": False, "feedback": f"unreadable review{why}", "reviewer": i}
        feedback = verdict.get("feedback", "")
        return {"pass": verdict["pass"], "reviewer": i, "feedback":
                feedback if isinstance(feedback, str) else json.dumps(feedback)}

    votes = list(await asyncio.gather(*(one(i) for i in range(size))))
    yes = sum(v["pass"] for v in votes)
    if yes * 2 > size:
        return Check(True, "review", detail=f"{yes}/{size}"), votes
    feedback = "; ".join(dict.fromkeys(v["feedback"] for v in votes if not v["pass"]
                                       and v["feedback"]))
    return Check(False, "review", "committee_rejected", f"{yes}/{size} passed: {feedback}"), \
        votes


@dataclass
class BlueprintRun:
    accepted: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    yields: dict[str, Any]


def _tally(yields: dict[str, Any], round_: int, checks: list[Check]) -> None:
    per = yields["rounds"].setdefault(str(round_), {p: {"in": 0, "passed": 0} for p in PHASES})
    for c in checks:
        for bucket in (per, yields["phases"]):
            bucket[c.phase]["in"] += 1
            bucket[c.phase]["passed"] += int(c.ok)


async def _one_blueprint(index: int, generator: Any, reviewers: list[Any],
                         cfg: BlueprintConfig, yields: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(f"{cfg.seed}:{index}")
    env = envs.make_env(cfg.env)
    grounding, persona = sample_grounding(cfg.env, rng), rng.choice(PERSONAS)
    feedback, history = "", []
    for round_ in range(cfg.rounds):
        prompt = GENERATOR_PROMPT.format(
            policy=envs.system_prompt(env) or "", tools=_tool_lines(env), persona=persona,
            grounding=json.dumps(grounding, indent=1)[:6000],
            feedback=f"\n\nA previous attempt was rejected. Fix this:\n{feedback}"
            if feedback else "")
        res = await generator.complete([{"role": "user", "content": prompt}], None,
                                       **{"seed": cfg.seed * 1000 + index * 10 + round_,
                                          **cfg.generator_params})
        bp = read_object(res.content)
        checks = [check_format(bp, env)]
        votes: list[dict[str, Any]] = []
        if checks[-1].ok:
            assert isinstance(bp, dict)
            executed, trace, policy = execute(bp, cfg.env)
            checks.append(executed)
            if executed.ok:
                checks.append(policy)
            if executed.ok and policy.ok:
                reviewed, votes = await review(bp, trace, env, reviewers, cfg.reviewers,
                                               cfg.reviewer_params)
                checks.append(reviewed)
        _tally(yields, round_, checks)
        last = checks[-1]
        history.append({"round": round_, "phase": last.phase, "code": last.code,
                        "detail": last.detail, "votes": votes})
        if last.ok:
            assert isinstance(bp, dict)
            return {"id": f"bp-{cfg.env.split(':')[-1]}-{cfg.seed}-{index}", "env": cfg.env,
                    "instruction": bp["instruction"],
                    "actions": [{"name": a["name"], "arguments": a.get("arguments") or {}}
                                for a in bp["actions"]],
                    "outputs": list(bp.get("outputs") or []), "persona": persona,
                    "meta": {"round": round_, "history": history, "grounding": grounding}}
        feedback = f"[{last.phase}: {last.code}] {last.detail}"
    return {"id": f"bp-{cfg.env.split(':')[-1]}-{cfg.seed}-{index}", "rejected": True,
            "reason": history[-1]["code"], "phase": history[-1]["phase"], "history": history}


def blueprints(generator: Any, reviewers: list[Any], config: BlueprintConfig | None = None,
               progress: Any = lambda n: None) -> BlueprintRun:
    """Generate ``config.count`` blueprints for ``config.env``. ``generator`` and
    ``reviewers`` are ``lamstudio.llm.ChatBackend``s (the reviewers may be one backend
    sampled ``config.reviewers`` times)."""
    cfg = config or BlueprintConfig()
    yields: dict[str, Any] = {"phases": {p: {"in": 0, "passed": 0} for p in PHASES},
                              "rounds": {}}

    async def run() -> list[dict[str, Any]]:
        gate = asyncio.Semaphore(cfg.concurrency)

        async def one(i: int) -> dict[str, Any]:
            async with gate:
                try:
                    out = await _one_blueprint(i, generator, reviewers, cfg, yields)
                except LLMError:
                    raise  # a generator or reviewer fault stops the run
                except Exception as exc:  # noqa: BLE001 - this blueprint's reject
                    out = {"id": f"bp-{cfg.env.split(':')[-1]}-{cfg.seed}-{i}",
                           "rejected": True, "reason": "internal_error", "phase": "internal",
                           "message": internal("format", exc).message, "history": []}
            progress(1)
            return out
        return list(await asyncio.gather(*(one(i) for i in range(cfg.count))))

    results = asyncio.run(run())
    accepted = [r for r in results if not r.get("rejected")]
    rejected = [r for r in results if r.get("rejected")]
    by_round: dict[str, int] = {}
    for r in accepted:
        by_round[str(r["meta"]["round"])] = by_round.get(str(r["meta"]["round"]), 0) + 1
    yields.update({"requested": cfg.count, "accepted": len(accepted),
                   "rejected": len(rejected), "accepted_by_round": by_round,
                   "accept_rate": len(accepted) / max(cfg.count, 1),
                   "accept_rate_first_round": by_round.get("0", 0) / max(cfg.count, 1),
                   "rejected_by_reason": _count(r["reason"] for r in rejected)})
    return BlueprintRun(accepted, rejected, yields)


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def write_blueprints(run: BlueprintRun, out: Any) -> dict[str, Any]:
    """``blueprints.jsonl`` (accepted), ``rejects.jsonl`` (with reason and phase) and
    ``yields.json`` under ``out``; returns the paths."""
    from pathlib import Path

    from lamstudio.io import atomic_path, write_jsonl

    out = Path(out)
    paths = {"blueprints": out / "blueprints.jsonl", "rejects": out / "rejects.jsonl",
             "yields": out / "yields.json"}
    write_jsonl(paths["blueprints"], run.accepted)
    write_jsonl(paths["rejects"], [writable(r) for r in run.rejected])
    with atomic_path(paths["yields"]) as tmp:
        tmp.write_text(json.dumps(run.yields, indent=1))
    return paths
