"""Engines: what turns prompt token ids into text, a batch at a time.

``TransformersEngine`` runs ``model.generate`` on a left-padded batch; ``LlamaCppEngine``
runs a GGUF in llama.cpp, one request of the batch after another; ``ScriptedEngine``
answers from a list of replies (for testing clients and servers: everything else, the
HTTP API, rendering, forced prefixes, parsing, streaming and batching, is the real thing).
Both share ``_Rows``: per-request bookkeeping of tokens, stop strings, token budgets and
streamed text.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lamstudio.render import Renderer
from lamstudio.serve._stops import StopMatcher


@dataclass
class GenRequest:
    prompt_ids: list[int]
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    prefix: str = ""                                 # forced text already in the prompt
    on_text: Callable[[str], None] | None = None     # streamed text; called from the worker
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def batch_key(self) -> tuple[Any, ...]:
        """Requests with equal keys can share one ``generate`` call."""
        if self.temperature == 0:
            return ("greedy",)
        return ("sample", self.temperature, self.top_p, self.seed)


@dataclass
class GenResult:
    text: str               # generated text (after the prefix), stop strings cut off
    completion_tokens: int
    finish_reason: str      # stop | length | cancelled


@runtime_checkable
class Engine(Protocol):
    """What the server needs from a model."""

    model_id: str
    context_length: int
    renderer: Renderer  # its tokenizer and chat template render prompts and read outputs

    def generate(self, batch: Sequence[GenRequest]) -> list[GenResult]: ...


class _Row:
    def __init__(self, req: GenRequest) -> None:
        self.req, self.ids, self.count = req, [], 0
        self.sent, self.text, self.reason = "", "", ""
        self.stops = StopMatcher(req.stop)


class _Rows:
    """Per-row state while a batch decodes; ``step`` takes one new token per row."""

    def __init__(self, batch: Sequence[GenRequest], renderer: Renderer) -> None:
        self.rows = [_Row(r) for r in batch]
        self.renderer = renderer
        self.stop_ids = set(renderer.stop_token_ids)

    def step(self, tokens: Sequence[int]) -> list[bool]:
        for row, tok in zip(self.rows, tokens, strict=True):
            if not row.reason:
                self._advance(row, int(tok))
        return [bool(r.reason) for r in self.rows]

    def _advance(self, row: _Row, tok: int) -> None:
        row.count += 1
        if row.req.cancelled.is_set():
            row.reason = "cancelled"
            return
        if tok in self.stop_ids:
            row.reason = "stop"
            self._flush(row, final=True)
            return
        row.ids.append(tok)
        row.text = self.renderer.decode(row.ids)
        # The end may be an incomplete UTF-8 sequence: read it once it is whole.
        cut = row.stops.feed(row.text.rstrip("\ufffd"))
        if cut is not None:
            row.text, row.reason = row.text[:cut], "stop"
        elif row.count >= row.req.max_tokens:
            row.reason = "length"
        self._flush(row, final=bool(row.reason))

    def _flush(self, row: _Row, final: bool) -> None:
        """Send new text; hold back what may still become a stop string or a character."""
        safe = row.text
        if not final:
            safe = safe.rstrip("\ufffd")  # an incomplete UTF-8 sequence
            safe = safe[:len(safe) - row.stops.held]
        if len(safe) > len(row.sent) and safe.startswith(row.sent):
            piece, row.sent = safe[len(row.sent):], safe
            if row.req.on_text is not None:
                row.req.on_text(piece)

    def results(self) -> list[GenResult]:
        out = []
        for row in self.rows:
            self._flush(row, final=True)
            # The text is what was streamed: streaming and not streaming always agree.
            out.append(GenResult(row.sent, row.count, row.reason or "length"))
        return out


class TransformersEngine:
    """A Hugging Face causal LM (+ optional PEFT adapter, merged) on CPU or one GPU."""

    def __init__(self, model: str, adapter: str | None = None, *, model_id: str | None = None,
                 threads: int | None = None, context_length: int | None = None,
                 device: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        path = resolve_model(model)
        tok_dir = _tokenizer_dir(path, adapter)
        self.tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        self.model = AutoModelForCausalLM.from_pretrained(path)
        if adapter:
            self.model = _merge_adapter(self.model, self.tokenizer, adapter)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = self.model.to(self.device).eval()
        self.renderer = Renderer(self.tokenizer)
        self.model_id = model_id or model
        self.context_length = context_length or int(
            getattr(self.model.config, "max_position_embeddings", 2048))
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.renderer.stop_token_ids[0]

    def generate(self, batch: Sequence[GenRequest]) -> list[GenResult]:
        import torch
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

        rows = _Rows(batch, self.renderer)

        class _Track(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                done = rows.step(input_ids[:, -1].tolist())
                return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

        width = max(len(r.prompt_ids) for r in batch)
        ids = torch.tensor([[self.pad_id] * (width - len(r.prompt_ids)) + r.prompt_ids
                            for r in batch], device=self.device)
        mask = torch.tensor([[0] * (width - len(r.prompt_ids)) + [1] * len(r.prompt_ids)
                             for r in batch], device=self.device)
        first = batch[0]
        cfg = GenerationConfig(
            max_new_tokens=max(r.max_tokens for r in batch), do_sample=first.temperature > 0,
            eos_token_id=self.renderer.stop_token_ids, pad_token_id=self.pad_id,
            **({"temperature": first.temperature, "top_p": first.top_p, "top_k": 0}
               if first.temperature > 0 else {}))
        if first.temperature > 0 and first.seed is not None:
            torch.manual_seed(first.seed)
        with torch.inference_mode():
            self.model.generate(input_ids=ids, attention_mask=mask, generation_config=cfg,
                                stopping_criteria=StoppingCriteriaList([_Track()]))
        return rows.results()


class LlamaCppEngine:
    """A GGUF on the CPU through llama.cpp (``lamstudio.llm.LlamaCppModel``): prompts are
    the ids the server rendered, answers are decoded by the same tokenizer. A batch runs
    one request after another (llama.cpp's multi-sequence batches were 0.98-1.22x as fast
    on 2 cores and made each answer depend on its batch: ``lamstudio.llm._llamacpp``); the
    prompt prefix stays in the KV cache. ``threads`` defaults to the idle cores."""

    def __init__(self, model: str, gguf: str | None = None, *, model_id: str | None = None,
                 threads: int | None = None, context_length: int | None = None) -> None:
        from lamstudio.llm import LlamaCppModel, LLMError

        try:
            self.engine = LlamaCppModel(model, gguf=gguf, threads=threads,
                                        context_length=context_length)
        except LLMError as exc:
            raise ValueError(str(exc)) from None
        self.renderer, self.model_id = self.engine.renderer, model_id or model
        self.context_length = self.engine.context

    def generate(self, batch: Sequence[GenRequest]) -> list[GenResult]:
        from lamstudio.llm import Sampling

        out = []
        for req in batch:
            rows = _Rows([req], self.renderer)
            if not req.cancelled.is_set():  # a client gone while queued costs no prefill
                self.engine.generate(req.prompt_ids,
                                     Sampling(req.temperature, req.top_p, req.seed),
                                     lambda tok, rows=rows: rows.step([tok])[0])
            out += rows.results()
        return out


class ScriptedEngine:
    """Answers with given replies, in turn (a callable gets the prompt text and picks).

    A reply is the whole assistant output in the template's format, e.g.
    ``'[TOOL_CALLS][{"name":"f","arguments":{}}]'``. When the server forces a call prefix
    (``tool_choice``), a reply that starts with it continues after it; one that does not is
    taken as the continuation. Replies are tokenized and streamed token by token, at
    ``seconds_per_token`` each to play a slow model (clients' timeouts, cancellation).
    """

    def __init__(self, tokenizer: Any, replies: Sequence[str] | Callable[[str], str], *,
                 model_id: str = "scripted", context_length: int = 4096,
                 seconds_per_token: float = 0.0) -> None:
        if isinstance(tokenizer, (str, Path)):
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(tokenizer))
        self.tokenizer, self.renderer = tokenizer, Renderer(tokenizer)
        self.model_id, self.context_length = model_id, context_length
        self.seconds_per_token = seconds_per_token
        if callable(replies):
            self._pick = replies
        else:
            turns = itertools.cycle(list(replies))
            self._pick = lambda prompt: next(turns)
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, tokenizer: Any, path: str | Path, **kw: Any) -> ScriptedEngine:
        """Replies from a JSON list of strings, or JSON Lines of ``{"output": ...}``."""
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = [json.loads(line)["output"] for line in text.splitlines() if line.strip()]
        if not isinstance(data, list) or not data or not all(isinstance(r, str) for r in data):
            raise ValueError(f"{path}: expected a non-empty JSON list of strings or JSON Lines "
                             'of {"output": "..."}')
        return cls(tokenizer, data, **kw)

    def generate(self, batch: Sequence[GenRequest]) -> list[GenResult]:
        rows = _Rows(batch, self.renderer)
        streams = []
        for r in batch:
            with self._lock:
                reply = self._pick(self.renderer.decode(r.prompt_ids))
            if r.prefix and reply.startswith(r.prefix):
                reply = reply[len(r.prefix):]
            ids = self.tokenizer(reply, add_special_tokens=False)["input_ids"]
            streams.append(ids + self.renderer.stop_token_ids[:1])
        for step in range(max(len(s) for s in streams)):
            if self.seconds_per_token:
                time.sleep(self.seconds_per_token)
            done = rows.step([s[min(step, len(s) - 1)] for s in streams])
            if all(done):
                break
        return rows.results()


def resolve_model(name_or_path: str) -> str:
    """A scripted engine's reply file as given; anything else through ``lamstudio.models``:
    a registry name, a folder (a prepared one is checked like one given by name) or a
    ``.gguf`` file (offline: a mistyped name fails at once)."""
    path = Path(name_or_path)
    if path.is_file() and path.suffix.lower() != ".gguf":
        return name_or_path
    from lamstudio.models import resolve_model as _resolve

    return str(_resolve(name_or_path))


def _tokenizer_dir(path: str, adapter: str | None) -> str:
    if adapter:
        for d in (Path(adapter), Path(adapter) / "final"):
            if (d / "tokenizer_config.json").is_file():
                return str(d)
    return path


def _merge_adapter(model: Any, tokenizer: Any, adapter: str) -> Any:
    from peft import PeftModel

    folder = Path(adapter)
    if not (folder / "adapter_config.json").is_file() and (folder / "final").is_dir():
        folder = folder / "final"  # a lamstudio run folder
    if not (folder / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter}: no adapter_config.json (not a PEFT adapter)")
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))  # training added tokens
    return PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
