"""From generated text to an answer: content, tool calls and reasoning, whole or streamed.

``settle`` is the one rule for a finished generation; ``StreamParser`` feeds the same text in
pieces and emits content deltas and complete calls that add up to exactly what ``settle``
returns (property-tested). Both read calls with ``lamstudio.render.parse_output``, the parser
that training and eval use. This module imports neither vLLM nor torch: the vLLM plugin is a
thin adapter over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lamstudio.render import TOOL_CALLS_MARKER, parse_output
from lamstudio.schema import FunctionCall

# Where a call block may start (lamstudio's default template, Hermes tags, chatml_tools'
# ```json fence): content before it streams; what follows waits for the parser.
CALL_MARKERS = (TOOL_CALLS_MARKER, "<tool_call>", "```")
# Text the parser may read differently once more arrives (reasoning, end tokens):
# streaming content stops there and the rest comes when generation ends.
_HOLD_MARKERS = ("<think>", "</think>", "<|end|>", "<|im_end|>", "<|eot_id|>",
                 "<|eom_id|>", "<|endoftext|>", "<|end_of_text|>", "</s>", "<end_of_turn>")
_MARKERS = CALL_MARKERS + _HOLD_MARKERS


@dataclass
class Settled:
    """A finished generation as the API returns it."""

    content: str
    calls: list[FunctionCall] = field(default_factory=list)
    reasoning: str | None = None
    error_code: str | None = None  # the parser's, when the output did not parse cleanly


def settle(text: str, emit_calls: bool = True, think_open: bool = False) -> Settled:
    """Parse a whole generation. Output that does not parse, and holds no readable call,
    comes back verbatim (stripped) as content; with ``emit_calls=False`` calls are dropped
    and only the text around them is kept.

    ``think_open``: the prompt ended inside ``<think>`` (Qwen3-style), so text before the
    first ``</think>`` is reasoning. Otherwise a ``</think>`` nobody opened is content.
    """
    raw = text
    if not think_open and "</think>" in text and "<think>" not in text.split("</think>")[0]:
        text = "<think></think>" + text  # an empty block: the stray tag stays content
    parsed = parse_output(text)
    error = parsed.error_code if parsed.error_code != "empty" else None
    if error and not parsed.calls:
        return Settled(content=raw.strip(), error_code=error)
    return Settled(content=parsed.content, calls=parsed.calls if emit_calls else [],
                   reasoning=parsed.reasoning, error_code=error)


@dataclass
class Delta:
    """One streamed piece: content text, reasoning text, or a complete call at ``index``."""

    content: str | None = None
    reasoning: str | None = None
    call: FunctionCall | None = None
    index: int = 0


def _partial_marker(text: str) -> int:
    """Length of the longest end of ``text`` that could begin a marker."""
    best = 0
    for m in _MARKERS:
        for k in range(min(len(m) - 1, len(text)), best, -1):
            if text.endswith(m[:k]):
                best = k
                break
    return best


class StreamParser:
    """Incremental ``settle``: ``feed`` pieces of text, then ``finish``.

    Content streams as it is generated, up to the first call marker (or anything the
    parser may read otherwise). Inside a call block, each time the text so far parses
    cleanly the calls not yet sent are emitted whole (name and arguments at once).
    ``finish`` sends whatever is left so that the pieces add up to ``settle(text)``.
    """

    def __init__(self, emit_calls: bool = True, think_open: bool = False) -> None:
        self.emit_calls, self.think_open = emit_calls, think_open
        self.text = ""
        self.sent = ""          # content sent so far
        self.calls_sent: list[FunctionCall] = []
        # content -> calls | hold; reasoning models' output is held until it ends
        self.mode = "hold" if think_open else "content"
        self.consistent = True  # False if finish found it had sent something settle disowns

    def feed(self, piece: str) -> list[Delta]:
        self.text += piece
        out: list[Delta] = []
        if self.mode == "content":
            out += self._content()
        if self.mode == "calls" and self.emit_calls:
            parsed = parse_output(self.text)
            if parsed.ok and len(parsed.calls) > len(self.calls_sent):
                out += self._send_calls(parsed.calls)
        return out

    def finish(self) -> tuple[list[Delta], Settled]:
        final = settle(self.text, self.emit_calls, self.think_open)
        out: list[Delta] = []
        if final.reasoning:
            out.append(Delta(reasoning=final.reasoning))
        if final.content.startswith(self.sent):
            if final.content[len(self.sent):]:
                out.append(Delta(content=final.content[len(self.sent):]))
        else:
            self.consistent = False
        if final.calls[:len(self.calls_sent)] != self.calls_sent:
            self.consistent = False
        else:
            out += self._send_calls(final.calls)
        return out, final

    def _content(self) -> list[Delta]:
        body = self.text.lstrip()
        if not body:
            return []
        if body[0] in "[{":  # bare JSON may be a call: wait for the whole output
            self.mode = "hold"
            return []
        hits = [(body.find(m), m) for m in _MARKERS if m in body]
        if hits:
            cut, marker = min(hits)
            self.mode = "calls" if marker in CALL_MARKERS else "hold"
        else:
            cut = len(body) - _partial_marker(body)
        safe = body[:cut].rstrip()
        if len(safe) > len(self.sent) and safe.startswith(self.sent):
            delta, self.sent = safe[len(self.sent):], safe
            return [Delta(content=delta)]
        return []

    def _send_calls(self, calls: list[FunctionCall]) -> list[Delta]:
        out = []
        for k in range(len(self.calls_sent), len(calls)):
            out.append(Delta(call=calls[k], index=k))
            self.calls_sent.append(calls[k])
        return out
