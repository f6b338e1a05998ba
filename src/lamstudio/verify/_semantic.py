"""Stage 3, the semantic check: an LLM judge reads the query, the calls and their results
and answers ``{"pass": bool, "reason": str}`` (APIGen). With ``k > 1`` a committee votes
(APIGen-MT): k different backends, or k samples of one backend (temperature > 0, a distinct
``seed`` per sample), and the record passes on a strict majority of *all* k votes, so a
malformed vote counts against it.

A record is rejected here only for what the judge said (``judge_fail``, or
``judge_malformed`` when no vote was a parseable verdict). Failures of the judge itself
never reject a record: transient ones are retried by the backend, then raise
``LLMUnavailable``; a refused key, a wrong URL or model, a refused request raise
``LLMError`` at once. Either stops the run with the committed chunks kept, and a resumed
run asks again.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lamstudio.llm import ChatBackend, gather_or_cancel
from lamstudio.schema import Trajectory
from lamstudio.verify._verdict import Verdict

STAGE = "semantic"

JUDGE_SYSTEM = """You review training data for tool-calling assistants.
You get a user's request, the tools offered, the calls the assistant made, what the tools
returned and the assistant's final answer. Decide whether the record is a correct
example:
- the calls serve the user's intent (right tools, nothing missing, nothing superfluous);
- every argument value comes from the request or earlier results (nothing invented);
- the tool results are plausible answers to the calls;
- the final answer (if any) agrees with the results.
Reply with one JSON object and nothing else: {"pass": true or false, "reason": "<one sentence>"}"""

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.S)


def judge_prompt(t: Trajectory) -> list[dict[str, Any]]:
    """The chat messages sent to a judge for one record."""
    lines = []
    if t.system:
        lines.append(f"## System prompt\n{t.system}")
    tools = [{"name": s.function.name, "description": s.function.description,
              "parameters": s.function.parameters} for s in t.tools]
    lines.append("## Tools\n" + json.dumps(tools, ensure_ascii=False))
    lines.append("## Conversation")
    for m in t.messages:
        if m.role == "assistant" and m.tool_calls:
            for c in m.tool_calls:
                lines.append(f"[assistant calls] {c.function.name}"
                             f"({json.dumps(c.function.arguments, ensure_ascii=False)})")
            if m.content:
                lines.append(f"[assistant] {m.content}")
        elif m.role == "tool":
            lines.append(f"[tool result {m.name or ''}] {m.content}")
        else:
            lines.append(f"[{m.role}] {m.content or ''}")
    return [{"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": "\n".join(lines)}]


def parse_judgement(text: str | None) -> tuple[bool, str] | None:
    """``(pass, reason)`` from a judge's reply, or None when it is not the asked-for JSON.
    Tolerates code fences and prose around the object."""
    if not text:
        return None
    body = _FENCE.sub("", text.strip())
    candidates = [body]
    start, end = body.find("{"), body.rfind("}")
    if 0 <= start < end:
        candidates.append(body[start:end + 1])
    for cand in candidates:
        try:
            obj = json.loads(cand)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("pass"), bool):
            return obj["pass"], str(obj.get("reason", ""))[:500]
    return None


@dataclass(frozen=True)
class JudgeOptions:
    k: int = 1                    # committee size (votes per record)
    temperature: float = 0.7      # used for k samples of one backend; 0 for a single judge
    max_tokens: int = 256


class SemanticJudge:
    """``judge_many(records) -> verdicts``. ``backends``: one backend sampled ``k`` times,
    or ``k`` backends voting once each."""

    def __init__(self, backends: ChatBackend | Sequence[ChatBackend],
                 options: JudgeOptions | None = None) -> None:
        self.backends = [backends] if not isinstance(backends, Sequence) else list(backends)
        self.options = options or JudgeOptions()
        if not self.backends:
            raise ValueError("a judge needs at least one backend")

    def _ballots(self) -> list[tuple[ChatBackend, dict[str, Any]]]:
        o = self.options
        if len(self.backends) > 1:
            return [(b, {"temperature": 0.0, "max_tokens": o.max_tokens}) for b in self.backends]
        if o.k == 1:
            return [(self.backends[0], {"temperature": 0.0, "max_tokens": o.max_tokens})]
        return [(self.backends[0], {"temperature": o.temperature, "max_tokens": o.max_tokens,
                                    "seed": i}) for i in range(o.k)]

    async def _vote(self, backend: ChatBackend, params: dict[str, Any],
                    prompt: list[dict[str, Any]]) -> dict[str, Any]:
        result = await backend.complete(prompt, **params)  # LLMError stops the run
        parsed = parse_judgement(result.content)
        if parsed is None:
            return {"pass": None, "malformed": (result.content or "")[:300]}
        return {"pass": parsed[0], "reason": parsed[1]}

    async def judge(self, t: Trajectory) -> Verdict:
        prompt = judge_prompt(t)
        votes = await asyncio.gather(*(self._vote(b, p, prompt) for b, p in self._ballots()))
        return decide(list(votes))

    async def judge_all(self, records: Sequence[Trajectory]) -> list[Verdict]:
        try:  # one failure stops the chunk: the other requests end before clients close
            return await gather_or_cancel([self.judge(t) for t in records])
        finally:
            for b in self.backends:
                if hasattr(b, "aclose"):
                    await b.aclose()

    def judge_many(self, records: Sequence[Trajectory]) -> list[Verdict]:
        return asyncio.run(self.judge_all(records))


def decide(votes: list[dict[str, Any]]) -> Verdict:
    """Strict majority of all votes passes; otherwise the commonest failure is the code."""
    k = len(votes)
    yes = sum(v["pass"] is True for v in votes)
    no = sum(v["pass"] is False for v in votes)
    if yes * 2 > k:
        return Verdict.ok(STAGE, f"{yes}/{k} judges pass", votes=votes)
    if no:
        reason = next(v["reason"] for v in votes if v["pass"] is False)
        return Verdict.fail(STAGE, "judge_fail", f"{no}/{k} judges fail: {reason}", votes=votes)
    return Verdict.fail(STAGE, "judge_malformed",
                        f"no judge gave a parseable verdict ({k} asked)", votes=votes)


def no_judge() -> Verdict:
    return Verdict.skip(STAGE, "no_judge", "no judge configured (--judge-url/--judge-model)")
