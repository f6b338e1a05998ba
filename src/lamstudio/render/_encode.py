"""``Renderer``: a trajectory -> token ids + assistant-only labels, and inference prompts.

Labels come from character spans of assistant output mapped onto token offsets
(``return_offsets_mapping``), never from searching the text for the assistant's words:

* templates with ``{% generation %}`` blocks (the default one) mark the spans while
  rendering, in one pass;
* other templates are rendered prefix by prefix: turn *i* spans from the end of
  ``render(messages[:i], add_generation_prompt=True)`` to the end of
  ``render(messages[:i+1])``. A template for which these are not prefixes of the full
  render (e.g. one that drops earlier reasoning) is rejected with ``not_prefix_stable``:
  training on it would not match what the model sees at inference.

Control tokens inside message text (``<|im_end|>`` typed by a user, returned by a tool) are
tokenized as text, not as the template's markup, in training and at inference alike
(``_literal``): rendered texts are ``Rendered`` strings that carry those spans, and
``tokenize_prompt`` / ``encode`` read them.
"""

from __future__ import annotations

import warnings
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lamstudio.render._literal import (
    ControlTokenError,
    ControlTokens,
    Rendered,
    literal_spans,
    shift,
)
from lamstudio.render._parse import ParsedOutput, parse_output, render_calls
from lamstudio.render._templates import (
    CALL_STYLES,
    CHATML_TOKENS,
    CHATML_TOOLS_TEMPLATE,
    DEFAULT_SPECIAL_TOKENS,
    DEFAULT_TEMPLATE,
    EOS_TOKEN,
    PAD_TOKEN,
    TEMPLATES,
    has_generation_blocks,
    render_template,
    split_marked,
    template_renders_tools,
)
from lamstudio.render._tokenize import SegmentTokenizer
from lamstudio.schema import Message, Trajectory

IGNORE_INDEX = -100


