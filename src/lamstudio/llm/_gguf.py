"""Which GGUF file the llama.cpp engine runs, and which prepared folder renders its prompts.

The engine needs both: llama.cpp runs the GGUF's weights, while the prompt is rendered and
tokenized by the model's ``Renderer`` (the HF tokenizer and chat template of a prepared
folder), so prompts stay identical to training. ``--model`` may be

* a registry name: the packaged GGUF it was prepared from (hash-checked by ``prepare``);
* a ``.gguf`` file: the file itself, prepared through ``lamstudio.models`` for its tokenizer;
* a folder plus ``gguf=FILE``; or a folder alone, whose GGUF is the one its provenance
  records (a prepared folder) or the one ``.gguf`` file inside it (an exported model).

The token ids the renderer makes are fed to llama.cpp as they are, so the two vocabularies
must agree id for id (``vocab_problem``); a GGUF made for another tokenizer is refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamstudio.llm._types import LLMError

EXPORT_HINT = "lamstudio export --gguf q8_0 {folder} -o OUT"


@dataclass(frozen=True)
class GgufModel:
    gguf: Path    # the file llama.cpp runs
    folder: Path  # the prepared HF folder whose tokenizer and template render the prompts


def find_gguf(model: str | os.PathLike[str], gguf: str | os.PathLike[str] | None = None
              ) -> GgufModel:
    """The GGUF and the folder for ``model`` (see the module doc); ``LLMError`` (400) with
    what to do when there is no GGUF to run."""
    from lamstudio.models import REGISTRY, ModelError, get_entry, resolve_model

    name = os.fspath(model)
    try:
        if gguf is not None:
            return GgufModel(_gguf_file(gguf), Path(resolve_model(name)))
        if name in REGISTRY:
            folder = Path(resolve_model(name))  # prepares and hash-checks the packaged file
            return GgufModel(get_entry(name).require_file(), folder)
        path = Path(name).expanduser()
        if path.is_file():
            return GgufModel(_gguf_file(path), Path(resolve_model(path)))
        folder = Path(resolve_model(name))
    except ModelError as exc:
        raise LLMError(str(exc), 400) from None
    return GgufModel(_companion(folder), folder)


def _gguf_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise LLMError(f"{p}: no such GGUF file", 400)
    if p.suffix.lower() != ".gguf":
        raise LLMError(f"{p}: not a .gguf file (the llamacpp engine runs GGUF models)", 400)
    return p


def _companion(folder: Path) -> Path:
    """The GGUF a folder was prepared from (its provenance), else its one ``.gguf`` file."""
    from lamstudio.models import file_sha256, read_provenance

    source = (read_provenance(folder) or {}).get("source")
    if isinstance(source, dict) and source.get("kind") in ("package", "gguf"):
        path = _source_file(source)
        if path is not None and file_sha256(path) == source.get("sha256"):
            return path
        raise LLMError(f"{folder}: the GGUF it was prepared from ({path or source}) is gone "
                       "or changed since; pass the GGUF with --gguf FILE", 400)
    found = sorted(folder.glob("*.gguf"))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise LLMError(f"{folder}: holds {len(found)} GGUF files "
                       f"({', '.join(p.name for p in found[:4])}); pick one with --gguf FILE",
                       400)
    return _no_gguf(folder)


def _source_file(source: dict[str, Any]) -> Path | None:
    """The file a provenance's ``source`` names, if it is still there."""
    from lamstudio.models import registered

    if source.get("kind") == "gguf":
        path = Path(str(source.get("path", "")))
        return path if path.is_file() else None
    for entry in registered():
        if (entry.package, entry.file) == (source.get("package"), source.get("file")):
            return entry.installed_file()
    return None


def _no_gguf(folder: Path) -> Path:
    raise LLMError(f"{folder}: no GGUF for the llamacpp engine; write one with "
                   f"`{EXPORT_HINT.format(folder=folder)}` and pass --gguf OUT/FILE.gguf", 400)


def vocab_problem(gguf_tokens: Sequence[str], tokenizer: Any) -> str | None:
    """None when every id of ``tokenizer`` names the same token in the GGUF, else why not.

    The GGUF may have more ids than the tokenizer only when the extra ones are padding rows
    of the embedding (``[PAD...]``, as llama.cpp's converter writes for Qwen): a model never
    learnt to emit them."""
    n = len(tokenizer)
    if len(gguf_tokens) < n:
        return f"the GGUF has {len(gguf_tokens):,} tokens, the tokenizer {n:,}"
    extra = [t for t in gguf_tokens[n:] if not t.startswith("[PAD")]
    if extra:
        return (f"the GGUF has {len(gguf_tokens):,} tokens, the tokenizer {n:,} "
                f"(e.g. {extra[0]!r} is not in the tokenizer)")
    theirs = tokenizer.convert_ids_to_tokens(list(range(n)))
    bad = [i for i, (a, b) in enumerate(zip(gguf_tokens, theirs, strict=False)) if a != b]
    if bad:
        i = bad[0]
        return (f"{len(bad):,} of {n:,} token ids differ (id {i} is {gguf_tokens[i]!r} in "
                f"the GGUF, {theirs[i]!r} in the tokenizer)")
    return None
