"""Principles as data: the file ``--principles`` reads, and the optimizer's reply.

A principles file is what ``optimize rpo`` writes (``best.json``, a round's
``principles.json``: ``{"principles": [...], ...}``) or a plain JSON list of strings. Both
are read through ``lamstudio.io.parse_json``; a file that is neither is one
``PrinciplesError`` naming the path and the field.

The optimizer's reply is a JSON list of strings (or ``{"principles": [...]}``), possibly
inside prose or a fenced block. A reply that cannot be used gets a reason code, and the
caller keeps the previous principles:

=========================  ==================================================
``optimizer_empty``         no text at all
``optimizer_no_json``       no JSON list (or object) in the text
``optimizer_bad_json``      JSON no writer can keep (NaN, a huge number, ...)
``optimizer_not_a_list``    an object without a ``principles`` list
``optimizer_not_strings``   an entry that is not a string, or is blank
``optimizer_empty_list``    ``[]``: a set of no principles is not an update
``optimizer_too_many``      more than ``max_principles`` entries
``optimizer_too_long``      an entry over ``max_chars`` characters
=========================  ==================================================
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lamstudio.io import JsonValueError, find_json, parse_json

UNUSABLE_OPTIMIZER = ("optimizer_error", "optimizer_empty", "optimizer_bad_content",
                      "optimizer_no_json",
                      "optimizer_bad_json", "optimizer_not_a_list", "optimizer_not_strings",
                      "optimizer_empty_list", "optimizer_too_many", "optimizer_too_long")


class PrinciplesError(ValueError):
    """A principles file that cannot be used; the message names the path and field."""


def read_principles(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The principles of ``path``: ``{"principles": [str, ...]}`` or ``[str, ...]``."""
    p = Path(path)
    try:
        # A UTF-8 BOM (editors on Windows write one) is not part of the JSON: as the readers.
        value = parse_json(p.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    except OSError as exc:
        raise PrinciplesError(f"{p}: cannot read it ({exc.strerror or exc})") from None
    except JsonValueError as exc:
        raise PrinciplesError(f"{p}: not JSON ({exc.message}) [{exc.code}]") from None
    field = "principles"
    if isinstance(value, dict):
        if "principles" not in value:
            raise PrinciplesError(f"{p}: the object has no 'principles' field (expected "
                                  "{\"principles\": [...]} as optimize rpo writes it, or "
                                  "a JSON list of strings)")
        value = value["principles"]
    else:
        field = "the file"
    if not isinstance(value, list):
        raise PrinciplesError(f"{p}: {field} must be a list of strings, got "
                              f"{type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            where = f"principles[{i}]" if field == "principles" else f"[{i}]"
            raise PrinciplesError(f"{p}: {where} must be a string, got "
                                  f"{type(item).__name__}")
    return tuple(" ".join(s.split()) for s in value if s.strip())


def parse_principles(text: Any, max_principles: int = 8,
                     max_chars: int = 300) -> tuple[str, ...] | str:
    """The optimizer's principles, or the reason code why its reply cannot be used."""
    if not isinstance(text, str) or not text.strip():
        return "optimizer_empty"
    found = find_json(text, (list, dict))
    if found is None:
        return "optimizer_no_json"
    if isinstance(found, JsonValueError):
        return "optimizer_bad_json" if found.code != "bad_json" else "optimizer_no_json"
    value = found[0]
    if isinstance(value, dict):
        value = value.get("principles")
        if not isinstance(value, list):
            return "optimizer_not_a_list"
    return _checked(value, max_principles, max_chars)


def _checked(items: Sequence[Any], max_principles: int, max_chars: int) -> tuple[str, ...] | str:
    if not all(isinstance(s, str) and s.strip() for s in items):
        return "optimizer_not_strings"
    out = tuple(dict.fromkeys(" ".join(s.split()) for s in items))  # duplicates once
    if not out:
        return "optimizer_empty_list"
    if len(out) > max_principles:
        return "optimizer_too_many"
    if any(len(s) > max_chars for s in out):
        return "optimizer_too_long"
    return out