class RenderError(ValueError):
    """A trajectory or template that cannot be rendered for training; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX (-100) where not trained
    id: str = ""
    source: str = ""
    n_trained: int = 0
    truncated: bool = False
    # Per-token loss weights (message ``weight``); None when every trained token weighs 1.
    weights: list[float] | None = None

    def __len__(self) -> int:
        return len(self.input_ids)


def _message_dict(m: Message) -> dict[str, Any]:
    d: dict[str, Any] = {"role": m.role, "content": m.content or ""}
    if m.tool_calls:
        d["tool_calls"] = [{"id": c.id, "type": "function",
                            "function": {"name": c.function.name,
                                         "arguments": c.function.arguments}}
                           for c in m.tool_calls]
    if m.tool_call_id is not None:
        d["tool_call_id"] = m.tool_call_id
    if m.name is not None:
        d["name"] = m.name
    return d


def chat_of(t: Trajectory, upto: int | None = None) -> tuple[list[dict], list[dict]]:
    """``(messages, tools)`` as chat-template inputs; ``system`` becomes the first message."""
    msgs = [_message_dict(m) for m in t.messages[:upto]]
    if t.system:
        msgs.insert(0, {"role": "system", "content": t.system})
    tools = [tool.model_dump(mode="json", exclude_none=True) for tool in t.tools]
    return msgs, tools


class Renderer:
    """Renders trajectories with one chat template; the same object parses model output.

    ``template``: Jinja source, or the name of a shipped template (``TEMPLATES``: ``default``,
    ``chatml_tools``). Otherwise ``use_model_template`` decides: True = the tokenizer's own
    template (an error if it cannot render tools and tool calls), False = the lamstudio
    default, None = automatic: the model's own when it renders tools; else ``chatml_tools``
    when the model speaks ChatML (its template uses ``<|im_start|>`` and both ChatML tokens
    are in its vocabulary, e.g. SmolLM2); else the default. ``template_name`` says which
    (``model``, ``chatml_tools``, ``default`` or ``custom``).
    """

    def __init__(self, tokenizer: Any, template: str | None = None, *,
                 use_model_template: bool | None = None, cache_segments: bool = True) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("Renderer needs a fast (Rust) tokenizer: labels come from "
                             "token offsets (return_offsets_mapping)")
        self.tokenizer = tokenizer
        self.template, self.template_name = _choose_template(tokenizer, template,
                                                             use_model_template)
        self._marked = has_generation_blocks(self.template)
        # Long pieces repeated across records (tool lists, policies) are tokenized once.
        self._tokenize = SegmentTokenizer(tokenizer, enabled=cache_segments)
        self._control = ControlTokens(tokenizer, self.template)
        self._extra = {k: v for k, v in tokenizer.special_tokens_map.items()
                       if isinstance(v, str)}
        self._extra.setdefault("bos_token", "")
        self._extra.setdefault("eos_token", "")
        vocab = tokenizer.get_vocab()
        needed = {DEFAULT_TEMPLATE: [t for t in DEFAULT_SPECIAL_TOKENS if t != PAD_TOKEN],
                  CHATML_TOOLS_TEMPLATE: list(CHATML_TOKENS)}.get(self.template, [])
        self.missing_special_tokens = [t for t in needed if t not in vocab]
        if self.missing_special_tokens:
            warnings.warn(f"the {self.template_name} template's tokens "
                          f"{self.missing_special_tokens} are not in this tokenizer's "
                          "vocabulary: they will be split into pieces", stacklevel=2)

    # ----- inference side -------------------------------------------------------------
    def prompt_text(self, t: Trajectory, upto: int | None = None) -> Rendered:
        """``t``'s system, tools and ``messages[:upto]`` + the next assistant turn's prompt
        (a ``str`` that remembers which control tokens came from message text)."""
        msgs, tools = chat_of(t, upto)
        marked = self._control.mark_chat(msgs, tools)
        if marked is None:
            return Rendered(self._render(msgs, tools, add_generation_prompt=True))
        text, literal, _ = self._control.unmark(
            self._render(*marked, add_generation_prompt=True))
        self._same_text(text, msgs, tools, add_generation_prompt=True)
        return Rendered(text, literal)

    def prompt_ids(self, t: Trajectory, upto: int | None = None) -> list[int]:
        return self.tokenize_prompt(self.prompt_text(t, upto))

    def tokenize_prompt(self, text: str, suffix: str = "") -> list[int]:
        """Ids of ``text`` + ``suffix``: ``text`` as ``prompt_text`` returned it (control
        tokens from message text become text), ``suffix`` template markup (a forced call
        prefix). A plain ``str`` is tokenized as it is."""
        return self.tokenize_text(text + suffix, literal_spans(text))[0]

    def tokenize_text(self, text: str, literal: tuple[tuple[int, int], ...] | None = None
                      ) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and character offsets of a rendered text (``literal`` defaults to its own)."""
        literal = literal_spans(text) if literal is None else literal
        if not literal:
            enc = self.tokenizer(str(text), add_special_tokens=False,
                                 return_offsets_mapping=True)
            return enc["input_ids"], [tuple(o) for o in enc["offset_mapping"]]
        try:
            return self._control.encode(str(text), literal)
        except ControlTokenError as exc:
            raise RenderError(exc.code, str(exc)) from None

    def parse(self, text: str) -> ParsedOutput:
        return parse_output(text)

    @property
    def call_style(self) -> str | None:
        """How this template writes calls (``render_calls`` style); None for a model's own."""
        return CALL_STYLES.get(self.template_name)

    def render_calls(self, calls: Sequence[Any], content: str = "") -> str:
        """The assistant output this template trains for ``content`` plus ``calls``."""
        if self.call_style is None:
            raise ValueError(f"the {self.template_name} template's call format is not "
                             "lamstudio's: render a whole conversation instead")
        return render_calls(calls, content, style=self.call_style)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of generated ids for ``parse``: markers such as ``[TOOL_CALLS]`` are special
        tokens, so they must be kept (``skip_special_tokens=False``)."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    @property
    def stop_token_ids(self) -> list[int]:
        """Ids that end an assistant turn (``<|end|>`` for the default template,
        ``<|im_end|>`` for ``chatml_tools``)."""
        ids = {self.tokenizer.eos_token_id} if self.tokenizer.eos_token_id is not None else set()
        end = {DEFAULT_TEMPLATE: EOS_TOKEN, CHATML_TOOLS_TEMPLATE: CHATML_TOKENS[1]}.get(
            self.template)
        if end is not None and end in self.tokenizer.get_vocab():
            ids.add(self.tokenizer.convert_tokens_to_ids(end))
        return sorted(ids)

    # ----- training side --------------------------------------------------------------
    def render_with_spans(self, t: Trajectory) -> tuple[Rendered, list[tuple[int, int]]]:
        """The full text and one character span per assistant message (in order)."""
        msgs, tools = chat_of(t)
        marked = self._control.mark_chat(msgs, tools)
        if marked is None:
            text, spans = self._assistant_spans(msgs, tools)
            return Rendered(text), spans
        raw, spans = self._assistant_spans(*marked)
        text, literal, removed = self._control.unmark(raw)
        self._same_text(text, msgs, tools, add_generation_prompt=False)
        return Rendered(text, literal), [(shift(removed, s), shift(removed, e))
                                         for s, e in spans]

    def _assistant_spans(self, msgs: list[dict], tools: list[dict]
                         ) -> tuple[str, list[tuple[int, int]]]:
        n_assistant = sum(m["role"] == "assistant" for m in msgs)
        if self._marked:
            split = split_marked(self._render(msgs, tools, add_generation_prompt=False,
                                              marked=True))
            if split is not None and len(split[1]) == n_assistant:
                return split
        return self._prefix_spans(msgs, tools)

    def encode(self, t: Trajectory, *, last_turn_only: bool = False,
               max_len: int | None = None) -> Encoded:
        return self.encode_batch([t], last_turn_only=last_turn_only, max_len=max_len)[0]

    def encode_batch(self, ts: Sequence[Trajectory], *, last_turn_only: bool = False,
                     max_len: int | None = None) -> list[Encoded]:
        """Encode many trajectories; one batched tokenizer call (Rust, parallel)."""
        rendered = [self.render_with_spans(t) for t in ts]
        # Texts with control tokens from message text go piece by piece; the rest (nearly
        # all) in one batched call, exactly as without them.
        plain = [k for k, (text, _) in enumerate(rendered) if not text.literal]
        all_ids: list[list[int]] = [[] for _ in rendered]
        all_offsets: list[list[tuple[int, int]]] = [[] for _ in rendered]
        if plain:
            ids, offsets = self._tokenize([str(rendered[k][0]) for k in plain])
            for k, i, o in zip(plain, ids, offsets, strict=True):
                all_ids[k], all_offsets[k] = i, o
        for k, (text, _) in enumerate(rendered):
            if text.literal:
                all_ids[k], all_offsets[k] = self.tokenize_text(text)
        return [_label(t, ids, offsets, spans, last_turn_only, max_len)
                for t, ids, offsets, (_, spans) in zip(ts, all_ids, all_offsets, rendered,
                                                        strict=True)]

    # ----- helpers --------------------------------------------------------------------
    def _render(self, msgs: list[dict], tools: list[dict], *, add_generation_prompt: bool,
                marked: bool = False) -> str:
        try:
            return render_template(self.template, msgs, tools, marked=marked,
                                   add_generation_prompt=add_generation_prompt,
                                   extra=self._extra)
        except Exception as exc:  # Jinja errors, raise_exception() in the template
            raise RenderError("template_error", f"{type(exc).__name__}: {exc}") from exc

    def _same_text(self, text: str, msgs: list[dict], tools: list[dict], *,
                   add_generation_prompt: bool) -> None:
        """Marking must not change what the template writes (it can when a template edits
        message text around a control token, e.g. ``content.split('</think>')``)."""
        if text != self._render(msgs, tools, add_generation_prompt=add_generation_prompt):
            raise RenderError(
                "control_token_in_text",
                "the chat template rewrites message text that holds one of its control "
                f"tokens ({', '.join(self._control.tokens[:4])}...), so that text cannot "
                "be told from the template's own tokens")

    def _prefix_spans(self, msgs: list[dict],
                      tools: list[dict]) -> tuple[str, list[tuple[int, int]]]:
        full = self._render(msgs, tools, add_generation_prompt=False)
        spans = []
        for i, m in enumerate(msgs):
            if m["role"] != "assistant":
                continue
            before = self._render(msgs[:i], tools, add_generation_prompt=True)
            upto = self._render(msgs[: i + 1], tools, add_generation_prompt=False)
            if not (upto.startswith(before) and full.startswith(upto)):
                raise RenderError(
                    "not_prefix_stable",
                    f"message {i}: rendering the conversation up to this assistant turn is "
                    "not a prefix of the full render, so training text would differ from the "
                    "inference prompt")
            # Whitespace a template writes after the end-of-turn token is not output.
            end = len(upto.rstrip())
            spans.append((len(before), max(end, len(before))))
        return full, spans


