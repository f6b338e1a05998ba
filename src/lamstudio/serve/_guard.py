"""Who may use the server: a bearer key, or without one, local clients and pages only.

With ``--api-key-env`` every path but ``/health`` wants ``Authorization: Bearer KEY`` (the
API docs too). Without a key the server trusts whoever reaches it, so a web page must not
reach it through the user's browser: a ``Host`` that is not a loopback name or address, or
this server's own address (DNS rebinding: a site's name made to resolve to 127.0.0.1), or
an ``Origin`` of another site (a page's ``fetch`` or form) is a 403, as Ollama and
llama.cpp's server refuse them. ``allowed_hosts`` / ``allowed_origins`` add names (``*``:
any). A POST must say ``Content-Type: application/json`` (415 otherwise, as FastAPI asks of
its own bodies): a cross-site form or ``text/plain`` fetch cannot, without a CORS preflight,
which this server never grants.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from lamstudio.serve._errors import ApiError


def read_api_key(env: str | None) -> str | None:
    """The key in environment variable ``env`` (None: no key). It travels in an HTTP header,
    so a key no client can send (not printable ASCII, spaces at its ends) is refused here,
    at startup, rather than failing every request later."""
    if env is None:
        return None
    key = os.environ.get(env, "")
    if not key:
        raise ValueError(f"--api-key-env {env}: that environment variable is empty or unset")
    if not (key.isascii() and key.isprintable()) or key != key.strip():
        raise ValueError(f"--api-key-env {env}: the key must be printable ASCII with no "
                         "spaces at its ends (clients send it in an HTTP header)")
    return key


class Guard:
    """ASGI middleware: refuses what ``refusal`` names before the app sees the request."""

    def __init__(self, app: Any, *, api_key: str | None, bound_host: str,
                 allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.key = api_key.encode("ascii") if api_key is not None else None
        self.local = LocalRule(bound_host, allowed_hosts, allowed_origins)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (err := self.refusal(scope)) is not None:
            await JSONResponse(err.body(), status_code=err.status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Any) -> ApiError | None:
        headers = Headers(scope=scope)
        if self.key is not None:
            if scope["path"] != "/health" and not self._authorized(headers):
                return ApiError(401, "missing or wrong API key (Authorization: Bearer KEY)",
                                code="invalid_api_key")
        else:
            host, origin = headers.get("host"), headers.get("origin")
            if host is not None and not self.local.host_ok(host):
                return ApiError(403, f"Host {host!r} is not this local server's (a server "
                                "without --api-key-env answers only loopback names; add "
                                "yours with --allowed-host)", code="forbidden_host")
            if origin is not None and not self.local.origin_ok(origin):
                return ApiError(403, f"Origin {origin!r}: a server without --api-key-env "
                                "answers only local pages (add yours with --allowed-origin)",
                                code="forbidden_origin")
        if scope["method"] in ("POST", "PUT", "PATCH") \
                and not _is_json(headers.get("content-type", "")):
            return ApiError(415, "the body must be sent as Content-Type: application/json",
                            code="unsupported_media_type")
        return None

    def _authorized(self, headers: Headers) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        # Header values arrive as latin-1 text: back to their bytes, compared as bytes
        # (hmac refuses non-ASCII str, which made a stray byte a 500).
        given = token.strip().encode("latin-1")
        return scheme.lower() == "bearer" and hmac.compare_digest(given, self.key or b"")


class LocalRule:
    """Which ``Host`` and ``Origin`` values belong to a server bound to ``bound_host``."""

    def __init__(self, bound_host: str, hosts: Iterable[str] = (),
                 origins: Iterable[str] = ()) -> None:
        hosts, origins = list(hosts), list(origins)
        self.bound = hostname(bound_host)
        self.everywhere = _unspecified(self.bound)  # 0.0.0.0 / ::
        self.names = {self.bound} | ({socket.gethostname().lower()} if self.everywhere
                                     else set())
        self.any_host, self.hosts = "*" in hosts, {hostname(h) for h in hosts}
        self.any_origin = "*" in origins
        self.origins = {o.rstrip("/").lower() for o in origins}

    def host_ok(self, value: str) -> bool:
        name = hostname(value)
        return self.any_host or name in self.hosts or self._local(name)

    def origin_ok(self, value: str) -> bool:
        if self.any_origin or value.rstrip("/").lower() in self.origins:
            return True
        try:
            parts = urlsplit(value)
            name = parts.hostname
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not name:
            return False
        return name in self.hosts or self._local(name.rstrip("."))

    def _local(self, name: str) -> bool:
        if name == "localhost" or name.endswith(".localhost") or name in self.names:
            return True
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        # Bound to every interface, any address may be this machine's; a rebinding attack
        # always sends a name, never an address.
        return address.is_loopback or self.everywhere


def hostname(value: str) -> str:
    """``Host``-header text without its port, lower case, no trailing dot."""
    v = value.strip().lower()
    if v.startswith("["):
        v = v[1:v.index("]")] if "]" in v else v[1:]
    elif v.count(":") == 1:
        v = v.partition(":")[0]
    return v.rstrip(".")


def _unspecified(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return name == ""


def _is_json(content_type: str) -> bool:
    mime = content_type.partition(";")[0].strip().lower()
    return mime == "application/json" or (mime.startswith("application/")
                                          and mime.endswith("+json"))
