"""The parse stage: the generator's reply -> a query and answer calls -> a record.

Reply contract: one JSON object ``{"query": str, "answers": [{"name": str, "arguments":
{...}}]}``, possibly in a code fence or with prose around it. Reject codes: ``empty_output``,
``truncated`` (cut at max tokens before the JSON closed), ``no_json``, ``invalid_json``,
``bad_shape`` (no query, answers not a list of calls, arguments not an object).
"""

from __future__ import annotations

import json
import random
from typing import Any

from lamstudio.llm import ChatResult
from lamstudio.schema import Trajectory
from lamstudio.synth._plan import Task
from lamstudio.synth._prompts import load_refusals
from lamstudio.verify import Verdict

STAGE = "parse"
_DECODER = json.JSONDecoder()


def parse_reply(result: ChatResult) -> tuple[str, list[dict[str, Any]]] | Verdict:
    text = (result.content or "").strip()
    if not text:
        return Verdict.fail(STAGE, "empty_output", "the generator returned no text")
    obj, error = _first_object(text)
    if obj is None:
        if result.finish_reason == "length":
            return Verdict.fail(STAGE, "truncated", "the reply hit max_tokens before its "
                                "JSON object closed")
        code = "invalid_json" if error else "no_json"
        return Verdict.fail(STAGE, code, error or "no JSON object in the reply")
    return _shape(obj)


def _first_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The first decodable JSON object (fences and prose around it are ignored)."""
    error = None
    start = text.find("{")
    while start >= 0:
        try:
            obj, _ = _DECODER.raw_decode(text, start)
        except ValueError as exc:
            error = error or f"invalid JSON at char {start}: {exc.msg}"
        else:
            if isinstance(obj, dict):
                return obj, None
        start = text.find("{", start + 1)
    return None, error


def _shape(obj: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | Verdict:
    query, answers = obj.get("query"), obj.get("answers", obj.get("answer"))
    if not isinstance(query, str) or not query.strip():
        return Verdict.fail(STAGE, "bad_shape", "no non-empty 'query' string")
    if not isinstance(answers, list):
        return Verdict.fail(STAGE, "bad_shape", "'answers' is not a list")
    calls = []
    for k, a in enumerate(answers):
        if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not a["name"]:
            return Verdict.fail(STAGE, "bad_shape", f"answers[{k}] is not a call with a name")
        args = a.get("arguments", a.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                return Verdict.fail(STAGE, "bad_shape", f"answers[{k}].arguments is not JSON")
        if not isinstance(args, dict):
            return Verdict.fail(STAGE, "bad_shape", f"answers[{k}].arguments is not an object")
        calls.append({"name": a["name"], "arguments": args})
    return query.strip(), calls


def build_record(task: Task, query: str, calls: list[dict[str, Any]],
                 tools: list[dict[str, Any]], meta: dict[str, Any]) -> Trajectory | Verdict:
    """The record for one parsed generation; an irrelevance answer gets a refusal text."""
    if calls:
        answer: dict[str, Any] = {"role": "assistant", "tool_calls": [
            {"id": f"call_{k}", "type": "function", "function": c} for k, c in enumerate(calls)]}
    else:
        refusal = random.Random(task.id).choice(load_refusals())
        answer = {"role": "assistant", "content": refusal}
    try:
        return Trajectory.model_validate({
            "id": task.id, "source": "lamstudio-synth-apigen", "tools": tools,
            "messages": [{"role": "user", "content": query}, answer],
            "meta": {"category": task.style, "tool_category": task.category, **meta}})
    except ValueError as exc:
        return Verdict.fail(STAGE, "bad_shape", f"not a valid record: {str(exc)[:300]}")


def style_verdict(t: Trajectory, style: str) -> Verdict | None:
    """The calls fit the asked-for style (format stage, ``style_mismatch``), else None."""
    names = [c.name for c in t.calls()]
    want = {"simple": len(names) == 1, "multiple": len(names) == 1,
            "parallel": len(names) >= 2 and len(set(names)) == 1,
            "parallel_multiple": len(names) >= 2 and len(set(names)) >= 2,
            "irrelevance": not names}[style]
    if want:
        return None
    return Verdict.fail("format", "style_mismatch",
                        f"{style} asks for other calls than {names or 'none'}", calls=names)
