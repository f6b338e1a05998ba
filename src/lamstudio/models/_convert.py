"""GGUF file -> a normal Hugging Face model folder (weights, tokenizer, chat template, config).

transformers dequantizes a GGUF into a regular model but then refuses ``save_pretrained``
("quantized with gguf and is not serializable"): the config keeps a ``quantization_config``.
The weights are plain float tensors by then, so they go into a fresh model of the same
config without it (all keys must match), which saves and reloads like any other model.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lamstudio.models._disk import as_os_error
from lamstudio.models._errors import ModelError


@contextlib.contextmanager
def _no_hf_bars() -> Iterator[None]:
    """Our status line replaces transformers' own bars while converting. The GGUF reader's
    tqdm bar has no switch, so stderr goes to a buffer meanwhile (our status line holds the
    real stream; errors still arrive as exceptions)."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def load_gguf(gguf: Path) -> tuple[Any, Any]:
    """The dequantized model (float32) and tokenizer that transformers reads from ``gguf``."""
    if importlib.util.find_spec("gguf") is None:
        raise ModelError(f"{gguf}: reading a GGUF file needs the gguf package: pip install gguf")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    try:
        with _no_hf_bars():
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name,
                                                         dtype=torch.float32)
            tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    except MemoryError:
        raise
    except Exception as exc:  # the file is outside bytes: any way its reader fails is ours
        raise ModelError(f"{gguf}: not a GGUF model transformers can read "
                         f"({type(exc).__name__}: {exc})") from None
    return model, tok


def plain_copy(model: Any) -> Any:
    """The same weights in a model whose config has no ``quantization_config``."""
    import torch
    from transformers import AutoModelForCausalLM

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):  # no random init of 100M+ weights that are replaced anyway
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = fresh.load_state_dict(model.state_dict(), strict=False, assign=True)
    if result.missing_keys or result.unexpected_keys:
        raise ModelError(f"GGUF conversion: weights do not match the architecture "
                         f"(missing {result.missing_keys[:5]}, unexpected "
                         f"{result.unexpected_keys[:5]})")
    fresh.tie_weights()
    fresh.generation_config = model.generation_config
    return fresh.eval()


def convert_gguf(gguf: Path, out: Path) -> dict[str, Any]:
    """Write the HF folder for ``gguf`` into ``out``; returns facts for the provenance."""
    model, tok = load_gguf(gguf)
    fresh = plain_copy(model)
    del model
    try:
        with _no_hf_bars():
            fresh.save_pretrained(out)
            tok.save_pretrained(out)
    except OSError:
        raise
    except Exception as exc:  # safetensors and tokenizers report a full disk their own way
        error = as_os_error(exc, out)
        if error is None:
            raise
        raise error from exc
    return {"architecture": type(fresh).__name__,
            "parameters": sum(p.numel() for p in fresh.parameters()),
            "vocab_size": len(tok), "has_chat_template": bool(tok.chat_template)}
