"""Writing what a run rejects, whatever it holds: a reject must never fail to be written.

A generator's reply is outside text: it may hold lone surrogates (no UTF-8 writer takes
them), megabytes, or values the strict readers refuse. A reject keeps an excerpt of the
reply (length-capped, surrogates replaced) and its reason; any part of the reject that
cannot be written back exactly (a record, a verdict's details) is replaced by a note saying
why, so the line stays readable by ``lamstudio.io.parse_json``. One failed item is one
reject with a reason: ``internal`` verdicts turn an unexpected exception into that reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lamstudio.io import JsonValueError, check_value, parse_json
from lamstudio.verify import Verdict

OUTPUT_CHARS = 4_000  # of a rejected reply kept in the rejects file (a reply is ~1-2k)
MESSAGE_CHARS = 2_000
_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, lone surrogates replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text[:limit])


def excerpt(content: Any) -> tuple[str | None, int | None]:
    """A reply's content as it may be written, and its full length when it was cut."""
    if content is None:
        return None, None
    if not isinstance(content, str):
        try:
            content = dumps(content)
        except (JsonValueError, ValueError, RecursionError):
            return f"<{type(content).__name__} that cannot be written as JSON>", None
    cut = len(content) if len(content) > OUTPUT_CHARS else None
    return safe_text(content, OUTPUT_CHARS), cut


def dumps(value: Any) -> str:
    """One JSON line, or ``JsonValueError`` when the strict readers could not read it back
    (same checks as theirs: depth, encoding, finite numbers, integer size, JSON types)."""
    check_value(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def reject_line(out: dict[str, Any]) -> str:
    """``out`` as a line; parts that cannot be written are replaced by why (never raises
    for a dict of JSON-able keys: the last resort keeps only the plain fields)."""
    try:
        return dumps(out)
    except (JsonValueError, ValueError, RecursionError):
        pass
    safe: dict[str, Any] = {}
    for key, value in out.items():
        safe[key] = value if _writable(value) else _plain(value)
    try:
        return dumps(safe)
    except (JsonValueError, ValueError, RecursionError) as exc:
        plain = {k: v for k, v in safe.items() if isinstance(v, (str, int)) and _writable(v)}
        plain["unwritable"] = getattr(exc, "code", type(exc).__name__)
        return dumps(plain)


def writable(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as ``reject_line`` would write it: a dict a JSON Lines writer takes."""
    return parse_json(reject_line(value))


def _writable(value: Any) -> bool:
    try:
        check_value(value)
    except (JsonValueError, ValueError, RecursionError):
        return False
    return True


def _plain(value: Any) -> Any:
    """A value with non-JSON types written as text (as ``default=str`` did), or a note
    saying why it cannot be kept (too deep, a surrogate, NaN, a huge integer)."""
    if isinstance(value, str):
        return safe_text(value, MESSAGE_CHARS)
    try:
        return parse_json(json.dumps(value, ensure_ascii=False, default=str))
    except JsonValueError as exc:
        return {"unwritable": exc.code, "message": exc.message}
    except (ValueError, RecursionError) as exc:
        code = "number_too_large" if "digits" in str(exc) else "too_deep" \
            if isinstance(exc, RecursionError) else "not_json"
        return {"unwritable": code, "message": type(exc).__name__}


def internal(stage: str, exc: BaseException) -> Verdict:
    """The reject of an item whose check raised: ``internal_error`` naming the exception."""
    try:
        said = safe_text(str(exc), 300)
    except Exception:  # noqa: BLE001 - str() of a hostile value may itself raise
        said = ""
    return Verdict.fail(stage, "internal_error", f"{type(exc).__name__}: {said}".rstrip(": "),
                        exception=type(exc).__name__)
