"""Text utilities: counting, case styles, slugs, extraction, distance, encodings, hashes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from typing import Literal

from lamstudio.tools._decorator import tool

CATEGORY = "text"
MAX_CHARS = 100_000
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


def _text(value: str, name: str = "text") -> str:
    if len(value) > MAX_CHARS:
        raise ValueError(f"{name} is longer than {MAX_CHARS} characters")
    return value


@tool
def text_statistics(text: str) -> dict:
    """Count characters, words, sentences and lines of a text, with the average word length.

    Args:
        text: The text to analyse.
    """
    words = _WORD.findall(_text(text))
    sentences = [s for s in re.split(r"[.!?]+(?:\s|$)", text) if s.strip()]
    return {"characters": len(text), "characters_no_spaces": len(re.sub(r"\s", "", text)),
            "words": len(words), "sentences": len(sentences),
            "lines": len(text.splitlines()) if text else 0,
            "average_word_length": round(sum(map(len, words)) / len(words), 2) if words else 0}


def _words_of(text: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


@tool
def change_case(text: str,
                style: Literal["upper", "lower", "title", "sentence", "snake", "camel",
                               "pascal", "kebab"]) -> dict:
    """Rewrite text in a case style (upper, lower, title, sentence, snake_case, camelCase,
    PascalCase or kebab-case).

    Args:
        text: The text, e.g. "hello world example".
        style: The target style.
    """
    _text(text)
    words = _words_of(text)
    result = {
        "upper": lambda: text.upper(), "lower": lambda: text.lower(),
        "title": lambda: " ".join(w.capitalize() for w in text.split()),
        "sentence": lambda: text[:1].upper() + text[1:].lower(),
        "snake": lambda: "_".join(words), "kebab": lambda: "-".join(words),
        "camel": lambda: words[0] + "".join(w.capitalize() for w in words[1:]) if words else "",
        "pascal": lambda: "".join(w.capitalize() for w in words),
    }[style]()
    return {"style": style, "result": result}


@tool
def slugify(text: str, max_length: int = 80) -> dict:
    """Turn a title into a URL slug (ASCII, lowercase, hyphen-separated).

    Args:
        text: The title, e.g. "Crème Brûlée: A Recipe!".
        max_length: Longest slug to return (1 to 200); cut at a hyphen when possible.
    """
    if not 1 <= max_length <= 200:
        raise ValueError(f"max_length must be between 1 and 200, got {max_length}")
    ascii_text = unicodedata.normalize("NFKD", _text(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return {"slug": slug}


@tool
def is_palindrome(text: str, ignore_case_and_punctuation: bool = True) -> dict:
    """Check whether a text reads the same backwards.

    Args:
        text: The text, e.g. "A man, a plan, a canal: Panama".
        ignore_case_and_punctuation: Compare only letters and digits, case-insensitively.
    """
    core = "".join(c.lower() for c in _text(text) if c.isalnum()) \
        if ignore_case_and_punctuation else text
    return {"text": text, "is_palindrome": core == core[::-1]}


@tool
def reverse_text(text: str, by: Literal["characters", "words"] = "characters") -> dict:
    """Reverse a text character by character or word by word.

    Args:
        text: The text.
        by: Reverse "characters" or "words".
    """
    _text(text)
    return {"result": text[::-1] if by == "characters" else " ".join(reversed(text.split()))}


@tool
def extract_emails(text: str) -> dict:
    """Find the e-mail addresses in a text, in order of first appearance, without repeats.

    Args:
        text: The text to search.
    """
    found = list(dict.fromkeys(_EMAIL.findall(_text(text))))
    return {"emails": found, "count": len(found)}


@tool
def extract_urls(text: str) -> dict:
    """Find the http(s) URLs in a text, in order of first appearance, without repeats.

    Args:
        text: The text to search.
    """
    found = list(dict.fromkeys(u.rstrip(".,;:!?") for u in _URL.findall(_text(text))))
    return {"urls": found, "count": len(found)}


@tool
def count_occurrences(text: str, substring: str, case_sensitive: bool = False) -> dict:
    """Count non-overlapping occurrences of a substring in a text.

    Args:
        text: The text to search.
        substring: What to count (not empty).
        case_sensitive: Whether "A" and "a" differ.
    """
    if not substring:
        raise ValueError("substring must not be empty")
    hay, needle = (text, substring) if case_sensitive else (text.lower(), substring.lower())
    return {"substring": substring, "count": _text(hay).count(needle)}


@tool
def levenshtein_distance(source: str, target: str) -> dict:
    """Edit distance (insertions, deletions, substitutions) between two strings, and a
    similarity ratio between 0 and 1.

    Args:
        source: First string (at most 5000 characters).
        target: Second string (at most 5000 characters).
    """
    if len(source) > 5000 or len(target) > 5000:
        raise ValueError("strings must be at most 5000 characters")
    previous = list(range(len(target) + 1))
    for i, a in enumerate(source, 1):
        current = [i]
        for j, b in enumerate(target, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    distance = previous[-1]
    longest = max(len(source), len(target))
    return {"distance": distance,
            "similarity": round(1 - distance / longest, 4) if longest else 1.0}


@tool
def caesar_cipher(text: str, shift: int, decode: bool = False) -> dict:
    """Shift Latin letters by a fixed amount (Caesar cipher); other characters stay.

    Args:
        text: The text to encode or decode.
        shift: Letters to shift by, e.g. 3.
        decode: Shift backwards instead.
    """
    step = (-shift if decode else shift) % 26
    out = []
    for ch in _text(text):
        if "a" <= ch <= "z" or "A" <= ch <= "Z":
            base = ord("a") if ch.islower() else ord("A")
            out.append(chr((ord(ch) - base + step) % 26 + base))
        else:
            out.append(ch)
    return {"result": "".join(out)}


@tool
def base64_encode(text: str) -> dict:
    """Encode UTF-8 text as Base64.

    Args:
        text: The text to encode.
    """
    return {"encoded": base64.b64encode(_text(text).encode()).decode("ascii")}


@tool
def base64_decode(encoded: str) -> dict:
    """Decode Base64 into UTF-8 text.

    Args:
        encoded: The Base64 string.
    """
    try:
        raw = base64.b64decode(_text(encoded, "encoded").strip(), validate=True)
        return {"text": raw.decode("utf-8")}
    except (binascii.Error, ValueError):
        raise ValueError("encoded is not valid Base64 of UTF-8 text") from None


@tool
def hash_text(text: str, algorithm: Literal["md5", "sha1", "sha256", "sha512"] = "sha256") -> dict:
    """Hex digest of UTF-8 text with a common hash function.

    Args:
        text: The text to hash.
        algorithm: md5, sha1, sha256 or sha512.
    """
    return {"algorithm": algorithm,
            "hexdigest": hashlib.new(algorithm, _text(text).encode()).hexdigest()}


@tool
def truncate_text(text: str, max_length: int, suffix: str = "...") -> dict:
    """Shorten a text to at most max_length characters, ending at a word boundary when
    possible and appending the suffix.

    Args:
        text: The text.
        max_length: Maximum length of the result, suffix included (greater than the suffix).
        suffix: Appended when the text is cut.
    """
    if max_length <= len(suffix):
        raise ValueError(f"max_length must exceed the suffix length ({len(suffix)})")
    if len(_text(text)) <= max_length:
        return {"result": text, "truncated": False}
    room = text[:max_length - len(suffix)]
    cut = room.rsplit(" ", 1)[0] if " " in room.strip() else room
    return {"result": cut.rstrip() + suffix, "truncated": True}
