"""A ``ChatBackend`` on a local transformers model: offline generation and judging.

Same protocol, cache and ``ChatResult`` as the HTTP client, so a stage runs unchanged on
a local model or against a served fleet by URL. Prompts are rendered with
``lamstudio.render.Renderer`` (for SmolLM2 that picks the tools-in-ChatML template) and,
when tools are offered, the output is read with ``lamstudio.render.parse_output``.

Requests that arrive together are generated as one left-padded batch. Sampling is done
with the Gumbel-max trick on a per-request random stream (seeded by ``seed`` and the
step), so a seeded request gets the same text whatever else shares its batch; greedy
decoding is ``temperature=0``. ``top_p`` filters before the noise is added.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lamstudio.llm._cache import ResponseCache, request_key
from lamstudio.llm._openai import result_from_body
from lamstudio.llm._types import ChatResult, LLMError

_DEFAULTS = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 256}
_SAMPLING = ("temperature", "top_p", "max_tokens", "seed", "stop")


def resolve_local_model(name_or_path: str | os.PathLike[str]) -> str:
    """A registered model name, a ``.gguf`` or a local folder -> a folder transformers can
    load."""
    from lamstudio.models import resolve_model

    path = Path(resolve_model(name_or_path)).expanduser()
    if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
        raise LLMError(f"{name_or_path}: not a model folder (no config.json or "
                       "adapter_config.json)")
    return str(path)


@dataclass
class _Pending:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    params: dict[str, Any]
    future: asyncio.Future[dict[str, Any]] = field(repr=False)


class LocalBackend:
    """``ChatBackend`` on a causal LM folder (or registry name), optionally with a PEFT
    adapter (``adapter=`` a folder, or ``model=`` an adapter folder whose config names the
    base). ``batch_size`` requests are generated together; ``threads`` caps torch's."""

    def __init__(self, model: str | os.PathLike[str], *, adapter: str | None = None,
                 batch_size: int = 8, cache_dir: str | os.PathLike[str] | None = None,
                 threads: int | None = None, template: str | None = None,
                 name: str | None = None, default_params: dict[str, Any] | None = None,
                 ) -> None:
        self.path = resolve_local_model(model)
        self.adapter = adapter
        self._setup(name or Path(str(model)).name or str(model), batch_size, cache_dir,
                    default_params, threads, template)

    def _setup(self, name: str, batch_size: int, cache_dir: str | os.PathLike[str] | None,
               default_params: dict[str, Any] | None, threads: int | None,
               template: str | None) -> None:
        """The state every local engine shares: queue, cache, stats, locks."""
        self.model = name
        self.batch_size = max(1, batch_size)
        self.cache = ResponseCache(cache_dir) if cache_dir else None
        self.default_params = dict(default_params or {})
        self.stats = {"requests": 0, "batches": 0, "cache_hits": 0, "tokens": 0}
        self._threads, self._template = threads, template
        self._lm: Any = None
        self._renderer: Any = None
        self.context = 1 << 30  # tokens a sequence may hold; read from the model on load
        self._load_lock = threading.Lock()
        self._gen_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[_Pending] = []
        self._runner: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"LocalBackend(path={self.path!r}, adapter={self.adapter!r})"

    # -- loading -----------------------------------------------------------------------
    def load(self) -> LocalBackend:
        """Load the model and tokenizer now (otherwise on the first request)."""
        with self._load_lock:
            if self._lm is None:
                self._lm, self._renderer = _load(self.path, self.adapter, self._template,
                                                 self._threads)
                self.context = getattr(self._lm.config, "max_position_embeddings",
                                       None) or self.context
        return self

    @property
    def renderer(self) -> Any:
        return self.load()._renderer

    # -- the protocol ------------------------------------------------------------------
    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None,
                       **params: Any) -> ChatResult:
        params = {**self.default_params, **params}
        key = request_key(self.model, messages, tools, params)
        if self.cache is not None and (body := self.cache.get(key)) is not None:
            self.stats["cache_hits"] += 1
            return result_from_body(body, cached=True)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop: its own queue and runner
            self._loop, self._queue, self._runner = loop, [], None
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._queue.append(_Pending(messages, tools, params, future))
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._drain())
        body = await future
        if self.cache is not None:
            self.cache.put(key, body)
        return result_from_body(body)

    async def aclose(self) -> None:
        """Nothing to close: the model stays loaded for the next event loop."""

    async def _drain(self) -> None:
        # Let every request issued in this tick join the batch before it starts.
        await asyncio.sleep(0)
        while self._queue:
            batch, self._queue = self._queue[:self.batch_size], self._queue[self.batch_size:]
            try:
                bodies = await asyncio.to_thread(self.generate_batch, batch)
            except Exception as exc:  # noqa: BLE001 - every waiter gets the error
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            for p, body in zip(batch, bodies, strict=True):
                if p.future.done():
                    continue
                if isinstance(body, LLMError):
                    p.future.set_exception(body)
                else:
                    p.future.set_result(body)
            await asyncio.sleep(0)

    # -- generation --------------------------------------------------------------------
    def generate_batch(self, batch: list[_Pending]) -> list[dict[str, Any] | LLMError]:
        """Chat-completion bodies for a batch of requests (blocking). A request that cannot
        run (bad params, no fit to the template, over the context) gets its ``LLMError`` in
        place, so it does not fail the requests batched with it."""
        self.load()
        with self._gen_lock:
            prompts = [self._prepare(p) for p in batch]
            ready = [x for x in prompts if isinstance(x, _Prompt)]
            outputs = iter(self._run(ready) if ready else [])
        self.stats["requests"] += len(batch)
        self.stats["batches"] += 1
        out: list[dict[str, Any] | LLMError] = []
        for p, x in zip(batch, prompts, strict=True):
            if isinstance(x, LLMError):
                out.append(x)
                continue
            text, finish, n_tokens = next(outputs)
            self.stats["tokens"] += n_tokens
            out.append(self._body(p, text, finish, x, n_tokens))
        return out

    def _run(self, prompts: list[_Prompt]) -> list[tuple[str, str, int]]:
        """Each prompt's text, finish reason and tokens used (the engine's part)."""
        return _generate(self._lm, self._renderer, prompts, self.context)

    def _prepare(self, p: _Pending) -> _Prompt | LLMError:
        try:
            text = self._prompt(p.messages, p.tools)
            row = _Row.of({**_DEFAULTS, **p.params})
        except LLMError as exc:
            return exc
        ids = self._renderer.tokenize_prompt(text)  # message text: control tokens as text
        room = self.context - len(ids)
        if room < 1:
            return LLMError(f"the prompt has {len(ids)} tokens: the model's context holds "
                            f"{self.context}", 400)
        # Near the end of the context the answer gets what room is left ("length").
        return _Prompt(text, ids, replace(row, max_tokens=min(row.max_tokens, room)))

    def _prompt(self, messages: list[dict[str, Any]],
                tools: list[dict[str, Any]] | None) -> str:
        from lamstudio.render import RenderError
        from lamstudio.schema import Trajectory

        system = [m.get("content") or "" for m in messages if m.get("role") == "system"]
        rest = [m for m in messages if m.get("role") != "system"]
        try:
            t = Trajectory.model_validate({"id": "prompt", "system": "\n\n".join(system) or None,
                                           "tools": tools or [], "messages": rest})
            return self._renderer.prompt_text(t)
        except (ValueError, RenderError) as exc:
            raise LLMError(f"cannot render the request with the model's template: {exc}",
                           400) from None

    def _body(self, p: _Pending, text: str, finish: str, prompt: _Prompt,
              n_tokens: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if p.tools:
            parsed = self._renderer.parse(text)
            if parsed.calls:
                message = parsed.to_message()
                finish = "tool_calls"
        n_prompt = len(prompt.ids)
        return {"id": f"local-{hashlib.sha1(prompt.text.encode()).hexdigest()[:12]}",
                "object": "chat.completion", "created": int(time.time()), "model": self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_tokens,
                          "total_tokens": n_prompt + n_tokens}}


