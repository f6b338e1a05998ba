"""The template checker (after ActionStudio's): is what we train what we mean to train?

For one record it checks, independently of how the labels were made:

* ``trained_outside_assistant``: no trained token lies in a system, user or tool turn (turn
  regions come from rendering message prefixes, not from the label spans);
* ``prompt_mismatch``: for every assistant turn the inference prompt (context + generation
  prompt) tokenizes to exactly the ids that precede the turn in the training render, and the
  turn's first token is the first trained one;
* ``reparse_mismatch``: parsing the rendered assistant turn gives back its calls and text.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamstudio.render._encode import IGNORE_INDEX, Encoded, Renderer, RenderError, chat_of
from lamstudio.schema import Trajectory


@dataclass(frozen=True)
class CheckFailure:
    code: str
    record_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.record_id}: {self.message} [{self.code}]"


def check_record(renderer: Renderer, t: Trajectory,
                 enc: Encoded | None = None) -> list[CheckFailure]:
    try:
        enc = enc or renderer.encode(t)
        text, spans = renderer.render_with_spans(t)
    except RenderError as exc:
        return [CheckFailure(exc.code, t.id, str(exc))]
    _, offsets = renderer.tokenize_text(text)  # control tokens from message text as text
    out = _trained_outside(renderer, t, text, offsets, enc)
    out += _prompt_identity(renderer, t, enc)
    out += _reparse(renderer, t, text, spans)
    return out


def _trained_outside(renderer: Renderer, t: Trajectory, text: str,
                     offsets: list[tuple[int, int]], enc: Encoded) -> list[CheckFailure]:
    msgs, tools = chat_of(t)
    regions = []  # character regions of assistant turns, header included
    for i, m in enumerate(msgs):
        if m["role"] == "assistant":
            a = len(renderer._render(msgs[:i], tools, add_generation_prompt=False))
            b = len(renderer._render(msgs[: i + 1], tools, add_generation_prompt=False))
            regions.append((a, b))
    bad = [k for k, (s, _) in enumerate(offsets)
           if enc.labels[k] != IGNORE_INDEX and not any(a <= s < b for a, b in regions)]
    if not bad:
        return []
    s = offsets[bad[0]][0]
    return [CheckFailure("trained_outside_assistant", t.id,
                         f"{len(bad)} trained token(s) outside assistant turns, first at "
                         f"char {s}: {text[max(0, s - 20):s + 20]!r}")]


def _prompt_identity(renderer: Renderer, t: Trajectory, enc: Encoded) -> list[CheckFailure]:
    out = []
    for k, m in enumerate(t.messages):
        if m.role != "assistant":
            continue
        prompt = renderer.prompt_ids(t, upto=k)
        p = len(prompt)
        if enc.input_ids[:p] != prompt:
            out.append(CheckFailure("prompt_mismatch", t.id,
                                    f"message {k}: the inference prompt's tokens differ from "
                                    "the training render's"))
        elif (m.train is not False and m.weight != 0 and 0 < p < len(enc.labels)
              and (enc.labels[p] == IGNORE_INDEX or enc.labels[p - 1] != IGNORE_INDEX)):
            out.append(CheckFailure("prompt_mismatch", t.id,
                                    f"message {k}: trained tokens do not start right after "
                                    "the generation prompt"))
    return out


def _reparse(renderer: Renderer, t: Trajectory, text: str,
             spans: list[tuple[int, int]]) -> list[CheckFailure]:
    out = []
    assistant = [m for m in t.messages if m.role == "assistant"]
    for k, (m, (s, e)) in enumerate(zip(assistant, spans, strict=True)):
        parsed = renderer.parse(text[s:e])
        want = [c.function for c in m.tool_calls or []]
        if parsed.calls != want or parsed.content != (m.content or "").strip():
            out.append(CheckFailure(
                "reparse_mismatch", t.id,
                f"assistant turn {k}: parsing {text[s:e][:80]!r} gives calls "
                f"{[c.name for c in parsed.calls]} and content {parsed.content[:40]!r}"))
    return out
