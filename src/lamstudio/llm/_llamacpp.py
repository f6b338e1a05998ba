"""One GGUF model in llama.cpp (llama-cpp-python), driven with lamstudio's own token ids.

The prompt is rendered and tokenized by the model's ``Renderer`` (never llama.cpp's chat
handler or tokenizer), the ids go to llama.cpp as they are, and generated ids are decoded
by the HF tokenizer: the text the model sees is the text it was trained on.

Requests run one at a time, in the order they come. Measured on 2 cores
(``bench/generate.py``, SmolLM2-135M, 8 BFCL prompts, <= 64 greedy tokens, 1 thread on a busy
machine, 2026-12-06): decoding the 8 as sequences of one ``llama_batch`` (distinct seq ids)
gave 37.1 tokens/s against 30.4 one after another on the Q4_1 file (1.22x) and 69.9 against
71.3 on Q8_0 (none), and its greedy answers depended on what shared the batch (3 and 6 of 8
texts changed: the batched matmul rounds differently). One at a time keeps an answer
independent of other requests, as ``LocalBackend`` promises, and lets the KV cache keep the
prompt prefix a request shares with the one before (an agent resends its whole conversation
each turn; BFCL prompts share their system prompt).

Reuse never changes an answer: llama.cpp computes a one-token ``decode`` along another path
than a multi-token one (logits differ by up to ~0.5), so only positions that were prefilled
in chunks of two or more tokens are reused, at least two prompt tokens are always evaluated
again, and no chunk is a single token. Generated tokens (decoded one by one) are never
reused. A prompt then gives the same logits whatever ran before it (``tests/llm``).
"""

from __future__ import annotations

import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamstudio.llm._gguf import GgufModel, find_gguf, vocab_problem
from lamstudio.llm._types import LLMError

INSTALL = ("the llamacpp engine needs llama-cpp-python (an optional extra that builds "
           "llama.cpp from source, ~11 min on 2 cores): pip install 'lamstudio[llamacpp]' "
           "or make llamacpp")
CONTEXT_CAP = 8192  # default n_ctx: the GGUF's training context, at most this (KV memory)
N_BATCH = 512       # tokens per prefill decode
KV_TYPES = {"f16": 1, "f32": 0}  # ggml types of the KV cache


def llama_cpp_available() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def require_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise LLMError(INSTALL, 400) from None
    return llama_cpp


def default_threads() -> int:
    """The cores this process may run on, less those busy when the model loads (the
    1-minute load average), at least one. llama.cpp's threads meet at a barrier after every
    operation, so one thread that loses its core stalls the others: on 2 cores with ~4
    other runnable jobs, 2 threads decoded SmolLM2 at 8.8 tokens/s and 1 thread at 49."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except (AttributeError, OSError):
        busy = 0
    return max(1, min(cores, cores - busy))


@dataclass(frozen=True)
class Sampling:
    """``temperature`` 0 is greedy; otherwise temperature, then ``top_p``, then a draw
    seeded by ``seed`` (the order vLLM and transformers apply them in)."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None


