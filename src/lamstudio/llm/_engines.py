"""The local engines by name: ``transformers`` (fp32, any HF model; the default) and
``llamacpp`` (a GGUF on the CPU). One name list for every command's ``--engine``."""

from __future__ import annotations

import os
from typing import Any

from lamstudio.llm._llamacpp_backend import LlamaCppBackend
from lamstudio.llm._local import LocalBackend
from lamstudio.llm._types import LLMError

LOCAL_ENGINES = ("transformers", "llamacpp")
_ALIASES = {"local": "transformers", "llama.cpp": "llamacpp", "llama-cpp": "llamacpp"}


def engine_name(name: str) -> str:
    """``name`` as one of ``LOCAL_ENGINES`` (``local`` is the old name of transformers)."""
    return _ALIASES.get(name.strip().lower(), name.strip().lower())


def local_backend(model: str | os.PathLike[str], engine: str = "transformers", *,
                  gguf: str | None = None, adapter: str | None = None,
                  **kw: Any) -> LocalBackend:
    """A ``ChatBackend`` on a local model with the named engine (``kw``: batch_size,
    cache_dir, threads, template, name, default_params)."""
    engine = engine_name(engine)
    if engine == "llamacpp":
        if adapter:
            raise LLMError("the llamacpp engine runs a GGUF, not a PEFT adapter: merge and "
                           "export it first (lamstudio export --gguf q8_0 RUN -o OUT), then "
                           "pass --model OUT/FILE.gguf", 400)
        return LlamaCppBackend(model, gguf=gguf, **kw)
    if engine != "transformers":
        raise LLMError(f"unknown engine {engine!r}; choose one of: "
                       f"{', '.join(LOCAL_ENGINES)}", 400)
    if gguf:
        raise LLMError("--gguf FILE is for --engine llamacpp (transformers runs the "
                       "prepared folder: --model FILE.gguf prepares one)", 400)
    return LocalBackend(model, adapter=adapter, **kw)
