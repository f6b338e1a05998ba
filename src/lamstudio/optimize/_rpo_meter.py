"""What each role cost: LLM calls, failed calls and seconds, counted where the calls go.

Each role (agent, user, reflector, optimizer) talks to its backend through a ``Metered``
wrapper, so every call is counted whoever makes it (the agent loop, the user simulator,
RPO itself). Seconds are summed over calls: with calls running at once they add up to more
than the wall clock, which the round's report gives separately.
"""

from __future__ import annotations

import time
from typing import Any

ROLES = ("agent", "user", "reflector", "optimizer")


class Costs:
    def __init__(self) -> None:
        self.by_role: dict[str, dict[str, float]] = {
            r: {"calls": 0, "failed": 0, "seconds": 0.0} for r in ROLES}

    def add(self, role: str, seconds: float, failed: bool) -> None:
        row = self.by_role[role]
        row["calls"] += 1
        row["failed"] += int(failed)
        row["seconds"] += seconds

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {r: dict(v) for r, v in self.by_role.items()}

    def since(self, before: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        """What was spent after ``before`` (a ``snapshot``), seconds rounded."""
        return {r: {"calls": int(v["calls"] - before[r]["calls"]),
                    "failed": int(v["failed"] - before[r]["failed"]),
                    "seconds": round(v["seconds"] - before[r]["seconds"], 3)}
                for r, v in self.by_role.items()}


class Metered:
    """A ``ChatBackend`` that counts its calls under ``role`` and passes them on."""

    def __init__(self, backend: Any, role: str, costs: Costs) -> None:
        self.backend, self.role, self.costs = backend, role, costs
        self.model = getattr(backend, "model", "")
        self.base_url = getattr(backend, "base_url", "")

    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None, **params: Any) -> Any:
        started, failed = time.perf_counter(), True
        try:
            result = await self.backend.complete(messages, tools, **params)
            failed = False
            return result
        finally:
            self.costs.add(self.role, time.perf_counter() - started, failed)


def add_costs(a: dict[str, dict[str, float]],
              b: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Two cost tables summed role by role (for the run's totals)."""
    out = {}
    for role in {*a, *b}:
        x, y = a.get(role, {}), b.get(role, {})
        out[role] = {"calls": int(x.get("calls", 0) + y.get("calls", 0)),
                     "failed": int(x.get("failed", 0) + y.get("failed", 0)),
                     "seconds": round(x.get("seconds", 0.0) + y.get("seconds", 0.0), 3)}
    return dict(sorted(out.items()))