def _choose_template(tokenizer: Any, template: str | None,
                     use_model_template: bool | None) -> tuple[str, str]:
    if template is not None:
        if template in TEMPLATES:
            return TEMPLATES[template], template
        named = [n for n, src in TEMPLATES.items() if src == template]
        return template, (named[0] if named else "custom")
    own = getattr(tokenizer, "chat_template", None)
    if isinstance(own, dict):  # several named templates: "tool_use" is the one for tools
        own = own.get("tool_use") or own.get("default")
    if use_model_template is False:
        return DEFAULT_TEMPLATE, "default"
    usable = bool(own) and template_renders_tools(own)
    if use_model_template and not usable:
        raise ValueError("the tokenizer has no chat template that renders tools and tool "
                         "calls; use the lamstudio default template instead")
    shipped = [n for n, src in TEMPLATES.items() if src == own]
    if usable and shipped:  # the model ships a lamstudio template (an exported GGUF does)
        return own, shipped[0]
    if usable:
        return own, "model"
    if _speaks_chatml(tokenizer, own):
        return CHATML_TOOLS_TEMPLATE, "chatml_tools"
    return DEFAULT_TEMPLATE, "default"


def _speaks_chatml(tokenizer: Any, own: str | None) -> bool:
    """ChatML turn tokens are single tokens and the model's own template (if any) uses them:
    then its turns, with lamstudio's tool format inside, are what it was tuned on."""
    vocab = tokenizer.get_vocab()
    return all(t in vocab for t in CHATML_TOKENS) and (not own or CHATML_TOKENS[0] in own)


