"""The parse stage: the generator's reply -> a query and answer calls -> a record.

Reply contract: one JSON object ``{"query": str, "answers": [{"name": str, "arguments":
{...}}]}``, possibly in a code fence or with prose around it. The reply is outside text:
it is decoded with ``lamstudio.io``'s strict rules, so a value no writer can keep is a
reject here, never a crash later. Reject codes: ``empty_output``, ``not_text`` (the
content is not a string), ``truncated`` (cut at max tokens before the JSON closed),
``no_json``, ``invalid_json``, ``bad_shape`` (no query, answers not a list of calls,
arguments not an object), and the readers' codes for JSON that is well formed but cannot
be kept: ``too_deep``, ``number_too_large``, ``non_finite_number``, ``bad_encoding``.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import ValidationError

from lamstudio.io import JsonValueError, find_json, parse_json
from lamstudio.llm import ChatResult
from lamstudio.schema import Trajectory, validate_record
from lamstudio.synth._plan import Task
from lamstudio.synth._prompts import load_refusals
from lamstudio.verify import Verdict

STAGE = "parse"
_JSON_CODES = {"too_deep", "number_too_large", "non_finite_number", "bad_encoding",
               "not_json"}


def parse_reply(result: ChatResult) -> tuple[str, list[dict[str, Any]]] | Verdict:
    content = result.content
    if content is not None and not isinstance(content, str):
        return Verdict.fail(STAGE, "not_text", f"the reply's content is a "
                            f"{type(content).__name__}, not text")
    text = (content or "").strip()
    if not text:
        return Verdict.fail(STAGE, "empty_output", "the generator returned no text")
    found = first_object(text)
    if isinstance(found, dict):
        return _shape(found)
    if result.finish_reason == "length" and (found is None or found.code == "bad_json"):
        return Verdict.fail(STAGE, "truncated", "the reply hit max_tokens before its "
                            "JSON object closed")
    if found is None:
        return Verdict.fail(STAGE, "no_json", "no JSON object in the reply")
    return Verdict.fail(STAGE, _code(found), found.message)


def first_object(text: str) -> dict[str, Any] | JsonValueError | None:
    """The reply's JSON object (fences and prose around it are ignored), else why not:
    ``io.find_json``, whose search ends at a candidate that is JSON but cannot be kept
    (the objects nested in it, such as an answer call, are not the reply)."""
    found = find_json(text, dict)
    return found[0] if isinstance(found, tuple) else found


def _code(exc: JsonValueError) -> str:
    return "invalid_json" if exc.code == "bad_json" else exc.code


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
        if isinstance(args, str):  # the OpenAI wire form: JSON text, decoded strictly
            try:
                args = parse_json(args)
            except JsonValueError as exc:
                return Verdict.fail(STAGE, _code(exc), f"answers[{k}].arguments: "
                                    f"{exc.message}")
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
    raw = {"id": task.id, "source": "lamstudio-synth-apigen", "tools": tools,
           "messages": [{"role": "user", "content": query}, answer],
           "meta": {"category": task.style, "tool_category": task.category, **meta}}
    try:
        return Trajectory.model_validate(raw)
    except ValidationError as exc:
        # The record refuses values no writer keeps with the readers' code and path.
        issues = validate_record(raw).errors
        if not issues:
            return Verdict.fail(STAGE, "bad_shape", f"not a valid record: {str(exc)[:300]}")
        code = issues[0].code if issues[0].code in _JSON_CODES else "bad_shape"
        return Verdict.fail(STAGE, code, f"not a valid record: {issues[0].path}: "
                            f"{issues[0].message}"[:300])


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
