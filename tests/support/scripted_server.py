"""A real OpenAI-compatible HTTP server that answers from a script, for tests and bench.

It listens on 127.0.0.1 on a free port in a background thread and serves
``POST /v1/chat/completions`` and ``GET /v1/models``. Each request takes the next step of
the script: a reply (content and/or tool calls), an HTTP failure (429 with ``Retry-After``,
500, 401 echoing the request's headers, ...), a raw body (garbage with a 200), or a body
dripped a byte at a time (``Drip``); any step may be delayed to outlast a client's timeout.
A callable script sees the request body and picks the step itself. With ``api_key`` set
(and changeable while it runs) a request without ``Bearer <api_key>`` gets a 401 whose body
echoes the ``Authorization`` header it got, as careless proxies do.

    from tests.support.scripted_server import Fail, Reply, ScriptedServer

    with ScriptedServer([Fail(429, retry_after=0.1), Reply('{"pass": true}')]) as srv:
        backend = OpenAIBackend(srv.base_url, srv.model, api_key_env=None)

It lives with the tests, not in ``src``: users point lamstudio at real servers (or
``lamstudio serve``); bench scripts import it after putting the repository root on
``sys.path``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """A 200 chat completion. ``tool_calls`` items may be OpenAI-shaped or
    ``{"name": ..., "arguments": {...}}``; dict arguments are sent as JSON strings."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    delay_s: float = 0.0


@dataclass
class Fail:
    """An HTTP error response, e.g. ``Fail(429, retry_after=1)`` or ``Fail(500)``."""

    status: int = 500
    message: str = "scripted failure"
    retry_after: float | str | None = None
    delay_s: float = 0.0
    echo_headers: bool = False  # put the request's headers (keys included) in the body


@dataclass
class Raw:
    """A body sent exactly as given (e.g. not JSON at all)."""

    body: str
    status: int = 200
    content_type: str = "application/json"
    delay_s: float = 0.0


@dataclass
class Drip:
    """A 200 whose body (a reply's completion, or raw text) arrives one byte every
    ``interval_s``: each read is quick, the whole answer slow."""

    body: Reply | str
    interval_s: float = 1.0
    delay_s: float = 0.0


Step = Reply | Fail | Raw | Drip | str
Script = Sequence[Step] | Callable[[dict[str, Any]], Step]


def _openai_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, call in enumerate(calls):
        fn = call.get("function", call)
        args = fn.get("arguments", {})
        out.append({"id": call.get("id", f"call_{i}"), "type": "function",
                    "function": {"name": fn["name"], "arguments":
                                 args if isinstance(args, str) else json.dumps(args)}})
    return out


class ScriptedServer:
    """See the module docstring. ``requests`` and ``headers`` record every chat request
    (refused ones included)."""

    def __init__(self, script: Script, *, model: str = "scripted-model",
                 cycle: bool = False, api_key: str | None = None) -> None:
        self.model = model
        self.api_key = api_key
        self._script = script
        self._steps = (itertools.cycle(script) if cycle else iter(script)) \
            if not callable(script) else None
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> ScriptedServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True  # a delayed reply must not block shutdown
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True, name="scripted-openai-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server is not running"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url`` (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- script ------------------------------------------------------------------------
    def step_for(self, body: dict[str, Any], headers: dict[str, str]) -> Step | None:
        """Record the request and pick its step (None once a list script is used up)."""
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self.api_key is not None and headers.get("Authorization") != \
                    f"Bearer {self.api_key}":
                got = headers.get("Authorization")
                return Fail(401, f"invalid api key in Authorization: {got}", echo_headers=True)
            if self._steps is not None:
                return next(self._steps, None)
        return self._script(body)  # type: ignore[operator]

    def completion(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = _openai_calls(reply.tool_calls)
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        prompt_words = sum(len(str(m.get("content") or "").split())
                           for m in body.get("messages", []))
        done_words = len((reply.content or "").split())
        return {"id": f"chatcmpl-scripted-{len(self.requests)}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", self.model),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_words, "completion_tokens": done_words,
                          "total_tokens": prompt_words + done_words}}


class _Handler(BaseHTTPRequestHandler):
    owner: ScriptedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: str, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before the delayed reply

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None,
               echo: bool = False) -> None:
        error: dict[str, Any] = {"message": message, "type": "scripted"}
        if echo:
            error["request_headers"] = dict(self.headers.items())
        self._send(status, json.dumps({"error": error}), headers=headers)

    def _drip(self, data: bytes, interval_s: float) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(interval_s)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client's deadline passed

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, json.dumps({"object": "list", "data": [
                {"id": self.owner.model, "object": "model", "owned_by": "lamstudio"}]}))
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"no route {self.path}")
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(400, "request body is not JSON")
            return
        step = self.owner.step_for(body, dict(self.headers.items()))
        if step is None:
            self._error(400, "scripted server: script exhausted")
            return
        if isinstance(step, str):
            step = Reply(content=step)
        if step.delay_s:
            time.sleep(step.delay_s)
        if isinstance(step, Reply):
            self._send(200, json.dumps(self.owner.completion(step, body)))
        elif isinstance(step, Fail):
            extra = {} if step.retry_after is None else {"Retry-After": str(step.retry_after)}
            self._error(step.status, step.message, extra, step.echo_headers)
        elif isinstance(step, Drip):
            text = step.body if isinstance(step.body, str) \
                else json.dumps(self.owner.completion(step.body, body))
            self._drip(text.encode("utf-8"), step.interval_s)
        else:
            self._send(step.status, step.body, step.content_type)
