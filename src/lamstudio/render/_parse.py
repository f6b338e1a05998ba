"""Parse model output into tool calls, content and reasoning, whatever template wrote it.

Formats read: the lamstudio default (``text[TOOL_CALLS][{"name":..,"arguments":{..}}]``),
lamstudio's ``chatml_tools`` (text, a newline, then that JSON list in a ```json fence),
Mistral's ``[TOOL_CALLS]`` prefix (a list, or ``name[ARGS]{...}``), Hermes/Qwen
``<tool_call>{...}</tool_call>`` tags (any number), ``<think>...</think>`` reasoning, JSON in
code fences, bare xLAM-style JSON, OpenAI-shaped ``{"function": {...}}`` items and Llama-style
``"parameters"``. ``arguments`` given as a JSON string are decoded.

``parse_output`` never raises: malformed output becomes an ``error_code`` (``invalid_json``,
also for a ```json block that is not JSON; ``bad_call_shape``; ``unclosed_tag``, also for a
code fence never closed; ``trailing_text``; ``empty``; ``not_text``) with a readable
``error``; whatever calls could be read are still returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lamstudio.render._templates import TOOL_CALLS_MARKER
from lamstudio.schema import FunctionCall, ToolCall

# End-of-turn strings a decoder may leave at the end when special tokens are kept.
_TERMINATORS = ("<|end|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|endoftext|>",
                "<|end_of_text|>", "</s>", "<end_of_turn>")
_FENCE = re.compile(r"```[ \t]*([A-Za-z_]*)[ \t]*\n?(.*?)```", re.DOTALL)
_FENCE_HEAD = re.compile(r"[ \t]*[A-Za-z_]*[ \t]*\n?")
_DECODER = json.JSONDecoder()


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
    text = text.rstrip()
    changed = True
    while changed:
        changed = False
        for term in _TERMINATORS:
            if text.endswith(term):
                text, changed = text[: -len(term)].rstrip(), True
    return text


def _split_think(text: str, issues: _Issues) -> tuple[str | None, str]:
    parts: list[str] = []
    if "</think>" in text and "<think>" not in text.split("</think>", 1)[0]:
        # The generation prompt opened <think> (Qwen3, DeepSeek-R1): output starts inside it.
        head, text = text.split("</think>", 1)
        parts.append(head)
    while (start := text.find("<think>")) >= 0:
        end = text.find("</think>", start)
        if end < 0:
            parts.append(text[start + 7:])
            text = text[:start]
            issues.add("unclosed_tag", "<think> is never closed (truncated output?)")
            break
        parts.append(text[start + 7:end])
        text = text[:start] + text[end + 8:]
    reasoning = "\n".join(p.strip() for p in parts if p.strip())
    return (reasoning or None), text


def _marker_calls(text: str, issues: _Issues) -> tuple[str, list[FunctionCall]]:
    content, _, rest = text.partition(TOOL_CALLS_MARKER)
    rest = rest.strip()
    if not rest or rest[0] in "[{":
        return content.strip(), _calls_from_text(rest, f"after {TOOL_CALLS_MARKER}", issues)
    return content.strip(), _args_calls(rest, issues)


def _args_calls(rest: str, issues: _Issues) -> list[FunctionCall]:
    """Mistral v11: ``name[ARGS]{...}``, the marker repeated before each further call."""
    calls: list[FunctionCall] = []
    while rest:
        name, sep, after = rest.partition("[ARGS]")
        if not sep:
            issues.add("invalid_json", f"no JSON after {TOOL_CALLS_MARKER}")
            break
        after = after.lstrip()
        try:
            args, end = _DECODER.raw_decode(after)
        except (json.JSONDecodeError, RecursionError):
            issues.add("invalid_json", f"invalid JSON after [ARGS] of {name.strip()!r}")
            break
        call = _one_call({"name": name.strip(), "arguments": args}, "call after [ARGS]", issues)
        if call is not None:
            calls.append(call)
        rest = after[end:].lstrip()
        if rest.startswith(TOOL_CALLS_MARKER):
            rest = rest[len(TOOL_CALLS_MARKER):].lstrip()
        elif rest:
            issues.add("trailing_text", f"text after the calls: {rest[:40]!r}")
            break
    return calls


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
        if calls or _looks_like_call(stripped):
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
            if m.group(1).lower() == "json" and local.code == "invalid_json":
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
            value, pos = _DECODER.raw_decode(s, pos)
        except json.JSONDecodeError as exc:
            issues.add("invalid_json", f"invalid JSON {where} at char {exc.pos}: {exc.msg}")
            break
        except RecursionError:
            issues.add("invalid_json", f"JSON {where} is nested too deeply")
            break
        values.append(value)
        while pos < len(s) and s[pos] in " \t\r\n,;":
            pos += 1
        if s.startswith(TOOL_CALLS_MARKER, pos):  # Mistral repeats the marker per call
            pos += len(TOOL_CALLS_MARKER)
            while pos < len(s) and s[pos] in " \t\r\n":
                pos += 1
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
            args = json.loads(args) if args.strip() else {}
        except (json.JSONDecodeError, RecursionError):
            issues.add("invalid_json", f"{where}: arguments string is not valid JSON")
            return None
    if not isinstance(args, dict):
        issues.add("bad_call_shape",
                   f"{where}: arguments is a {type(args).__name__}, not an object")
        return None
    return FunctionCall(name=name, arguments=args)
