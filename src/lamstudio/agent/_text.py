"""Text that came from outside (a model, a simulated user, a tool) made writable, and
quoted safely in error messages."""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> tuple[str, int]:
    """``text`` with every lone surrogate (which no UTF-8 writer can encode) replaced by
    U+FFFD, as a decoder does with bytes that are not UTF-8; and how many there were."""
    if text.isascii():
        return text, 0
    return _SURROGATE.subn("\ufffd", text)


def shown(text: str, limit: int = 120) -> str:
    """``text`` quoted for an error message: ``repr`` (a lone surrogate comes out as a
    ``\\ud800`` escape), cut to ``limit`` characters with the full length said."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def label(name: str) -> str:
    """A name as the start of an error message: as is, or quoted and cut when long."""
    return name if len(name) <= 80 else shown(name, 80)