class LlamaCppModel:
    """A GGUF in llama.cpp with the renderer of its prepared folder (see the module doc);
    ``threads`` defaults to the idle cores (``default_threads``). ``kv_cache``: llama.cpp's
    default f16, or f32 (twice the memory; with F32 weights the answers are then
    transformers fp32's, token for token, where f16 changed 1 of 8 BFCL answers).

    ``generate(ids, sampling, on_token)`` runs one request; ``on_token(id)`` returns True
    to stop. Thread-safe: requests from several threads run one after another."""

    def __init__(self, model: str | os.PathLike[str], *, gguf: str | None = None,
                 threads: int | None = None, context_length: int | None = None,
                 template: str | None = None, kv_cache: str = "f16") -> None:
        llama_cpp = require_llama_cpp()
        if kv_cache not in KV_TYPES:
            raise LLMError(f"kv_cache must be one of {', '.join(KV_TYPES)}", 400)
        from transformers import AutoTokenizer

        from lamstudio.render import Renderer

        self.files: GgufModel = find_gguf(model, gguf)
        self.renderer = Renderer(AutoTokenizer.from_pretrained(str(self.files.folder)),
                                 template)
        self.threads = threads or default_threads()
        n_ctx = context_length or _trained_context(self.files.folder)
        self._llm = _open(llama_cpp, self.files.gguf, self.threads, n_ctx, KV_TYPES[kv_cache])
        weakref.finalize(self, self._llm.close)  # before interpreter teardown, not in it
        problem = vocab_problem(_gguf_tokens(self._llm), self.renderer.tokenizer)
        if problem:
            self._llm.close()
            raise LLMError(f"{self.files.gguf} does not fit the tokenizer of "
                           f"{self.files.folder}: {problem}; pass the folder the GGUF was "
                           "exported from (--gguf FILE with --model FOLDER)", 400)
        # llama.cpp rounds its context up (to 256); the Llama's own buffers hold n_ctx.
        self.context = min(n_ctx, self._llm.n_ctx())
        self._lock = threading.Lock()
        self._cached: list[int] = []  # prompt ids whose KV entries a prefill computed
        self.stats = {"requests": 0, "prompt_tokens": 0, "reused_tokens": 0,
                      "generated_tokens": 0, "prefill_s": 0.0, "decode_s": 0.0}

    @property
    def gguf(self) -> Path:
        return self.files.gguf

    def close(self) -> None:
        self._llm.close()

    def forget(self) -> None:
        """Keep no prompt prefix for the next request (a cold prefill, e.g. to time it)."""
        with self._lock:
            self._cached = []

    def generate(self, ids: Sequence[int], sampling: Sampling,
                 on_token: Callable[[int], bool]) -> bool:
        """Prefill ``ids``, then sample until ``on_token`` says stop (True returned) or the
        context is full (False returned: the caller's "length")."""
        if not ids:
            raise LLMError("an empty prompt", 400)
        if len(ids) >= self.context:
            raise LLMError(f"the prompt has {len(ids)} tokens: the model's context holds "
                           f"{self.context}", 400)
        with self._lock:
            t0 = time.perf_counter()
            self._prefill(list(ids))
            t1 = time.perf_counter()
            try:
                stopped, n = self._decode(len(ids), sampling, on_token)
            finally:
                self.stats["decode_s"] += time.perf_counter() - t1
                self.stats["prefill_s"] += t1 - t0
            self.stats["requests"] += 1
            self.stats["generated_tokens"] += n
        return stopped

    # -- the two phases ----------------------------------------------------------------
    def _prefill(self, ids: list[int]) -> None:
        keep = _common_prefix(self._cached, ids)
        keep = max(0, min(keep, len(ids) - 2))  # re-evaluate >= 2 tokens: the same path
        self._cached = []  # until this prefill is complete
        if not self._llm._ctx.kv_cache_seq_rm(-1, keep, -1):
            keep = 0
            self._llm.reset()
            self._llm._ctx.kv_cache_clear()
        self._llm.n_tokens = keep
        for chunk in _chunks(ids[keep:], N_BATCH):
            self._llm.eval(chunk)
        self._cached = ids
        self.stats["prompt_tokens"] += len(ids)
        self.stats["reused_tokens"] += keep

    def _decode(self, pos: int, sampling: Sampling,
                on_token: Callable[[int], bool]) -> tuple[bool, int]:
        llama_cpp = require_llama_cpp()
        chain = _sampler(llama_cpp, sampling)
        n = 0
        try:
            while True:
                tok = llama_cpp.llama_sampler_sample(chain, self._llm._ctx.ctx, -1)
                n += 1
                if on_token(int(tok)):
                    return True, n
                if pos >= self.context:  # no room left to read the token back
                    return False, n
                self._llm.eval([tok])
                pos += 1
        finally:
            llama_cpp.llama_sampler_free(chain)


def _open(llama_cpp: Any, gguf: Path, threads: int, n_ctx: int, kv_type: int) -> Any:
    try:
        return llama_cpp.Llama(str(gguf), n_ctx=n_ctx, n_batch=N_BATCH, n_ubatch=N_BATCH,
                               n_threads=threads, n_threads_batch=threads, type_k=kv_type,
                               type_v=kv_type, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:  # llama.cpp could not load the file
        raise LLMError(f"{gguf}: llama.cpp cannot load it ({exc})", 400) from None


def _trained_context(folder: Path) -> int:
    """The model's context (``max_position_embeddings`` of its config), at most
    ``CONTEXT_CAP``: the KV cache is allocated for all of it."""
    from lamstudio.io import JsonValueError, parse_json

    try:
        config = parse_json((folder / "config.json").read_bytes())
    except (OSError, JsonValueError):
        config = None
    n = config.get("max_position_embeddings") if isinstance(config, dict) else None
    return min(n, CONTEXT_CAP) if isinstance(n, int) and n > 0 else 2048


def _gguf_tokens(llm: Any) -> list[str]:
    model = llm._model
    return [model.token_get_text(i) for i in range(model.n_vocab())]


def _sampler(llama_cpp: Any, s: Sampling) -> Any:
    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    if s.temperature <= 0:
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        return chain
    seed = random.getrandbits(32) if s.seed is None else int(s.seed)
    llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_temp(s.temperature))
    if s.top_p < 1.0:
        llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_p(s.top_p, 1))
    # 0xFFFFFFFF asks llama.cpp for a random seed: seeds live below it.
    llama_cpp.llama_sampler_chain_add(chain,
                                      llama_cpp.llama_sampler_init_dist(seed % 0xFFFFFFFF))
    return chain


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    """``ids`` in pieces of at most ``size`` and, unless ``ids`` is one token, at least two
    (a one-token decode rounds differently: see the module doc)."""
    out = [ids[i:i + size] for i in range(0, len(ids), size)]
    if len(out) > 1 and len(out[-1]) == 1:
        out[-1].insert(0, out[-2].pop())
    return out
