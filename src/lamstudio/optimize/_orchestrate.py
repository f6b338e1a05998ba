"""BOLAA / AgentLite orchestration: a controller hands each task to one of several
specialist agents, each of which sees only its own tools.

* ``Specialist``: a name, a description, the tool names it may use, keywords for the
  keyword router (default: the words of its tool names), and optionally its own model and
  action principles.
* The controller is an LLM (``Orchestrator(..., controller=backend)``): it reads the task
  text and the specialists' descriptions and answers ``{"specialist": "<name>"}`` (a bare
  name is read too). Without one, or when its reply cannot be used, the keyword router
  decides: the specialist whose keywords the task text mentions most (ties: the first
  listed). A reply that cannot be used is a counted fallback with a reason
  (``controller_error``, ``unreadable_reply``, ``unknown_specialist``), never a crash.
* The episode runs on ``lamstudio.agent``'s loop with a toolbox narrowed to the chosen
  specialist's tools: the others are not offered, and a call to one is refused as
  ``unknown_tool`` before it reaches the environment.

``Orchestrator.counts`` tallies routes per specialist and fallbacks per reason; each
record's ``meta.orchestration`` says who was chosen, by what, and why a fallback happened.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lamstudio.agent import AgentConfig, AgentTask, error_outcome, run_episode
from lamstudio.io import JsonValueError, parse_json

ROUTE_PROMPT = """You route a customer's task to one specialist agent.
Specialists:
{specialists}

Task:
{task}

Answer with a JSON object: {{"specialist": "<name>"}}"""

FALLBACKS = ("controller_error", "unreadable_reply", "unknown_specialist")


@dataclass
class Specialist:
    name: str
    tools: tuple[str, ...]
    description: str = ""
    keywords: tuple[str, ...] = ()  # default: the words of its tool names
    backend: Any = None  # its own model (default: the orchestrator's agent)
    principles: tuple[str, ...] = ()

    def words(self) -> set[str]:
        if self.keywords:
            return {k.lower() for k in self.keywords}
        return {w for t in self.tools for w in t.lower().split("_") if len(w) > 3}


@dataclass
class Route:
    specialist: Specialist
    by: str  # "controller" or "keywords"
    fallback: str = ""  # why the controller's choice was not used (FALLBACKS)
    reply: str = ""


class _Subset:
    """A toolbox narrowed to some tools: only they are offered and only they run."""

    def __init__(self, toolbox: Any, names: Sequence[str]) -> None:
        self.toolbox, self.names = toolbox, set(names)

    def specs(self) -> list[dict[str, Any]]:
        return [s for s in self.toolbox.specs() if s["function"]["name"] in self.names]

    def run(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[Any]:
        allowed = [c for c in calls if c[0] in self.names]
        done = iter(self.toolbox.run(allowed) if allowed else [])
        return [next(done) if name in self.names else error_outcome(
            "unknown_tool", f"unknown tool {name!r}; available tools: "
            f"{', '.join(sorted(self.names))}") for name, _ in calls]

    def report(self) -> dict[str, Any]:
        return self.toolbox.report()


def task_text(task: AgentTask) -> str:
    """What the controller reads: the task's user messages and scripted turns."""
    said = [str(m.get("content") or "") for m in task.messages if m.get("role") == "user"]
    return "\n".join([*said, *task.turns])


def keyword_route(text: str, specialists: Sequence[Specialist]) -> Specialist:
    """The specialist whose keywords ``text`` mentions most (ties: the first listed)."""
    words = Counter(re.findall(r"[a-z0-9]+", text.lower()))
    scores = [sum(words[w] + words[w + "s"] for w in s.words()) for s in specialists]
    return specialists[scores.index(max(scores))]


@dataclass
class Orchestrator:
    specialists: list[Specialist]
    agent: Any  # the specialists' model unless one has its own
    controller: Any = None  # an LLM backend; None: the keyword router
    params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.0})
    counts: Counter[str] = field(default_factory=Counter)

    def _read(self, reply: Any) -> Specialist | str:
        """The specialist a controller reply names, or the fallback reason."""
        if not isinstance(reply, str) or not reply.strip():
            return "unreadable_reply"
        name: Any = reply.strip().strip('"')
        if name.startswith("{") or "```" in name:
            braces = re.search(r"\{.*\}", name, re.S)  # inside a code fence, if any
            try:
                obj = parse_json(braces.group(0) if braces else name)
            except JsonValueError:
                return "unreadable_reply"
            name = obj.get("specialist") if isinstance(obj, dict) else None
            if not isinstance(name, str):
                return "unreadable_reply"
        found = [s for s in self.specialists if s.name.lower() == name.strip().lower()]
        return found[0] if found else "unknown_specialist"

    async def route(self, text: str) -> Route:
        if self.controller is None:
            return self._count(Route(keyword_route(text, self.specialists), "keywords"))
        lines = "\n".join(f"- {s.name}: {s.description} (tools: {', '.join(s.tools)})"
                          for s in self.specialists)
        prompt = ROUTE_PROMPT.format(specialists=lines, task=text)
        try:
            res = await self.controller.complete([{"role": "user", "content": prompt}],
                                                 None, **self.params)
            reply = res.content
        except Exception as exc:  # noqa: BLE001 - a failed controller is a counted fallback
            return self._fallback(text, "controller_error", f"{type(exc).__name__}: {exc}")
        chosen = self._read(reply)
        if isinstance(chosen, str):
            return self._fallback(text, chosen, str(reply)[:200])
        return self._count(Route(chosen, "controller", reply=str(reply)[:200]))

    def _fallback(self, text: str, why: str, reply: str) -> Route:
        self.counts[f"fallback:{why}"] += 1
        return self._count(Route(keyword_route(text, self.specialists), "keywords", why,
                                 reply))

    def _count(self, route: Route) -> Route:
        self.counts[f"routed:{route.specialist.name}"] += 1
        return route

    async def run(self, task: AgentTask, toolbox: Any, user: Any = None,
                  config: AgentConfig | None = None) -> Any:
        """Route ``task`` and play it with the chosen specialist on ``toolbox`` narrowed
        to its tools; the record's ``meta.orchestration`` says how it was routed."""
        route = await self.route(task_text(task))
        spec = route.specialist
        cfg = config or AgentConfig()
        cfg = replace(cfg, principles=spec.principles or cfg.principles)
        record = await run_episode(spec.backend or self.agent, task,
                                   _Subset(toolbox, spec.tools), user, cfg)
        record.meta["orchestration"] = {"specialist": spec.name, "by": route.by,
                                        "fallback": route.fallback,
                                        "tools": sorted(spec.tools)}
        return record
