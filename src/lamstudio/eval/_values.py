"""Value normalisation and typed-literal decoding, with BFCL's semantics.

BFCL compares strings after removing spaces and ``,./-_*^`` and lower-casing, and it receives
Java / JavaScript arguments as *source literals* (``"5L"``, ``"new int[]{1, 2}"``,
``"{key: 'v'}"``) that it decodes by type before comparing. Agreement with BFCL's checker is
the point, so these functions reproduce what its converters accept and return — including
their odd corners (a Java ``char`` is never decoded; a JS dict is cut at the first ``}``;
an unparseable literal stays a string). Every pattern is compiled once, at import.
"""

from __future__ import annotations

import re
from typing import Any

# --- strings -----------------------------------------------------------------------------

# Deleting the punctuation and mapping ' to " in one translate() is equivalent to BFCL's
# regex-then-lower-then-replace: lower-casing never produces one of these characters.
_STD_TABLE = str.maketrans({**{c: None for c in " ,./-_*^"}, "'": '"'})


def standardize(text: str) -> str:
    """BFCL's string normal form: ``"April 1, 2024"`` and ``"april 1 2024"`` compare equal."""
    return text.translate(_STD_TABLE).lower()


# --- Java --------------------------------------------------------------------------------

JAVA_TYPES: dict[str, type] = {
    "byte": int, "short": int, "integer": int, "float": float, "double": float, "long": int,
    "boolean": bool, "char": str, "Array": list, "ArrayList": list, "Set": set,
    "HashMap": dict, "Hashtable": dict, "Queue": list, "Stack": list, "String": str,
    "any": str,
}
# ``$`` (not \Z) on purpose: BFCL anchors with ``$``, which also accepts one trailing newline.
_J_INT = re.compile(r"-?\d+$")
_J_FLOAT = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_J_DOUBLE = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_J_LONG = re.compile(r"-?\d+[lL]$")
_J_F_SUFFIX = re.compile(r"[fF]$")
_J_L_SUFFIX = re.compile(r"[lL]$")
_J_ASLIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_J_ADDS = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_J_ADD = re.compile(r"add\((.+?)\)")
_J_EMPTY_LIST = re.compile(r"new\s+ArrayList<\w*>\(\)")
_J_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")
_J_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_J_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_J_EMPTY_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)")


class UnsupportedType(ValueError):
    """A declared type the decoder has no rule for (BFCL raises too)."""


def java_value(text: str, declared: str, item_type: str | None = None) -> Any:
    """Decode a Java literal of ``declared`` type; text that does not parse stays a string."""
    if declared in ("byte", "short", "integer"):
        return int(text) if _J_INT.match(text) else text
    if declared == "float":
        return float(_J_F_SUFFIX.sub("", text)) if _J_FLOAT.match(text) else text
    if declared == "double":
        return float(text) if _J_DOUBLE.match(text) else text
    if declared == "long":
        return int(_J_L_SUFFIX.sub("", text)) if _J_LONG.match(text) else text
    if declared == "boolean":
        return text == "true" if text in ("true", "false") else text
    if declared in ("char", "String", "any"):
        # BFCL's char pattern can never match, so a char literal is kept verbatim.
        return str(text)
    if declared == "ArrayList":
        return _java_arraylist(text, item_type)
    if declared == "Array":
        return _java_array(text, item_type)
    if declared == "HashMap":
        return _java_hashmap(text)
    raise UnsupportedType(f"no decoder for Java type {declared!r}")


def _java_element(text: str, item_type: str | None, strip_quotes: bool) -> Any:
    if strip_quotes and item_type in ("char", "String"):
        return text[1:-1]
    return java_value(text, item_type) if item_type else java_literal(text)


def _java_arraylist(text: str, item_type: str | None) -> Any:
    m = _J_ASLIST.search(text)
    if m:
        return [_java_element(e.strip(), item_type, True) for e in m.group(1).split(",")]
    m = _J_ADDS.search(text)
    if m:
        return [_java_element(a.strip(), item_type, True) for a in _J_ADD.findall(m.group(1))]
    return [] if _J_EMPTY_LIST.search(text) else text


