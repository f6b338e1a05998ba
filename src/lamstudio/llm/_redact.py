"""Keys out of error texts: a server may echo the ``Authorization`` header back (in a 401
body, in a proxy's error page), and whatever it says ends up in messages that are printed,
logged or stored."""

from __future__ import annotations

import json
import re

# Any bearer token, not only ours: a proxy may echo another credential of the same request.
_BEARER = re.compile(r"(?i)\b(bearer)(\s+|%20)[^\s\"',;\\]+")
MASK = "***"


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with each secret (also as escaped inside a JSON string, ``/`` as ``\\/``
    included) and every ``Bearer <token>`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            escaped = json.dumps(secret)[1:-1]
            for form in sorted({secret, escaped, escaped.replace("/", "\\/")}, key=len,
                               reverse=True):
                text = text.replace(form, MASK)
    return _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