def _label(t: Trajectory, ids: list[int], offsets: list[tuple[int, int]],
           spans: list[tuple[int, int]], last_turn_only: bool, max_len: int | None) -> Encoded:
    assistant = [m for m in t.messages if m.role == "assistant"]
    starts = [s for s, _ in offsets]
    labels = [IGNORE_INDEX] * len(ids)
    weights: list[float] | None = None
    for k, (m, (s, e)) in enumerate(zip(assistant, spans, strict=True)):
        if m.train is False or m.weight == 0 or (last_turn_only and k != len(assistant) - 1):
            continue
        # A token is trained when it starts inside the span: the end-of-turn token is in,
        # the role header before the span is out.
        a, b = bisect_left(starts, s), bisect_left(starts, e)
        labels[a:b] = ids[a:b]
        if m.weight is not None and m.weight != 1.0:
            weights = weights or [1.0] * len(ids)
            weights[a:b] = [m.weight] * (b - a)
    truncated = max_len is not None and len(ids) > max_len
    if truncated:
        ids, labels = ids[:max_len], labels[:max_len]
        weights = weights[:max_len] if weights else None
    n_trained = len(labels) - labels.count(IGNORE_INDEX)
    return Encoded(list(ids), labels, id=t.id, source=t.source, n_trained=n_trained,
                   truncated=truncated, weights=weights)
