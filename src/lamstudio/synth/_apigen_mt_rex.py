"""What APIGen-MT's trajectory phase needs to explore instead of playing once (REX, from
``lamstudio.optimize``, plugged in as ``TrajectoryConfig.explore``): a play's reward
against its blueprint, a count of the LLM calls each play spends, and the yields of plain
play and exploration side by side.

Reward of a play (what exploration maximizes):

* 1.0 when the play is kept (the user's stop, the blueprint's final state, every expected
  output said: the trajectory phase's own check);
* otherwise partial credit, ``PARTIAL`` × the fraction of the blueprint's actions the play
  made (same tool, same arguments; each action matched once; order not required), so a
  play that got further along the blueprint ranks higher, and never as high as a kept one.
"""

from __future__ import annotations

import json
from typing import Any

PARTIAL = 0.9


def _canon(name: Any, args: Any) -> str:
    return json.dumps([name, args], sort_keys=True, default=str)


def blueprint_reward(reason: str, messages: list[dict[str, Any]],
                     actions: list[dict[str, Any]]) -> float:
    """The play's reward (module docstring)."""
    if reason == "kept":
        return 1.0
    made: dict[str, int] = {}
    for m in messages:
        for call in m.get("tool_calls") or []:
            key = _canon(call["function"]["name"], call["function"]["arguments"])
            made[key] = made.get(key, 0) + 1
    hit = 0
    for a in actions:
        key = _canon(a["name"], a.get("arguments") or {})
        if made.get(key, 0) > 0:
            made[key] -= 1
            hit += 1
    return PARTIAL * hit / max(len(actions), 1)


def _side(plays: list[dict[str, Any]], reason: str, calls: str) -> dict[str, Any]:
    kept = sum(1 for p in plays if p["meta"].get(reason) == "kept")
    agent = sum(p["meta"].get(calls, {}).get("agent", 0) for p in plays)
    user = sum(p["meta"].get(calls, {}).get("user", 0) for p in plays)
    return {"kept": kept, "keep_rate": kept / max(len(plays), 1),
            "llm_calls": {"agent": agent, "user": user, "total": agent + user}}


def compare(plays: list[dict[str, Any]]) -> dict[str, Any]:
    """Plain play vs exploration over the same plays (the exploration's first rollout is
    the plain play), with the candidates' counts summed."""
    cands: dict[str, Any] = {"sampled": 0, "distinct": 0, "duplicate": 0, "unusable": {},
                             "rollout_errors": 0}
    stops: dict[str, int] = {}
    for p in plays:
        rex = p["meta"].get("rex") or {}
        stops[rex.get("stop", "none")] = stops.get(rex.get("stop", "none"), 0) + 1
        for k, v in (rex.get("candidates") or {}).items():
            if k == "unusable":
                for why, n in v.items():
                    cands["unusable"][why] = cands["unusable"].get(why, 0) + n
            else:
                cands[k] += v
    return {"plain": _side(plays, "plain_reason", "plain_llm_calls"),
            "explore": _side(plays, "reason", "llm_calls"),
            "candidates": cands, "stops": stops}
