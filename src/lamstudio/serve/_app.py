"""The OpenAI-compatible HTTP API: ``create_app(engine, config)`` -> a FastAPI app.

The event loop only moves bytes: a request's body is read up to ``max_body_bytes`` (413
past it), then decoded, checked, rendered and tokenized on a small thread pool, so a large
or slow request never stalls ``/health`` or other clients. A non-streaming request whose
client leaves is cancelled (skipped if still queued, its row stopped if generating); a
streaming one stops when its stream is dropped. Who may call at all is ``_guard.Guard``'s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from lamstudio.render import EOS_TOKEN
from lamstudio.serve._batcher import Batcher, QueueFull
from lamstudio.serve._body import decode_body, read_body
from lamstudio.serve._config import ServeConfig
from lamstudio.serve._engine import Engine, GenRequest, GenResult
from lamstudio.serve._errors import ApiError, bad_request
from lamstudio.serve._guard import Guard, read_api_key
from lamstudio.serve._prompt import Prompter
from lamstudio.serve._request import ChatRequest, parse_request
from lamstudio.serve._stream import Delta, Settled, StreamParser, settle

log = logging.getLogger("lamstudio.serve")
_PREPARE_THREADS = 4  # bodies decoded, checked, rendered and tokenized at once


def create_app(engine: Engine, config: ServeConfig | None = None) -> FastAPI:
    """The API over ``engine``. The bearer key, if any, is read once from
    ``config.api_key_env`` here and kept only in memory (never logged)."""
    config = config or ServeConfig(model=engine.model_id)
    api_key = read_api_key(config.api_key_env)
    batcher = Batcher(engine, config.max_queue, config.max_batch, config.batch_wait_ms / 1000)
    prompter = Prompter(engine.renderer)
    pool: list[ThreadPoolExecutor] = []  # one per lifespan

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.append(ThreadPoolExecutor(_PREPARE_THREADS, "lamstudio-prepare"))
        batcher.start()
        try:
            yield
        finally:
            batcher.stop()
            pool.pop().shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="lamstudio serve", lifespan=lifespan)
    app.state.batcher, app.state.engine, app.state.config = batcher, engine, config
    app.add_middleware(Guard, api_key=api_key, bound_host=config.host,
                       allowed_hosts=config.allowed_hosts,
                       allowed_origins=config.allowed_origins)
    _error_handlers(app)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        s = batcher.stats
        return {"status": "ok", "queue": batcher.depth, "batches": s.batches,
                "requests": s.requests, "largest_batch": s.largest}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": config.served_id, "object": "model",
                                            "created": 0, "owned_by": "lamstudio"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        try:
            data = await read_body(request, config.max_body_bytes)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is there to read it
        loop = asyncio.get_running_loop()
        req, gen, think_open = await loop.run_in_executor(
            pool[0], _prepare, data, prompter, engine, config)
        pieces: asyncio.Queue[str | None] = asyncio.Queue()
        if req.stream:  # before submitting: the worker may start at once
            gen.on_text = lambda piece: loop.call_soon_threadsafe(pieces.put_nowait, piece)
        try:
            future = batcher.submit(gen)
        except QueueFull:
            raise ApiError(503, "the server is busy (request queue full); retry later",
                           type="server_error", code="queue_full",
                           headers={"Retry-After": str(config.retry_after_s)}) from None
        reply = _Reply(config.served_id, len(gen.prompt_ids), req, think_open)
        if req.stream:
            return StreamingResponse(_stream(reply, gen, future, pieces),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        result = await _unless_gone(request, gen, future)
        if result is None:
            return Response(status_code=400)  # nobody is there to read it
        final = settle(gen.prefix + result.text, req.tool_choice != "none", think_open)
        return JSONResponse(reply.completion(final, result))

    return app


def _prepare(data: bytes, prompter: Prompter, engine: Engine,
             config: ServeConfig) -> tuple[ChatRequest, GenRequest, bool]:
    """Body bytes -> a checked request and its generation (on a worker thread)."""
    req = parse_request(decode_body(data))
    gen, think_open = _gen_request(req, prompter, engine, config)
    return req, gen, think_open


async def _unless_gone(request: Request, gen: GenRequest,
                       future: asyncio.Future) -> GenResult | None:
    """The generation's result, or None when the client disconnects first: then a queued
    request is skipped and a running row stops at its next token."""
    gone = asyncio.ensure_future(_disconnect(request))
    try:
        await asyncio.wait({future, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if future.done():
        return future.result()
    gen.cancelled.set()
    future.cancel()
    return None


async def _disconnect(request: Request) -> None:
    # The body has been read: what the server receives next is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _gen_request(req: ChatRequest, prompter: Prompter, engine: Engine,
                 config: ServeConfig) -> tuple[GenRequest, bool]:
    text, prefix = prompter.build(req)
    think_open = text.rstrip().endswith("<think>")  # a reasoning model's prompt
    ids = engine.renderer.tokenize_prompt(text, prefix)  # message text: control tokens as text
    room = engine.context_length - len(ids)
    if room < 1:
        raise bad_request(f"the input is {len(ids)} tokens; this model's context is "
                          f"{engine.context_length}", param="messages",
                          code="context_length_exceeded")
    gen = GenRequest(prompt_ids=ids, max_tokens=min(req.max_tokens or config.max_tokens, room),
                     temperature=req.temperature, top_p=req.top_p, seed=req.seed,
                     stop=req.stop + _turn_end_strings(engine), prefix=prefix)
    return gen, think_open


def _turn_end_strings(engine: Engine) -> list[str]:
    """The template's end-of-turn marker when it is not one token of this tokenizer (the
    default template on a model that never learnt it): stop on the text instead."""
    missing = getattr(engine.renderer, "missing_special_tokens", [])
    return [t for t in (EOS_TOKEN, "<|im_end|>") if t in missing]


class _Reply:
    """Builds completion bodies and stream chunks for one request."""

    def __init__(self, model: str, prompt_tokens: int, req: ChatRequest,
                 think_open: bool = False) -> None:
        self.id, self.created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        self.think_open = think_open
        self.model, self.prompt_tokens, self.req = model, prompt_tokens, req
        self.call_ids: dict[int, str] = {}

    def call_id(self, k: int) -> str:
        return self.call_ids.setdefault(k, f"call_{uuid.uuid4().hex[:24]}")

    def usage(self, result: GenResult) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "total_tokens": self.prompt_tokens + result.completion_tokens}

    @staticmethod
    def finish_reason(final: Settled, result: GenResult) -> str:
        if result.finish_reason == "length":
            return "length"
        return "tool_calls" if final.calls else "stop"

    def completion(self, final: Settled, result: GenResult) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant",
                               "content": final.content if final.content or not final.calls
                               else None}
        if final.calls:
            msg["tool_calls"] = [
                {"id": self.call_id(k), "type": "function",
                 "function": {"name": c.name,
                              "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                for k, c in enumerate(final.calls)]
        if final.reasoning:
            msg["reasoning_content"] = final.reasoning
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model, "choices": [{
                    "index": 0, "message": msg, "logprobs": None,
                    "finish_reason": self.finish_reason(final, result)}],
                "usage": self.usage(result)}

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [{"index": 0, "delta": delta,
                                                  "logprobs": None, "finish_reason": finish}]}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def delta(self, d: Delta) -> dict[str, Any]:
        if d.call is not None:
            return {"tool_calls": [{
                "index": d.index, "id": self.call_id(d.index), "type": "function",
                "function": {"name": d.call.name,
                             "arguments": json.dumps(d.call.arguments, ensure_ascii=False)}}]}
        if d.reasoning is not None:
            return {"reasoning_content": d.reasoning}
        return {"content": d.content}


async def _stream(reply: _Reply, gen: GenRequest, future: asyncio.Future,
                  pieces: asyncio.Queue[str | None]) -> AsyncIterator[str]:
    # on_text runs on the worker thread; results are set after every piece is queued,
    # so the None that the done-callback queues always comes last.
    future.add_done_callback(lambda _: pieces.put_nowait(None))
    parser = StreamParser(reply.req.tool_choice != "none", reply.think_open)
    try:
        yield reply.chunk({"role": "assistant", "content": ""})
        for d in parser.feed(gen.prefix) if gen.prefix else []:
            yield reply.chunk(reply.delta(d))
        while (piece := await pieces.get()) is not None:
            for d in parser.feed(piece):
                yield reply.chunk(reply.delta(d))
        try:
            result: GenResult = future.result()
        except Exception as exc:  # noqa: BLE001 - headers are sent: report in the stream
            log.exception("generation failed")
            yield f"data: {json.dumps(ApiError(500, str(exc), type='server_error').body())}\n\n"
            return
        rest, final = parser.finish()
        if not parser.consistent:
            log.warning("stream sent text the final parse reads differently")
        for d in rest:
            yield reply.chunk(reply.delta(d))
        yield reply.chunk({}, finish=reply.finish_reason(final, result))
        if reply.req.include_usage:
            body = {"id": reply.id, "object": "chat.completion.chunk",
                    "created": reply.created, "model": reply.model, "choices": [],
                    "usage": reply.usage(result)}
            yield f"data: {json.dumps(body)}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        if not future.done():  # the client went away: stop generating for it
            gen.cancelled.set()
            future.cancel()


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        err = ApiError(exc.status_code, str(exc.detail), type=kind)
        return JSONResponse(err.body(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed")
        err = ApiError(500, f"internal error: {type(exc).__name__}", type="server_error")
        return JSONResponse(err.body(), status_code=500)
