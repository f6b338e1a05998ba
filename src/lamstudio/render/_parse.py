"""Parse model output into tool calls, content and reasoning, whatever template wrote it.

Formats read: the lamstudio default (``text[TOOL_CALLS][{"name":..,"arguments":{..}}]``),
lamstudio's ``chatml_tools`` (text, a newline, then that JSON list in a ```json fence),
Mistral's ``[TOOL_CALLS]`` prefix (a list, or ``name[ARGS]{...}``), Hermes/Qwen
``<tool_call>{...}</tool_call>`` tags (any number), ``<think>...</think>`` reasoning, JSON in
code fences, bare xLAM-style JSON, OpenAI-shaped ``{"function": {...}}`` items and Llama-style
``"parameters"``. ``arguments`` given as a JSON string are decoded.

``parse_output`` never raises: malformed output becomes an ``error_code`` with a readable
``error``, and whatever calls could be read are still returned:

=====================  ====================================================================
``invalid_json``       a call block that is not JSON (also a ```json block that is not)
``too_deep``           JSON nested more than 128 levels
``number_too_large``   an integer literal over 4,300 digits
``non_finite_number``  ``NaN``, ``Infinity`` or an overflowing float (``1e999``)
``bad_encoding``       a lone surrogate (``"\\ud800"``) in the JSON, or in the text (there
                       replaced by U+FFFD)
``bad_call_shape``     a call that is not ``{"name": str, "arguments": object}``
``unclosed_tag``       ``<tool_call>``, ``<think>`` or a code fence never closed
``trailing_text``      text after the calls
``empty``              no content and no call
``not_text``           not a string (or bytes)
``parser_error``       a bug in this module (the last line of defence)
=====================  ====================================================================

The four value codes are the readers' (``lamstudio.io``): a value no writer could keep is
never returned in a call.

JSON is decoded with ``lamstudio.io.decode_prefix`` / ``parse_json`` (strict, one way in for
outside JSON), and every scan is linear: megabytes of ``{``, ``<think></think>`` or
end-of-turn strings take milliseconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lamstudio.io import JsonValueError, decode_prefix, element_end, parse_json
from lamstudio.render._templates import TOOL_CALLS_MARKER
from lamstudio.schema import FunctionCall, ToolCall

# End-of-turn strings a decoder may leave at the end when special tokens are kept.
_TERMINATORS = ("<|end|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|endoftext|>",
                "<|end_of_text|>", "</s>", "<end_of_turn>")
_FENCE = re.compile(r"```[ \t]*([A-Za-z_]*)[ \t]*\n?(.*?)```", re.DOTALL)
_FENCE_HEAD = re.compile(r"[ \t]*[A-Za-z_]*[ \t]*\n?")
_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE = " \t\r\n"
# JSON that is JSON but holds a value no writer can keep (vs ``invalid_json``: not JSON).
_VALUE_CODES = ("too_deep", "number_too_large", "non_finite_number", "bad_encoding")


@dataclass
class ParsedOutput:
    calls: list[FunctionCall] = field(default_factory=list)
    content: str = ""
    reasoning: str | None = None
    error_code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None

    def to_message(self) -> dict[str, Any]:
        """An OpenAI-style assistant message (arguments as JSON strings, as on the wire)."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.calls:
            msg["tool_calls"] = [
                {"id": f"call_{k}", "type": "function",
                 "function": {"name": c.name,
                              "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                for k, c in enumerate(self.calls)]
        if self.reasoning:
            msg["reasoning_content"] = self.reasoning
        return msg


class _Issues:
    """Collects the first error; later ones only add to the count in the message."""

    def __init__(self) -> None:
        self.code: str | None = None
        self.message: str | None = None

    def add(self, code: str, message: str) -> None:
        if self.code is None:
            self.code, self.message = code, message

    def json(self, exc: JsonValueError, where: str) -> None:
        """A JSON decoding error: the readers' reason code (``bad_json`` is this module's
        ``invalid_json``)."""
        code = "invalid_json" if exc.code == "bad_json" else exc.code
        self.add(code, f"{where}: {exc.message}")


def render_calls(calls: Iterable[FunctionCall | ToolCall | dict], content: str = "", *,
                 style: str = "marker") -> str:
    """The assistant text a lamstudio template writes for ``content`` plus ``calls``.

    ``style="marker"`` (the default template): ``text[TOOL_CALLS][{"name":..,"arguments":..}]``;
    ``style="fence"`` (``chatml_tools``): ``text`` + newline + the same JSON list in a
    `````json`` fence (``CALL_STYLES`` maps a template name to its style).
    """
    if style not in ("marker", "fence"):
        raise ValueError(f"unknown call style {style!r}: marker or fence")
    items = []
    for c in calls:
        fn = c.function if isinstance(c, ToolCall) else c
        if isinstance(fn, dict):
            fn = fn.get("function", fn)
            items.append({"name": fn["name"], "arguments": fn.get("arguments") or {}})
        else:
            items.append({"name": fn.name, "arguments": fn.arguments})
    if not items:
        return content
    block = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    if style == "fence":
        return (content + "\n" if content else "") + "```json\n" + block + "\n```"
    return content + TOOL_CALLS_MARKER + block


def parse_output(text: Any) -> ParsedOutput:
    """Parse one model output. Never raises (see the module docstring for error codes)."""
    try:
        return _parse(text)
    except Exception as exc:  # noqa: BLE001 - last line of defence; tests exercise _parse
        return ParsedOutput(content=text if isinstance(text, str) else "",
                            error_code="parser_error", error=f"{type(exc).__name__}: {exc}")


def _parse(text: Any) -> ParsedOutput:
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return ParsedOutput(error_code="not_text",
                            error=f"expected text, got {type(text).__name__}")
    issues = _Issues()
    if not text.isascii() and _SURROGATE.search(text):
        # Content no writer can encode: kept readable, and said.
        issues.add("bad_encoding", "the output holds a lone surrogate (replaced by U+FFFD)")
        text = _SURROGATE.sub("\ufffd", text)
    text = _strip_terminators(text)
    # Reasoning comes before any call: only that part is searched for <think>, so a tag
    # inside an argument value is left alone.
    cut = min((i for i in (text.find(TOOL_CALLS_MARKER), text.find("<tool_call>")) if i >= 0),
              default=len(text))
    reasoning, head = _split_think(text[:cut], issues)
    text = head + text[cut:]
    if TOOL_CALLS_MARKER in text:
        content, calls = _marker_calls(text, issues)
    elif "<tool_call>" in text:
        content, calls = _tag_calls(text, issues)
    else:
        content, calls = _fenced_or_bare_calls(text, issues)
    out = ParsedOutput(calls=calls, content=content, reasoning=reasoning,
                       error_code=issues.code, error=issues.message)
    if not out.calls and not out.content and out.error_code is None:
        out.error_code, out.error = "empty", "the output has no content and no tool call"
    return out


def _strip_terminators(text: str) -> str:
    # An end index, not repeated slicing: a reply of a million terminators stays linear.
    end = len(text.rstrip())
    changed = True
    while changed and text.endswith(_TERMINATORS, 0, end):
        changed = False
        for term in _TERMINATORS:
            if text.endswith(term, 0, end):
                end -= len(term)
                while end and text[end - 1].isspace():
                    end -= 1
                changed = True
    return text[:end]


def _split_think(text: str, issues: _Issues) -> tuple[str | None, str]:
    parts: list[str] = []
    kept: list[str] = []
    pos = 0
    first_close = text.find("</think>")
    if first_close >= 0 and text.find("<think>", 0, first_close) < 0:
        # The generation prompt opened <think> (Qwen3, DeepSeek-R1): output starts inside it.
        parts.append(text[:first_close])
        pos = first_close + 8
    while (start := text.find("<think>", pos)) >= 0:
        kept.append(text[pos:start])
        end = text.find("</think>", start)
        if end < 0:
            parts.append(text[start + 7:])
            pos = len(text)
            issues.add("unclosed_tag", "<think> is never closed (truncated output?)")
            break
        parts.append(text[start + 7:end])
        pos = end + 8
    kept.append(text[pos:])
    reasoning = "\n".join(p.strip() for p in parts if p.strip())
    return (reasoning or None), "".join(kept)


def _marker_calls(text: str, issues: _Issues) -> tuple[str, list[FunctionCall]]:
    content, _, rest = text.partition(TOOL_CALLS_MARKER)
    rest = rest.strip()
    if not rest or rest[0] in "[{":
        return content.strip(), _calls_from_text(rest, f"after {TOOL_CALLS_MARKER}", issues)
    return content.strip(), _args_calls(rest, issues)


def _args_calls(rest: str, issues: _Issues) -> list[FunctionCall]:
    """Mistral v11: ``name[ARGS]{...}``, the marker repeated before each further call."""
    calls: list[FunctionCall] = []
    pos = 0  # positions, not slices: many calls stay linear
    while pos < len(rest):
        sep = rest.find("[ARGS]", pos)
        if sep < 0:
            issues.add("invalid_json", f"no JSON after {TOOL_CALLS_MARKER}")
            break
        name = rest[pos:sep].strip()
        try:
            args, end = decode_prefix(rest, _skip(rest, sep + 6))
        except JsonValueError as exc:
            issues.json(exc, f"after [ARGS] of {name[:40]!r}")
            break
        call = _one_call({"name": name, "arguments": args}, "call after [ARGS]", issues)
        if call is not None:
            calls.append(call)
        pos = _skip(rest, end)
        if rest.startswith(TOOL_CALLS_MARKER, pos):
            pos = _skip(rest, pos + len(TOOL_CALLS_MARKER))
        elif pos < len(rest):
            issues.add("trailing_text", f"text after the calls: {rest[pos:pos + 40]!r}")
            break
    return calls


def _skip(text: str, pos: int) -> int:
    """The first position at or after ``pos`` that is not whitespace."""
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _tag_calls(text: str, issues: _Issues) -> tuple[str, list[FunctionCall]]:
    content: list[str] = []
    calls: list[FunctionCall] = []
    pos = 0
    while (start := text.find("<tool_call>", pos)) >= 0:
        content.append(text[pos:start])
        end = text.find("</tool_call>", start)
        if end < 0:
            issues.add("unclosed_tag", "<tool_call> is never closed (truncated output?)")
            body, pos = text[start + 11:], len(text)
        else:
            body, pos = text[start + 11:end], end + 12
        calls += _calls_from_text(body, "inside <tool_call>", issues)
    content.append(text[pos:])
    return "".join(content).strip(), calls


def _fenced_or_bare_calls(text: str, issues: _Issues) -> tuple[str, list[FunctionCall]]:
    stripped = text.strip()
    if stripped[:1] in "[{" and stripped:
        local = _Issues()
        calls = _calls_from_text(stripped, "in the output", local, require_shape=True)
        if calls or _looks_like_call(stripped) or local.code in _VALUE_CODES:
            if local.code:
                issues.add(local.code, local.message or "")
            return ("" if calls else stripped), calls
    calls: list[FunctionCall] = []
    kept: list[str] = []
    pos = last_end = 0
    for m in _FENCE.finditer(text):
        last_end = m.end()
        body = m.group(2).strip()
        if body[:1] not in ("[", "{"):
            continue
        local = _Issues()
        found = _calls_from_text(body, "in a code fence", local, require_shape=True)
        if not found and not _looks_like_call(body) and local.code != "bad_call_shape":
            # JSON that is not a call (an answer, an example) stays content; a ```json block
            # that is not even JSON is most likely a broken call block (chatml_tools).
            if m.group(1).lower() == "json" and local.code in ("invalid_json",
                                                               *_VALUE_CODES):
                issues.add("invalid_json", f"{local.message} (a ```json block)")
            continue
        if local.code:
            issues.add(local.code, local.message or "")
        calls += found
        kept.append(text[pos:m.start()])
        pos = m.end()
    opened = text.find("```", last_end)
    if opened >= 0:  # an odd fence: the output stopped inside a code block
        body = _FENCE_HEAD.sub("", text[opened + 3:], count=1).strip()
        if body[:1] in ("[", "{"):
            issues.add("unclosed_tag", "a ``` code block is never closed (truncated output?)")
            calls += _calls_from_text(body, "in an unclosed code fence", _Issues())
            kept.append(text[pos:opened])
            pos = len(text)
    kept.append(text[pos:])
    return "".join(kept).strip(), calls


def _looks_like_call(s: str) -> bool:
    head = s[:200].replace(" ", "").replace("\n", "")
    return head.startswith(('{"name"', '[{"name"', '{"function"', '[{"function"',
                            '{"type":"function"', '[{"type":"function"'))


def _calls_from_text(text: str, where: str, issues: _Issues,
                     require_shape: bool = False) -> list[FunctionCall]:
    """Decode one or more JSON values (a list or objects one after another) into calls."""
    s = text.strip()
    if not s:
        issues.add("invalid_json", f"no JSON {where}")
        return []
    values: list[Any] = []
    pos = 0
    while pos < len(s):
        try:
            value, pos = decode_prefix(s, pos)
        except JsonValueError as exc:
            if s[pos] != "[" or exc.code == "bad_json":
                issues.json(exc, f"JSON {where}")
                break
            # Well-formed, but a value cannot be kept: one bad call in a list must not cost
            # the others, so the list is read item by item.
            value, end = _list_items(s, pos, where, issues)
            values.append(value)
            if end is None:
                break
            pos = end
            continue
        values.append(value)
        while pos < len(s) and s[pos] in " \t\r\n,;":
            pos += 1
        if s.startswith(TOOL_CALLS_MARKER, pos):  # Mistral repeats the marker per call
            pos = _skip(s, pos + len(TOOL_CALLS_MARKER))
        if pos < len(s) and s[pos] not in "[{":
            issues.add("trailing_text", f"text after the JSON {where}: {s[pos:pos + 40]!r}")
            break
    if require_shape and not any(_is_call_shaped(v) for v in values):
        return []
    calls: list[FunctionCall] = []
    for value in values:
        items = value if isinstance(value, list) else [value]
        for k, item in enumerate(items):
            call = _one_call(item, f"call {k} {where}", issues)
            if call is not None:
                calls.append(call)
    return calls


def _list_items(s: str, pos: int, where: str, issues: _Issues) -> tuple[list, int | None]:
    """The items of the JSON list at ``s[pos]`` that can be read, when the list as a whole
    cannot; and where the list ends. An item holding a value no writer keeps is skipped
    (its error recorded); a list that is not JSON at all (truncated output, garbage) gives
    no items and no end, as a list that fails to decode always did: a cut-off list of calls
    is not a shorter list of calls."""
    items: list[Any] = []
    i = _skip(s, pos + 1)
    while i < len(s):
        try:
            item, end = decode_prefix(s, i)
            items.append(item)
        except JsonValueError as exc:
            issues.json(exc, f"JSON {where}, item {len(items)}")
            found = None if exc.code == "bad_json" else element_end(s, i)
            if found is None:
                return [], None
            end = found
        i = _skip(s, end)
        if s.startswith(",", i):
            i = _skip(s, i + 1)
        elif s.startswith("]", i):
            return items, i + 1
        else:
            issues.add("invalid_json", f"JSON {where}: expected ',' or ']' at char {i}")
            return [], None
    issues.add("invalid_json", f"JSON {where}: the list is never closed")
    return [], None


def _is_call_shaped(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    # "arguments" without a name is a broken call, not an answer that happens to be JSON.
    return bool(items) and all(isinstance(i, dict) and ("name" in i or "function" in i
                                                        or "arguments" in i) for i in items)


def _one_call(item: Any, where: str, issues: _Issues) -> FunctionCall | None:
    if isinstance(item, dict) and isinstance(item.get("function"), dict):
        item = item["function"]  # OpenAI shape: {"type": "function", "function": {...}}
    if not isinstance(item, dict):
        issues.add("bad_call_shape", f"{where} is a {type(item).__name__}, not an object")
        return None
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        issues.add("bad_call_shape", f"{where} has no function name")
        return None
    args = item.get("arguments", item.get("parameters"))
    if args is None:
        args = {}
    if isinstance(args, str):
        try:
            args = parse_json(args) if args.strip() else {}
        except JsonValueError as exc:
            issues.json(exc, f"{where}: the arguments string")
            return None
    if not isinstance(args, dict):
        issues.add("bad_call_shape",
                   f"{where}: arguments is a {type(args).__name__}, not an object")
        return None
    try:
        return FunctionCall(name=name, arguments=args)
    except ValidationError as exc:  # a value no writer can keep: the schema's reason code
        err = exc.errors()[0]
        issues.add(str(err["type"]), f"{where}: {err['msg']}")
        return None