@dataclass(frozen=True)
class _Row:
    temperature: float
    top_p: float
    max_tokens: int
    seed: int
    stop: tuple[str, ...]

    @classmethod
    def of(cls, params: dict[str, Any]) -> _Row:
        unknown = set(params) - set(_SAMPLING)
        if unknown:
            raise LLMError(f"the local backend does not support {sorted(unknown)}; "
                           f"it takes {', '.join(_SAMPLING)}", 400)
        seed = params.get("seed")
        stop = params.get("stop") or ()
        return cls(float(params["temperature"]), float(params["top_p"]),
                   int(params["max_tokens"]),
                   random.getrandbits(63) if seed is None else int(seed),
                   (stop,) if isinstance(stop, str) else tuple(stop))


@dataclass(frozen=True)
class _Prompt:
    text: str
    ids: list[int]
    row: _Row


def _load(path: str, adapter: str | None, template: str | None,
          threads: int | None) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lamstudio.render import Renderer

    if threads:
        torch.set_num_threads(threads)
    base = path
    if adapter is None and (Path(path) / "adapter_config.json").is_file():
        adapter = path
        cfg = json.loads((Path(path) / "adapter_config.json").read_text())
        base = resolve_local_model(cfg["base_model_name_or_path"])
    tok_dir = adapter if adapter and (Path(adapter) / "tokenizer.json").is_file() else base
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    return model, Renderer(tokenizer, template)