def _java_array(text: str, item_type: str | None) -> Any:
    m = _J_ARRAY.search(text)
    if not m:
        return text
    parts = [p.strip() for p in m.group(1).split(",")]
    # Unlike ArrayList, array elements keep their quotes (BFCL decodes them by type only).
    return [_java_element(p, item_type, False) for p in parts if p]


def _java_hashmap(text: str) -> Any:
    m = _J_MAP.search(text)
    if m:
        body = m.group(1)
        if not body.strip():
            return {}
        return {k: java_literal(v.strip()) for k, v in _J_PUT.findall(body)}
    return {} if _J_EMPTY_MAP.search(text) else text


def java_literal(text: str) -> Any:
    """Decode an untyped Java literal (collection elements, map values)."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _J_LONG.match(text):
        return int(text[:-1])
    if _J_FLOAT.match(text):
        return float(_J_F_SUFFIX.sub("", text))
    return _number_or_text(text)


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


# --- JavaScript --------------------------------------------------------------------------

JS_TYPES: dict[str, type] = {
    "String": str, "integer": int, "float": float, "Bigint": int, "Boolean": bool,
    "dict": dict, "array": list, "any": str,
}
_JS_INT = re.compile(r"-?\d+$")
_JS_FLOAT = re.compile(r"-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"-?\d+n$")
_JS_ARRAY_2D = re.compile(
    r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)")
_JS_ARRAY = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_JS_BRACKETS = re.compile(r"\[(.*?)\]")
_JS_DICT = re.compile(r"\{(.*?)\}")
_JS_PAIR = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


def _quoted(text: str) -> bool:
    return (text.startswith('"') and text.endswith('"')) or (
        text.startswith("'") and text.endswith("'"))


def js_value(text: str, declared: str, item_type: str | None = None) -> Any:
    """Decode a JavaScript literal of ``declared`` type; unparseable text stays a string."""
    if declared == "String":
        return text[1:-1] if _quoted(text) else str(text)
    if declared == "integer":
        return int(text) if _JS_INT.match(text) else text
    if declared == "float":
        return float(text) if _JS_FLOAT.match(text) else text
    if declared == "Bigint":
        return int(text[:-1]) if _JS_BIGINT.match(text) else text
    if declared == "Boolean":
        return text == "true" if text in ("true", "false") else text
    if declared == "dict":
        return _js_dict(text.strip())
    if declared == "array":
        return _js_array(text.strip(), item_type)
    if declared == "any":
        return str(text)
    raise UnsupportedType(f"no decoder for JavaScript type {declared!r}")


def _js_array(code: str, item_type: str | None) -> Any:
    try:
        m = _JS_ARRAY_2D.match(code)
        if m:
            rows = []
            for k, inner in enumerate(_JS_BRACKETS.findall(m.group(0))):
                inner = inner.strip()
                if k == 0 and inner.startswith("["):
                    inner = inner[1:]
                rows.append([js_literal(e.strip()) for e in inner.split(",")])
            return rows
        m = _JS_ARRAY.match(code)
        if not m:
            return code
        body = m.group(1) if m.group(1) is not None else m.group(2)
        body = (body or "").strip()
        items = body.split(",") if body else []
        if not item_type:
            return [js_literal(e.strip()) for e in items]
        out = []
        for e in items:
            e = e.strip()
            nested = "String" if e.startswith(("'", '"')) else None
            out.append(js_value(e, item_type, nested))
        return out
    except Exception:  # BFCL keeps the raw text when any element fails to decode
        return code


def _js_dict(code: str) -> Any:
    if code == "{}":
        return {}
    m = _JS_DICT.match(code)
    if not m:
        return code
    try:
        out: dict[str, Any] = {}
        for key, value in _JS_PAIR.findall(m.group(1)):
            key = key.strip().strip("'\"")
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                out[key] = _js_array(value, None)
            elif value.startswith("{") and value.endswith("}"):
                out[key] = _js_dict(value)
            else:
                out[key] = js_literal(value.strip("'\""))
        return out
    except Exception:
        return code


def js_literal(text: str) -> Any:
    """Decode an untyped JavaScript literal (array elements, object values)."""
    text = text.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    if _quoted(text):
        return text[1:-1]
    return _number_or_text(text)
