"""The request body: read up to a limit, then decoded with ``lamstudio.io.parse_json``.

The limit holds while reading: a ``Content-Length`` over it is refused before any of the
body is read, a chunked body is cut off where it passes it, so no client makes the server
hold more than ``max_body_bytes`` for it. Decoding runs on a worker thread (the caller's
choice). A body ``parse_json`` refuses is a 400 with its reason code; when the body can still
be read leniently, ``param`` names the field that broke the rule.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from lamstudio.io import MAX_DEPTH, JsonValueError, parse_json
from lamstudio.serve._errors import ApiError, json_error

_PARAM_DEPTH = 5  # a too-deep value is named by its first levels: tools[0].function.parameters


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 as soon as it is known to be longer than ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> ApiError:
    # Connection: close - the rest of the body is never read, so the connection cannot
    # carry another request.
    return ApiError(413, f"the request body is larger than this server's limit of {limit} "
                    "bytes (lamstudio serve --max-body-mb)", code="request_too_large",
                    headers={"Connection": "close"})


def decode_body(data: bytes) -> Any:
    try:
        return parse_json(data)
    except JsonValueError as exc:
        raise json_error(exc, "the request body", _locate(data, exc.code)) from None


class _Bad:
    """Stands in for a number ``parse_json`` refuses, so that a lenient read can find it."""


_BAD = _Bad()


def _lenient_int(text: str) -> Any:
    return _BAD if len(text) > 4300 else int(text)


def _lenient_float(text: str) -> Any:
    value = float(text)
    return _BAD if math.isinf(value) else value


def _locate(data: bytes, code: str) -> str | None:
    """Where in ``data`` the value that broke rule ``code`` is, as a request param
    (``messages[0].content``); None when the body cannot be read to find it."""
    if code not in ("too_deep", "number_too_large", "non_finite_number", "bad_encoding"):
        return None
    try:
        value = json.loads(data.decode("utf-8"), parse_int=_lenient_int,
                           parse_float=_lenient_float, parse_constant=lambda _: _BAD)
    except (ValueError, RecursionError):
        return None
    path = _first_bad(value, code)
    if path is None:
        return None
    if code == "too_deep":
        path = path[:_PARAM_DEPTH]
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") \
        or None


def _first_bad(value: Any, code: str) -> tuple[str | int, ...] | None:
    """The path of the first value (in document order) that breaks ``code``'s rule. A key
    holding a lone surrogate is named by the object that holds it."""
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(value, (), 1)]
    while stack:
        node, path, depth = stack.pop()
        if node is _BAD:
            return path
        if isinstance(node, str):
            if code == "bad_encoding" and not _utf8(node):
                return path
            continue
        if not isinstance(node, (dict, list)):
            continue
        if code == "too_deep" and depth > MAX_DEPTH:
            return path
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        if code == "bad_encoding" and any(isinstance(k, str) and not _utf8(k)
                                          for k, _ in items):
            return path
        stack.extend((v, (*path, k), depth + 1) for k, v in reversed(items))
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