def _generate(model: Any, renderer: Any, prompts: list[_Prompt],
              context: int) -> list[tuple[str, str, int]]:
    """Left-padded batched decoding with per-row sampling (see the module doc): each
    prompt's text, finish reason and tokens used."""
    import torch
    from transformers import GenerationConfig, LogitsProcessorList

    tok = renderer.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    rows = [p.row for p in prompts]
    width = max(len(p.ids) for p in prompts)
    input_ids = torch.tensor([[pad] * (width - len(p.ids)) + p.ids for p in prompts])
    mask = torch.tensor([[0] * (width - len(p.ids)) + [1] * len(p.ids) for p in prompts])
    stops = renderer.stop_token_ids
    # The padded batch must fit the context too: the longest prompt bounds every row.
    new = min(max(r.max_tokens for r in rows), context - width)
    config = GenerationConfig(max_new_tokens=new, do_sample=False, pad_token_id=pad,
                              eos_token_id=stops or None)
    with torch.no_grad():
        out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=config,
                             logits_processor=LogitsProcessorList([_GumbelSampler(rows, width)]))
    return [_finish(tok, row, seq, stops)
            for row, seq in zip(rows, out[:, width:].tolist(), strict=True)]


def _finish(tok: Any, row: _Row, seq: list[int], stops: list[int]) -> tuple[str, str, int]:
    """One row's text up to its stop token or stop string, why it ended, tokens used."""
    seq = seq[:row.max_tokens]
    end = next((i for i, t in enumerate(seq) if t in stops), None)
    finish = "stop" if end is not None else "length"
    seq = seq[:end] if end is not None else seq
    text = tok.decode(seq, skip_special_tokens=False)
    for s in row.stop:
        if s and s in text:
            text, finish = text[:text.index(s)], "stop"
    return text, finish, len(seq) + (end is not None)


class _GumbelSampler:
    """Turns greedy decoding into sampling: argmax(logits / T + Gumbel noise) draws from
    softmax(logits / T). The noise of row i at step s comes from its own generator seeded
    by (seed_i, s), so it does not depend on the batch."""

    def __init__(self, rows: list[_Row], prompt_len: int) -> None:
        self.rows, self.prompt_len = rows, prompt_len

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        step = input_ids.shape[1] - self.prompt_len
        out = scores.clone()
        for i, row in enumerate(self.rows):
            if row.temperature <= 0:
                continue  # greedy
            logits = scores[i].float() / row.temperature
            if row.top_p < 1.0:
                logits = _top_p(logits, row.top_p)
            gen = torch.Generator().manual_seed((row.seed * 1_000_003 + step) % (2**63))
            u = torch.rand(logits.shape, generator=gen).clamp_(1e-10, 1 - 1e-10)
            out[i] = logits - torch.log(-torch.log(u))
        return out


def _top_p(logits: Any, top_p: float) -> Any:
    import torch

    sorted_logits, order = torch.sort(logits, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
    drop = probs - torch.softmax(sorted_logits, dim=-1) > top_p  # keep the first over p
    sorted_logits[drop] = float("-inf")
    return torch.empty_like(logits).scatter_(0, order, sorted_logits)
