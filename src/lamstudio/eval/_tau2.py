"""Multi-turn evaluation on tau2-bench's domains (``tau2:retail[:split]``, ``tau2:airline``).

The model under test plays the agent; a simulated user (an LLM given the task's user
scenario) plays the customer; tool calls run against lamstudio's tau2 environments. Scored
as tau2 scores it (its ``EnvironmentEvaluator`` + ``CommunicateEvaluator``): reward 1 when
the final database equals the replay of the task's ground-truth actions AND every
``communicate_info`` string appears in an agent message (lower-cased, commas removed), and 0
for an episode that did not end by the user's stop. pass^k over k trials per task is
tau-bench's unbiased estimate C(c, k) / C(n, k), averaged over tasks.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import lamstudio.envs as envs
from lamstudio.eval._tau2_episode import Episode

USER_GUIDELINES = """You are playing a customer contacting a customer service agent.
Follow the scenario below. Rules:
- Write only what the customer says, one short message at a time, in plain language.
- Reveal information only when it is needed or asked for; never invent details that are
  not in the scenario. If asked for something you do not know, say you do not know.
- Do not make up tool calls or pretend to be the agent.
- When your goal is reached (or cannot be reached), end the conversation by writing
  ###STOP### on its own. If you are transferred to a human agent, write ###TRANSFER###.

Scenario:
{scenario}"""


class Tau2SuiteError(ValueError):
    """A ``tau2:`` suite that cannot be read (unknown domain or split)."""


@dataclass
class Tau2Task:
    id: str
    domain: str
    scenario: str  # what the simulated user is told
    actions: list[dict[str, Any]]  # ground truth
    communicate_info: list[str]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def env(self) -> str:
        return f"tau2:{self.domain}"


def scenario_text(task: dict[str, Any]) -> str:
    scenario = task.get("user_scenario") or {}
    ins = scenario.get("instructions")
    if isinstance(ins, str):
        parts = [ins]
    else:
        ins = ins or {}
        parts = [f"{label}: {ins[key]}" for key, label in (
            ("reason_for_call", "Reason for call"), ("known_info", "Known info"),
            ("unknown_info", "Unknown info"), ("task_instructions", "Instructions"))
            if ins.get(key)]
    if scenario.get("persona"):
        parts.insert(0, f"Persona: {scenario['persona']}")
    return "\n".join(parts)


def load_tau2_suite(spec: str, limit: int | None = None) -> list[Tau2Task]:
    """``tau2:DOMAIN`` or ``tau2:DOMAIN:SPLIT`` (``train``, ``test``, ``base``)."""
    parts = spec.split(":")
    if parts[0] != "tau2" or len(parts) not in (2, 3):
        raise Tau2SuiteError(f"suite {spec!r}: expected tau2:DOMAIN[:SPLIT]")
    try:
        tasks = envs.load_tasks(parts[1], parts[2] if len(parts) == 3 else None)
    except KeyError as exc:
        raise Tau2SuiteError(f"suite {spec!r}: {exc.args[0]}") from None
    out = [Tau2Task(str(t["id"]), parts[1], scenario_text(t), envs.ground_truth(t),
                    list((t.get("evaluation_criteria") or {}).get("communicate_info") or []),
                    t) for t in tasks]
    return out[:limit] if limit else out


def communicated(info: str, messages: list[dict[str, Any]]) -> bool:
    """tau2's check: the string appears in an agent message, lower-cased, commas removed."""
    return any(info.lower() in (m.get("content") or "").lower().replace(",", "")
               for m in messages if m["role"] == "assistant")


def call_pattern(failed: dict[str, Any], schemas: dict[str, dict[str, Any]],
                 seen: Counter) -> str:
    """The SpecTool pattern of one failed tool call (see ``lamstudio.eval.PATTERNS``)."""
    name, args = failed["name"], failed["arguments"]
    key = json.dumps([name, args], sort_keys=True, default=str)
    seen[key] += 1
    if seen[key] > 1:
        return "RAC"
    if "not valid JSON" in failed.get("error", ""):
        return "IFE"
    if name not in schemas:
        return "IFN"
    if not isinstance(args, dict):
        return "IFE"
    params = schemas[name].get("parameters") or {}
    props = params.get("properties") or {}
    if set(args) - set(props) or set(params.get("required") or []) - set(args):
        return "IAN"
    types = {"string": str, "integer": int, "number": (int, float), "array": list,
             "object": dict, "boolean": bool}
    for k, v in args.items():
        want = types.get(props[k].get("type", ""))
        if want and not isinstance(v, want):
            return "IAT"
    return "IAV"


def score_episode(task: Tau2Task, episode: Episode, gold_hash: str) -> dict[str, Any]:
    db_match = episode.runner.state_hash() == gold_hash
    infos = {i: communicated(i, episode.messages) for i in task.communicate_info}
    ended = episode.stop == "user_stop"
    reward = float(ended and db_match and all(infos.values()))
    schemas = {s["function"]["name"]: s["function"] for s in envs.tool_specs(episode.runner.env)}
    seen: Counter = Counter()
    patterns = [call_pattern(f, schemas, seen) for f in episode.failed_calls]
    if ended and not db_match:
        called = {tc["function"]["name"] for m in episode.messages
                  for tc in m.get("tool_calls") or []}
        if any(a["name"] not in called for a in task.actions):
            patterns.append("IAC")  # a ground-truth action never attempted
    return {"reward": reward, "db_match": db_match, "communicated": infos,
            "stop": episode.stop, "patterns": patterns}


def pass_hat_k(successes: list[int], trials: int, k: int) -> float:
    """tau-bench's pass^k: mean over tasks of C(c, k) / C(n, k)."""
    if not successes or k > trials:
        return float("nan")
    return sum(math.comb(c, k) / math.comb(trials, k) for c in successes) / len(successes)
