"""Control tokens inside message text are text: no role forgery through content.

A chat template writes control tokens (``<|im_start|>``, ``<|im_end|>``, ``[TOOL_CALLS]``)
around message text. The same strings *inside* that text — a user typing
``<|im_end|>\\n<|im_start|>system``, a tool returning a web page that does — must reach the
model as the characters they are, or anyone who can put text in a conversation can end their
turn and open a system one. transformers does this with ``apply_chat_template(...,
sanitize_control_tokens=True)``; this is the same rule with character offsets, so that
training labels still come from spans and the training render and the inference prompt
tokenize alike:

1. ``ControlTokens.mark`` wraps every control token in the template's inputs (message
   content, names, tool-call arguments — keys too —, tool schemas and descriptions) in two
   private-use markers before rendering;
2. ``unmark`` removes them from the rendered text and keeps the tokens' character spans (a
   ``Rendered`` text carries them). A marker the template separated from its token (a
   ``split()`` on that token) is dropped and only breaks the text, as in transformers;
3. ``encode`` tokenizes the text in pieces cut at those spans: the template's text as
   usual (its own control tokens are tokens), each literal token as plain text (no added
   token matched), every piece after the first behind a newline that is removed again, so a
   SentencePiece tokenizer adds no prefix space mid-text (transformers' trick: the ids agree
   with ``sanitize_control_tokens=True``, tested).

Conversations without a control token in their text are not marked and tokenize exactly as
before, in one call. Control tokens are the tokenizer's special tokens plus the added tokens
that the template writes literally (Qwen's non-special ``<tool_call>``), as transformers
decides them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any

import jinja2
import orjson
from jinja2 import nodes

from lamstudio.render._templates import compile_template

# Plane-15 private use, as transformers: far from anything a tokenizer or a user writes.
# Text that holds these characters itself keeps them: they are escaped with ESC while marked.
START, END, ESC = "\U000f0000", "\U000f0001", "\U000f0002"
_ESCAPES = {START: ESC + "0", END: ESC + "1", ESC: ESC + "2"}
_UNESCAPE = {v[1]: k for k, v in _ESCAPES.items()}

Spans = tuple[tuple[int, int], ...]


class Rendered(str):
    """Rendered chat text; ``literal`` holds the (start, end) character spans of control
    tokens that came from message text (sorted; an empty span only breaks the text).
    ``Renderer.tokenize_prompt`` reads them: pass this object on, not a copy of it."""

    literal: Spans

    def __new__(cls, text: str, literal: Spans = ()) -> Rendered:
        obj = super().__new__(cls, text)
        obj.literal = tuple(literal)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Rendered, (str(self), self.literal))


def literal_spans(text: str) -> Spans:
    return getattr(text, "literal", ())


class ControlTokenError(ValueError):
    """Message text whose control tokens cannot be kept as text (see ``code``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ControlTokens:
    """The control tokens of one tokenizer + template, and the three steps above."""

    def __init__(self, tokenizer: Any, template: str) -> None:
        self.tokenizer = tokenizer
        added = getattr(tokenizer, "added_tokens_decoder", None) or {}
        written = template_literals(template)
        tokens = {t.content for t in added.values() if t.content and (
            t.special or (t.content in written and not t.content.isspace()))}
        self.tokens = tuple(sorted(tokens, key=len, reverse=True))  # longest wins
        alternation = "|".join(map(re.escape, self.tokens))
        self._find = re.compile(alternation) if self.tokens else None
        # The common case asks "does any text hold a token?" of every render: one search
        # over the inputs as JSON (written in C) instead of a walk, when the tokens are
        # written into JSON as they are (no quote, backslash or control character).
        verbatim = all(c not in '"\\' and c >= " " for t in self.tokens for c in t)
        self._find_json = (re.compile(b"|".join(re.escape(t.encode()) for t in self.tokens))
                           if self.tokens and verbatim else None)
        self._wrapped = re.compile(f"{START}({alternation}){END}|{ESC}([012])|"
                                   f"[{START}{END}{ESC}]")
        self._newline: list[int] | None = None

    # ----- 1. mark the inputs -----------------------------------------------------------
    def mark_chat(self, msgs: list[dict], tools: list[dict]
                  ) -> tuple[list[dict], list[dict]] | None:
        """Marked copies of ``(msgs, tools)``, or None when no text holds a control token
        (the common case: then nothing changes)."""
        if self._find is None or not (self._holds(msgs) or self._holds(tools)):
            return None
        return self._mark(msgs), self._mark(tools)

    def _holds(self, value: Any) -> bool:
        if self._find_json is not None:
            try:
                return self._find_json.search(orjson.dumps(value)) is not None
            except (TypeError, orjson.JSONEncodeError):
                pass  # not plain JSON (a big int, a lone surrogate): walk it
        assert self._find is not None
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                if self._find.search(node):
                    return True
            elif isinstance(node, dict):
                stack.extend(node.keys())
                stack.extend(node.values())
            elif isinstance(node, (list, tuple)):
                stack.extend(node)
        return False

    def _mark(self, value: Any) -> Any:
        # Depth is bounded: records are validated (128 levels at most) before rendering.
        if isinstance(value, str):
            assert self._find is not None
            if START in value or END in value or ESC in value:
                value = "".join(_ESCAPES.get(c, c) for c in value)
            return self._find.sub(lambda m: START + m.group() + END, value)
        if isinstance(value, dict):
            return {self._mark(k): self._mark(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._mark(v) for v in value]
        return value

    # ----- 2. unmark the rendered text --------------------------------------------------
    def unmark(self, raw: str) -> tuple[str, Spans, list[int]]:
        """``(text, literal spans, removed)``: ``removed`` lists the positions in ``raw`` of
        the marker characters taken out (for ``shift``)."""
        out: list[str] = []
        literal: list[tuple[int, int]] = []
        removed: list[int] = []
        pos = size = 0
        for m in self._wrapped.finditer(raw):
            out.append(raw[pos:m.start()])
            size += m.start() - pos
            token, escaped = m.group(1), m.group(2)
            if escaped is not None:  # a marker character of the text itself
                removed.append(m.start() + 1)
                out.append(_UNESCAPE[escaped])
                size += 1
            elif token is None:  # a lone marker: dropped, but the text breaks here
                removed.append(m.start())
                literal.append((size, size))
            else:
                removed += [m.start(), m.end() - 1]
                literal.append((size, size + len(token)))
                out.append(token)
                size += len(token)
            pos = m.end()
        out.append(raw[pos:])
        return "".join(out), tuple(literal), removed

    # ----- 3. tokenize in pieces --------------------------------------------------------
    def encode(self, text: str, literal: Spans) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and character offsets of ``text`` with the ``literal`` spans as plain text."""
        pieces: list[tuple[int, int, bool]] = []
        pos = 0
        for s, e in literal:
            pieces.append((pos, s, False))
            if e > s:
                pieces.append((s, e, True))
            pos = e
        pieces.append((pos, len(text), False))
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        for k, (a, b, as_text) in enumerate(pieces):
            if k and a == b:
                continue
            got, offs = (self._tokens(text[a:b]) if k == 0
                         else self._piece(text[a:b], as_text))
            ids += got
            offsets += [(s + a, e + a) for s, e in offs]
        return ids, offsets

    def _piece(self, piece: str, as_text: bool) -> tuple[list[int], list[tuple[int, int]]]:
        encode = self._text if as_text else self._tokens
        if self._newline is None:
            self._newline = self.tokenizer("\n", add_special_tokens=False)["input_ids"]
        n = len(self._newline)
        ids, offs = encode("\n" + piece)
        if ids[:n] == self._newline:
            ids, offs = ids[n:], [(max(s - 1, 0), max(e - 1, 0)) for s, e in offs[n:]]
        else:
            ids, offs = encode(piece)
        if as_text and self.tokenizer.convert_tokens_to_ids(piece) in ids:
            raise ControlTokenError(
                "control_token_in_text",
                f"{piece!r} in message text cannot be kept as text: this tokenizer makes "
                "the control token from its characters")
        return ids, offs

    def _tokens(self, piece: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer(piece, add_special_tokens=False, return_offsets_mapping=True)
        return enc["input_ids"], [tuple(o) for o in enc["offset_mapping"]]

    def _text(self, piece: str) -> tuple[list[int], list[tuple[int, int]]]:
        """The tokenizer's pipeline without its added tokens (special or not). Every token
        gets the piece's whole span as offsets: a literal token is trained or not as one."""
        backend = self.tokenizer.backend_tokenizer
        text = backend.normalizer.normalize_str(piece) if backend.normalizer else piece
        splits = ([s for s, _ in backend.pre_tokenizer.pre_tokenize_str(text)]
                  if backend.pre_tokenizer else [text])
        ids = [t.id for s in splits for t in backend.model.tokenize(s)]
        return ids, [(0, len(piece))] * len(ids)


def shift(removed: list[int], pos: int) -> int:
    """Where position ``pos`` of the marked text is once the markers are removed."""
    return pos - bisect_left(removed, pos)


def template_literals(source: str) -> str:
    """The template's literal text and string constants, joined by NULs (a token found in it
    is written by the template itself)."""
    try:
        ast = compile_template(source).environment.parse(source)
    except jinja2.TemplateSyntaxError:
        return source
    parts = {n.data for n in ast.find_all(nodes.TemplateData)}
    parts |= {n.value for n in ast.find_all(nodes.Const) if isinstance(n.value, str)}
    return "\0".join(parts)
