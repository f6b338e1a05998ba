"""Model output -> calls. The training template's parser (``lamstudio.render``) first, then
BFCL's prompting format (``[func(a=1), other.fn(b='x')]``) so BFCL-style outputs score too.
Never raises: what cannot be read becomes an ``unparseable`` reason. Argument values are
the readers' (``lamstudio.io``): a value no writer can keep (``1e999``, a 5,000-digit
integer, nesting past 128 levels, a lone surrogate) is never returned as an argument."""

from __future__ import annotations

import ast
from typing import Any

from lamstudio.io import JsonValueError, check_value, parse_json
from lamstudio.tools import Call

MAX_KEEP_CHARS = 4000  # raw output kept in result files (a 1 MB output is cut, and says so)


def clean_text(value: Any) -> str:
    """Text that JSON/UTF-8 writers accept: bytes decoded with replacement, lone surrogates
    (from non-UTF-8 input read with surrogateescape) replaced."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", errors="replace").decode("utf-8")


def keep(text: str) -> str:
    if len(text) <= MAX_KEEP_CHARS:
        return text
    return text[:MAX_KEEP_CHARS] + f"... [{len(text) - MAX_KEEP_CHARS} more characters]"


def decode_output(text: Any) -> tuple[list[Call] | None, str | None]:
    """(calls, None) or (None, why it could not be read). Plain text is ``([], None)``."""
    from lamstudio.render import parse_output

    text = clean_text(text) if text is not None else ""
    parsed = parse_output(text)
    if parsed.calls and parsed.error_code is None:
        return [Call(c.name, c.arguments) for c in parsed.calls], None
    python_calls = _python_calls(text)
    if python_calls is not None:
        try:  # literal_eval reads 1e999 as inf: a value the result files cannot hold
            check_value([c.arguments for c in python_calls])
        except JsonValueError as exc:
            return None, f"{exc.code}: {exc.message}"
        return python_calls, None
    if parsed.error_code in (None, "empty"):
        return [], None
    return None, f"{parsed.error_code}: {parsed.error}"


def _python_calls(text: str) -> list[Call] | None:
    body = text.strip().removeprefix("```python").removeprefix("```").removesuffix("```")
    body = body.strip()
    if not (body.startswith("[") and body.endswith("]") and "(" in body):
        return None
    try:
        node = ast.parse(body, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if not isinstance(node, ast.List):
        return None
    calls = []
    for item in node.elts:
        if not isinstance(item, ast.Call) or item.args:
            return None
        name = _dotted(item.func)
        if name is None:
            return None
        try:
            args = {k.arg: ast.literal_eval(k.value) for k in item.keywords if k.arg}
        except (ValueError, SyntaxError, TypeError, RecursionError):
            return None
        calls.append(Call(name, args))
    return calls


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def calls_from_json(items: Any) -> tuple[list[Call] | None, str | None]:
    """Calls given as data (``[{"name", "arguments"}]`` or OpenAI ``tool_calls``)."""
    if not isinstance(items, list):
        return None, "calls must be a list"
    out = []
    for item in items:
        fn = item.get("function", item) if isinstance(item, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            return None, f"call without a name: {_short(item)}"
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = parse_json(args) if args.strip() else {}
            except JsonValueError:
                # Kept as a string: the checker reports it as an invalid format (IFE).
                args = clean_text(args)
        else:
            try:  # given as data: it must be data the result files can hold
                check_value(args)
            except JsonValueError as exc:
                return None, f"{exc.code}: arguments of {_short(fn['name'])}: {exc.message}"
        out.append(Call(clean_text(fn["name"]), args))
    return out, None


def _short(value: Any) -> str:
    """A short, writable description of ``value`` (repr can fail: 5,000-digit integers,
    deep nesting)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__} that cannot be shown"
    return clean_text(text if len(text) <= 100 else text[:97] + "...")
