"""``LlamaCppBackend``: the ``ChatBackend`` of a GGUF model run by llama.cpp on the CPU.

Everything but the engine is ``LocalBackend``'s: the request queue (requests issued
together are taken together), the response cache, the params it accepts (``temperature``,
``top_p``, ``max_tokens``, ``seed``, ``stop``; others are refused), the context guard (a
prompt over the context fails alone with a 400 naming its token count; near the end of the
context an answer gets the room that is left), rendering with the model's ``Renderer`` and
reading tool calls with ``render.parse_output``. Generation is ``LlamaCppModel``'s: one
request after another with the prompt prefix kept in the KV cache (see ``_llamacpp``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lamstudio.llm._llamacpp import LlamaCppModel, Sampling
from lamstudio.llm._local import LocalBackend, _finish, _Prompt


class LlamaCppBackend(LocalBackend):
    """``ChatBackend`` on a GGUF: ``model`` is a registry name, a ``.gguf`` file or a
    folder (with ``gguf=FILE``, or one that knows its GGUF). ``threads`` defaults to the
    cores; ``context_length`` to the model's (at most 8192)."""

    def __init__(self, model: str | os.PathLike[str], *, gguf: str | None = None,
                 batch_size: int = 8, cache_dir: str | os.PathLike[str] | None = None,
                 threads: int | None = None, context_length: int | None = None,
                 template: str | None = None, name: str | None = None,
                 default_params: dict[str, Any] | None = None) -> None:
        self.path, self.adapter = str(model), None
        self._gguf, self._context_length = gguf, context_length
        self._setup(name or Path(str(model)).name or str(model), batch_size, cache_dir,
                    default_params, threads, template)

    def __repr__(self) -> str:
        return f"LlamaCppBackend(model={self.path!r}, gguf={self._gguf!r})"

    def load(self) -> LlamaCppBackend:
        """Open the GGUF and the tokenizer now (otherwise on the first request)."""
        with self._load_lock:
            if self._lm is None:
                self._lm = LlamaCppModel(self.path, gguf=self._gguf, threads=self._threads,
                                         context_length=self._context_length,
                                         template=self._template)
                self._renderer, self.context = self._lm.renderer, self._lm.context
        return self

    @property
    def engine(self) -> LlamaCppModel:
        return self.load()._lm

    def _run(self, prompts: list[_Prompt]) -> list[tuple[str, str, int]]:
        tok, stops = self._renderer.tokenizer, self._renderer.stop_token_ids
        out = []
        for p in prompts:
            seq: list[int] = []
            self._lm.generate(p.ids, Sampling(p.row.temperature, p.row.top_p, p.row.seed),
                              _until(seq, p, stops, self._renderer.decode))
            out.append(_finish(tok, p.row, seq, stops))
        return out


def _until(seq: list[int], p: _Prompt, stops: list[int], decode: Any) -> Any:
    """The ``on_token`` of one request: collect ids until a stop token, the token budget
    or a stop string (``_finish`` then cuts the text where LocalBackend would)."""
    def on_token(tok: int) -> bool:
        seq.append(tok)
        if tok in stops or len(seq) >= p.row.max_tokens:
            return True
        return bool(p.row.stop) and any(s and s in decode(seq) for s in p.row.stop)

    return on_token
