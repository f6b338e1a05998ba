"""Decode one JSON value exactly, or say why not with a reason code.

orjson is the fast path, but it has blind spots: an integer beyond 64 bits comes back as a
float (``123456789012345678901234567890`` -> ``1.2345678901234568e+29``). Python's ``json``
keeps integers exactly but accepts ``NaN``/``Infinity``, turns ``1e999`` into ``inf``,
accepts lone surrogates (``"\\ud800"``) that no writer can encode, and raises
``RecursionError``/``ValueError`` on very deep or very long values. Every value lamstudio
reads goes through ``parse_json`` so that a hostile row becomes a reject with its own code
and a value is never rewritten silently:

==================  ==========================================================
``too_deep``        nested more than ``MAX_DEPTH`` levels (writers fail past ~250)
``number_too_large`` an integer literal over Python's 4,300-digit limit
``non_finite_number`` ``NaN``, ``Infinity`` or a float that overflows (``1e999``)
``bad_encoding``    not UTF-8, or a lone surrogate escape
``bad_json``        anything else that is not JSON
==================  ==========================================================

Integers of any size up to that limit are kept exactly.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

MAX_DEPTH = 128
# The pre-screen maps digits to 0, E/+ to e, I to N and [ to { so that a handful of
# substring searches (memchr-fast; a regex costs ~5x more) find every number a fast parser
# could change: a run of 19+ digits (orjson: a float past 64 bits), an exponent of 3+
# digits (overflow to inf), NaN/Infinity (pydantic's parser accepts them), and more
# brackets than MAX_DEPTH (then the real depth is measured).
_SCREEN = bytes.maketrans(b"123456789E+I[", b"000000000eeN{")
_SCREEN_STR = str.maketrans("123456789E+I[", "000000000eeN{")


class JsonValueError(ValueError):
    """A value that cannot be read exactly; ``code`` is the reject reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def parse_json(data: bytes | str) -> Any:
    """Decode ``data`` exactly or raise ``JsonValueError`` (see the module doc)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _slow(data)
    numbers, brackets = _screen(data)
    if numbers:
        return _slow(data)
    if brackets > MAX_DEPTH:
        check_depth(value)
    return value


def needs_care(data: bytes | str) -> bool:
    """True when a fast parser (orjson, pydantic's) might change a value of ``data`` or
    miss a limit: then decode it with ``parse_json``. False positives (a phone number in a
    string) only cost speed."""
    numbers, brackets = _screen(data)
    return numbers or brackets > MAX_DEPTH


def _screen(data: bytes | str) -> tuple[bool, int]:
    if isinstance(data, str):
        t = data.translate(_SCREEN_STR).encode("utf-8", "surrogatepass")
    else:
        t = data.translate(_SCREEN)
    numbers = (b"0000000000000000000" in t or b"e000" in t or b"NaN" in t
               or b"Nnfinity" in t)
    return numbers, t.count(b"{")


def _non_finite(name: str) -> float:
    raise JsonValueError("non_finite_number", f"{name} is not a JSON number (not kept: it "
                         "would be written back as null)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JsonValueError("non_finite_number",
                             f"{text[:40]} overflows a float (it would become Infinity)")
    return value


def _slow(data: bytes | str) -> Any:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonValueError("bad_encoding", f"not UTF-8 at byte {exc.start}") from None
    else:
        text = data
    try:
        value = json.loads(text, parse_constant=_non_finite, parse_float=_finite_float)
    except JsonValueError:
        raise
    except RecursionError:
        raise JsonValueError("too_deep", f"nested more than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise JsonValueError("bad_json",
                             f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except ValueError as exc:  # int_max_str_digits: "Exceeds the limit (4300 digits) ..."
        if "digits" in str(exc):
            raise JsonValueError("number_too_large",
                                 f"an integer literal is too long ({exc})") from None
        raise JsonValueError("bad_json", f"invalid JSON: {exc}") from None
    check_depth(value, strings=True)
    return value


def check_depth(value: Any, strings: bool = False) -> None:
    """Raise ``too_deep`` past ``MAX_DEPTH``; with ``strings``, ``bad_encoding`` for a
    string (or key) holding a lone surrogate. Iterative: no recursion limit to hit."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_DEPTH:
                raise JsonValueError("too_deep", f"nested more than {MAX_DEPTH} levels")
            for k, v in node.items():
                if strings:
                    _check_string(k)
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            if depth > MAX_DEPTH:
                raise JsonValueError("too_deep", f"nested more than {MAX_DEPTH} levels")
            stack.extend((v, depth + 1) for v in node)
        elif strings and isinstance(node, str):
            _check_string(node)


def _check_string(s: str) -> None:
    if s.isascii():
        return
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JsonValueError("bad_encoding", f"a string holds a lone surrogate "
                             f"(\\u{ord(s[exc.start]):04x}); it cannot be written as UTF-8"
                             ) from None


_INT_BITS = 14_280  # below this many bits an int has fewer than 4,300 digits
_TOO_LARGE = 10**4300  # the smallest integer of 4,301 digits


def check_value(value: Any) -> None:
    """Raise ``JsonValueError`` unless ``value`` can be written as JSON and read back
    unchanged: the readers' rules, for values made in memory (a model's reply, a request
    body decoded elsewhere, a tool's result). ``too_deep``, ``bad_encoding`` (a lone
    surrogate in a string or key), ``non_finite_number`` (NaN, ±Infinity),
    ``number_too_large`` (an int over 4,300 digits), ``not_json`` (a key that is not a
    string, or a value that is not null/bool/number/string/list/object)."""
    # orjson walks in C and refuses surrogates, non-string keys, unknown types, ints past
    # 64 bits and depth past 254; it writes NaN as null. So the Python walk runs only when
    # orjson refuses (it may be a big int that is fine), or the output has a null (a NaN?)
    # or more brackets than MAX_DEPTH.
    try:
        out = orjson.dumps(value, option=_STRICT_DUMPS)
    except (orjson.JSONEncodeError, TypeError):
        _walk(value)
        return
    if b"null" in out or out.count(b"{") + out.count(b"[") > MAX_DEPTH:
        _walk(value)


_STRICT_DUMPS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _walk(value: Any) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is str:
            _check_string(node)
        elif kind is dict or kind is list or kind is tuple:
            if depth > MAX_DEPTH:
                raise JsonValueError("too_deep", f"nested more than {MAX_DEPTH} levels")
            if kind is dict:
                for k, v in node.items():
                    if type(k) is not str:
                        raise JsonValueError("not_json", f"an object key is a "
                                             f"{type(k).__name__} ({_short(k)}), not a string")
                    _check_string(k)
                    stack.append((v, depth + 1))
            else:
                stack.extend((v, depth + 1) for v in node)
        elif node is None or kind is bool:
            continue
        elif kind is float:
            if not math.isfinite(node):
                raise JsonValueError("non_finite_number", f"{node} is not a JSON number")
        elif kind is int:
            if node.bit_length() > _INT_BITS and abs(node) >= _TOO_LARGE:
                raise JsonValueError("number_too_large", "an integer has more than 4,300 "
                                     "digits")
        elif isinstance(node, (str, int, float, dict, list, tuple)):  # subclasses (enums)
            stack.append((_plain(node), depth))
        else:
            raise JsonValueError("not_json", f"a {type(node).__name__} is not a JSON value")


def _plain(node: Any) -> Any:
    for base in (bool, int, float, str, dict, list, tuple):
        if isinstance(node, base):
            return base(node)
    return node


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def decode_prefix(text: str, pos: int = 0) -> tuple[Any, int]:
    """Decode the JSON value that starts at ``text[pos]`` (text may go on after it) with
    ``parse_json``'s rules; return it and where it ends. Raises ``JsonValueError``
    (``bad_json`` carries the character offset in its message)."""
    try:
        value, end = _STRICT.raw_decode(text, pos)
    except (JsonValueError, RecursionError, ValueError) as exc:
        raise classify(exc) from None
    check_depth(value, strings=True)
    return value, end


def find_json(text: str, want: type | tuple[type, ...] = dict,
              max_tries: int = 64) -> tuple[Any, int, int] | JsonValueError | None:
    """The first JSON value of type ``want`` inside ``text`` (prose, fences around it):
    ``(value, start, end)``; else the first decoding error met (at once for a well-formed
    value that cannot be kept: never an object nested in it), or None when no candidate
    start was found. Candidates are ``{`` followed by ``"`` or ``}`` (and ``[`` followed by
    a value start when lists are wanted), tried at most ``max_tries`` times: linear on
    hostile text such as megabytes of ``{``."""
    kinds = want if isinstance(want, tuple) else (want,)
    pattern = _OBJ_START if list not in kinds else _ANY_START
    first_error: JsonValueError | None = None
    for tries, m in enumerate(pattern.finditer(text)):
        if tries >= max_tries:
            break
        try:
            value, end = decode_prefix(text, m.start())
        except JsonValueError as exc:
            if exc.code != "bad_json":
                # Well-formed JSON holding a value no writer keeps (NaN, a huge integer):
                # that is the answer's fault, not a reason to return an object inside it.
                return exc
            first_error = first_error or exc
            continue
        if isinstance(value, kinds):
            return value, m.start(), end
    return first_error


def strict_decoder() -> json.JSONDecoder:
    """A ``JSONDecoder`` with ``parse_json``'s rules for numbers (for streamed arrays)."""
    return json.JSONDecoder(parse_constant=_non_finite, parse_float=_finite_float)


def element_end(text: str, pos: int) -> int | None:
    """Where the JSON value starting at ``pos`` ends, ignoring what makes it unacceptable
    (NaN, huge numbers); None if that cannot be known."""
    lenient = json.JSONDecoder(parse_constant=float, parse_float=lambda s: 0.0,
                               parse_int=lambda s: 0)
    try:
        return lenient.raw_decode(text, pos)[1]
    except RecursionError:
        return _scan_end(text, pos)
    except ValueError:
        return None


def _scan_end(text: str, pos: int) -> int | None:
    """End of the container at ``pos`` by bracket counting (for values too deep to decode)."""
    depth, i, in_str = 0, pos, False
    while i < len(text):
        c = text[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


_STRICT = json.JSONDecoder(parse_constant=_non_finite, parse_float=_finite_float)
_OBJ_START = re.compile(r'\{(?=\s*["}])')
_ANY_START = re.compile(r'\{(?=\s*["}])|\[(?=\s*[\[{"\]\d-]|\s*(?:true|false|null))')


def classify(exc: BaseException) -> JsonValueError:
    """The reason code of an exception raised while decoding with ``strict_decoder``."""
    if isinstance(exc, JsonValueError):
        return exc
    if isinstance(exc, RecursionError):
        return JsonValueError("too_deep", f"nested more than {MAX_DEPTH} levels")
    if isinstance(exc, json.JSONDecodeError):
        return JsonValueError("bad_json", f"invalid JSON: {exc.msg} at char {exc.pos}")
    if "digits" in str(exc):
        return JsonValueError("number_too_large", f"an integer literal is too long ({exc})")
    return JsonValueError("bad_json", f"invalid JSON: {exc}")
