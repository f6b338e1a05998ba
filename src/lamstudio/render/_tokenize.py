"""Batched tokenization with a cache for long repeated segments (tool lists, policies).

A fast tokenizer first splits its input on added tokens (``<|system|>``, ``<|end|>``, ...)
and tokenizes the pieces in between independently. Agent data repeats the same long pieces
— the tool schemas, a domain policy of thousands of tokens — in every record, so those
pieces are tokenized once and reused. The cache is switched on only when it is exactly
equivalent for this tokenizer: every added token is matched verbatim (no strip, no
normalisation), and a first batch tokenized both ways agrees token for token and offset for
offset (tokenizers whose pre-tokenizer treats the first piece differently fail this check and
simply run uncached).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

Offsets = list[tuple[int, int]]


class SegmentTokenizer:
    MIN_CHARS = 200        # shorter pieces are rarely repeated and cheap to tokenize
    MAX_ENTRIES = 20_000   # the cache is cleared when full
    VERIFY_TEXTS = 64

    def __init__(self, tokenizer: Any, enabled: bool = True) -> None:
        self.tokenizer = tokenizer
        self._cache: dict[str, tuple[list[int], Offsets]] = {}
        self._verified = False
        self.hits = self.misses = 0
        self._split = _added_token_pattern(tokenizer) if enabled else None

    @property
    def enabled(self) -> bool:
        return self._split is not None

    def __call__(self, texts: Sequence[str]) -> tuple[list[list[int]], list[Offsets]]:
        if self._split is None:
            return self._plain(texts)
        if not self._verified:
            ids, offs = self._cached(texts)
            k = min(len(texts), self.VERIFY_TEXTS)
            ref_ids, ref_offs = self._plain(texts[:k])
            if ids[:k] != ref_ids or [list(map(tuple, o)) for o in offs[:k]] != \
                    [list(map(tuple, o)) for o in ref_offs]:
                self._split, self._cache = None, {}
                return self._plain(texts)
            self._verified = True
            return ids, offs
        return self._cached(texts)

    def _plain(self, texts: Sequence[str]) -> tuple[list[list[int]], list[Offsets]]:
        enc = self.tokenizer(list(texts), add_special_tokens=False,
                             return_offsets_mapping=True)
        return enc["input_ids"], enc["offset_mapping"]

    def _cached(self, texts: Sequence[str]) -> tuple[list[list[int]], list[Offsets]]:
        assert self._split is not None
        # Evict before deciding what is cached: a piece judged cached must still be there
        # when the texts are assembled below.
        if len(self._cache) > self.MAX_ENTRIES:
            self._cache.clear()
        pieces = [_pieces(t, self._split) for t in texts]
        # Everything that is not a long cached piece is tokenized in one batch: the short
        # pieces of a text are rejoined (added tokens and all), so boundaries stay as the
        # tokenizer makes them.
        todo: dict[str, None] = {}
        for plist in pieces:
            for text, cacheable in plist:
                if not cacheable or text not in self._cache:
                    todo.setdefault(text)
        fresh = list(todo)
        if fresh:
            f_ids, f_offs = self._plain(fresh)
            got = dict(zip(fresh, zip(f_ids, f_offs, strict=True), strict=True))
        else:
            got = {}
        out_ids, out_offs = [], []
        for plist in pieces:
            ids: list[int] = []
            offs: Offsets = []
            base = 0
            for text, cacheable in plist:
                hit = self._cache.get(text) if cacheable else None
                if hit is None:
                    hit = got[text]
                    if cacheable:
                        self._cache[text] = hit
                        self.misses += 1
                elif cacheable:
                    self.hits += 1
                ids += hit[0]
                offs += [(s + base, e + base) for s, e in hit[1]]
                base += len(text)
            out_ids.append(ids)
            out_offs.append(offs)
        return out_ids, out_offs


def _added_token_pattern(tokenizer: Any) -> re.Pattern[str] | None:
    added = getattr(tokenizer, "added_tokens_decoder", None)
    if not added:
        return None
    for tok in added.values():
        if tok.lstrip or tok.rstrip or tok.single_word or tok.normalized:
            return None  # matching is not verbatim: splitting ourselves could differ
    contents = sorted((t.content for t in added.values()), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, contents)))


def _pieces(text: str, split: re.Pattern[str]) -> list[tuple[str, bool]]:
    """``text`` as consecutive pieces: long pieces between added tokens on their own
    (cacheable), everything else merged into runs that are tokenized as they are."""
    out: list[tuple[str, bool]] = []
    run_start = pos = 0
    for m in split.finditer(text):
        if m.start() - pos >= SegmentTokenizer.MIN_CHARS:
            if pos > run_start:
                out.append((text[run_start:pos], False))
            out.append((text[pos:m.start()], True))
            run_start = m.start()
        pos = m.end()
    if len(text) - pos >= SegmentTokenizer.MIN_CHARS:
        if pos > run_start:
            out.append((text[run_start:pos], False))
        out.append((text[pos:], True))
    elif len(text) > run_start:
        out.append((text[run_start:], False))
    return out
