"""The one way in for a model's reply: ``read_reply`` turns a ``ChatResult`` (content and
tool calls exactly as a server sent them) into values an episode can keep and write.

What a server or model may send, and what becomes of it:

* text with a lone surrogate (``"bad \\ud800"``, which no UTF-8 writer can encode): each
  surrogate is replaced by U+FFFD, the way a decoder treats bytes that are not UTF-8, and
  counted (``meta.agent.replaced_surrogates``); the rest of the text is kept as said;
* content that is not text (an object, a number): the reply is unusable, the episode
  stops with ``model_error`` and the error says ``bad_content`` with the value's type.
  A list of OpenAI text parts (``[{"type": "text", "text": ...}]``) is read as their text;
* a call without a usable name (missing, not a string, ``"function": "get_x"``): it is
  recorded under the name ``<missing>`` and answered with an ``unknown_tool`` error that
  quotes what was sent;
* arguments that are not a JSON object, or hold values no writer can keep (NaN, a
  5000-digit integer, 500 levels, a lone surrogate): decoded with ``io.parse_json`` and
  checked with ``io.check_value``; such a call does not run, it is answered with a
  ``bad_arguments`` error quoting the arguments as sent, and recorded with ``{}`` (never
  with a value the model did not say, such as NaN turned into ``null``).

Errors go back to the model as ``tool`` messages, as every other failed call does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamstudio.agent._text import clean_text, label, shown
from lamstudio.agent._tools import ToolOutcome, error_outcome, schema_problems, unknown_tool
from lamstudio.io import JsonValueError, check_value, parse_json

MISSING_NAME = "<missing>"


@dataclass
class Call:
    id: str
    name: str
    arguments: dict[str, Any]
    problem: ToolOutcome | None = None  # set when the call must not run


@dataclass
class Reply:
    content: str | None
    calls: list[Call] = field(default_factory=list)
    replaced: int = 0  # lone surrogates replaced by U+FFFD
    problem: str = ""  # "bad_content: ..." when the reply cannot be used at all


def read_text(value: Any) -> tuple[str | None, int, str]:
    """Content as text: ``(text, replaced, problem)``; ``problem`` is set (and text None)
    when ``value`` is not text."""
    if value is None:
        return None, 0, ""
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                       and isinstance(p.get("text"), str) for p in value):
        value = "".join(p["text"] for p in value)
    if not isinstance(value, str):
        return None, 0, f"bad_content: the reply's content is a {type(value).__name__}, not text"
    text, n = clean_text(value)
    return text, n, ""


def read_reply(result: Any, step: int, by_name: dict[str, dict[str, Any]]) -> Reply:
    """The reply of model call ``step`` (see the module docstring); ``by_name`` are the
    offered tool specs, for the checks that run before any call does."""
    content, replaced, problem = read_text(result.content)
    replaced += getattr(result, "replaced_surrogates", 0)  # repaired by the HTTP client
    if problem:
        return Reply(None, problem=problem)
    raw = result.tool_calls
    if raw is not None and not isinstance(raw, list):
        raw = [raw]
    calls = []
    for k, item in enumerate(raw or []):
        call, n = _read_call(item, f"call_{step}_{k}", by_name)
        calls.append(call)
        replaced += n
    return Reply(content, calls, replaced)


def _read_call(item: Any, call_id: str,
               by_name: dict[str, dict[str, Any]]) -> tuple[Call, int]:
    """One call; its id is unique in the episode (servers often reuse ``call_0``)."""
    fn = item.get("function", item) if isinstance(item, dict) else item
    if not isinstance(fn, dict):
        what = shown(fn) if isinstance(fn, str) else f"a {type(fn).__name__}"
        return Call(call_id, MISSING_NAME, {}, error_outcome(
            "unknown_tool", f"the call has no function name (its function is {what})")), 0
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        got = "missing" if name is None else "empty" if isinstance(name, str) \
            else f"a {type(name).__name__}, not a string"
        return Call(call_id, MISSING_NAME, {}, error_outcome(
            "unknown_tool", f"the call's function name is {got}")), 0
    name, replaced = clean_text(name)
    args, problem = _read_arguments(name, fn.get("arguments"))
    # Arguments are recorded as said when they are an object the record can hold (even
    # if they do not fit the schema); otherwise as {}, the tool error quoting them.
    kept = args if isinstance(args, dict) else {}
    problem = problem or precheck(name, args, by_name)
    return Call(call_id, name, kept, problem), replaced


def _read_arguments(name: str, raw: Any) -> tuple[Any, ToolOutcome | None]:
    """Arguments as sent (a JSON string, or already an object) -> a writable value, or
    the ``bad_arguments`` outcome that quotes them."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    if isinstance(raw, str):
        try:
            return parse_json(raw), None
        except JsonValueError as exc:
            return None, error_outcome("bad_arguments", f"{label(name)}: arguments are not "
                                       f"valid JSON [{exc.code}]: {exc.message}; as sent: "
                                       f"{shown(raw)}")
    try:
        check_value(raw)
    except JsonValueError as exc:
        return None, error_outcome("bad_arguments", f"{label(name)}: arguments cannot be "
                                   f"kept [{exc.code}]: {exc.message}")
    return raw, None


def precheck(name: str, args: Any, by_name: dict[str, dict[str, Any]]) -> ToolOutcome | None:
    """An unknown tool or arguments that do not fit its schema, before anything runs."""
    if name not in by_name:
        return unknown_tool(name, sorted(by_name))
    problems = schema_problems(by_name[name], args)
    if problems:
        return error_outcome("bad_arguments", f"{name}: " + "; ".join(problems))
    return None
