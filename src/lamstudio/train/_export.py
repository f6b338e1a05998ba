"""``export``: a run directory -> one standalone model directory (LoRA merged) + tokenizer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from lamstudio.train._errors import TrainError
from lamstudio.train._trainer import RUN_FILE


def _adapter_dir(run_dir: Path, checkpoint: str | None) -> Path:
    src = run_dir / "final" if checkpoint is None else run_dir / "checkpoints" / checkpoint
    if checkpoint is not None and not src.is_dir():
        src = Path(checkpoint)  # a path given in full
    if not src.is_dir():
        raise TrainError(f"{src}: no such model directory in the run (train first, or pick "
                         "--checkpoint checkpoint-N)")
    return src


def _base(meta: dict[str, Any]) -> str:
    """The run's base model folder; prepared again if the cache was cleared since."""
    from lamstudio.models import ModelError, resolve_model

    path = meta["base_model"]
    if Path(path).is_dir():
        return path
    try:
        return resolve_model(meta.get("base_model_name", path),
                             meta["config"]["model"].get("allow_download", False))
    except ModelError as exc:
        raise TrainError(f"base model of the run: {exc}") from None


def export(run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
           checkpoint: str | None = None, dtype: str | None = None) -> Path:
    """Merge the run's LoRA adapter into its base model (or copy a full fine-tune) and save
    model + tokenizer to ``out_dir``; it loads with ``from_pretrained`` and nothing else.

    The base is loaded unquantized even for QLoRA runs: merging into 4-bit weights would
    round the adapter away. ``dtype`` defaults to the base model's own.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = Path(run_dir)
    meta_path = run / RUN_FILE
    if not meta_path.is_file():
        raise TrainError(f"{run}: not a lamstudio run directory (no {RUN_FILE})")
    meta = json.loads(meta_path.read_text())
    src = _adapter_dir(run, checkpoint)
    kwargs: dict[str, Any] = {"trust_remote_code": meta["config"]["model"]["trust_remote_code"]}
    if dtype is not None:
        kwargs["dtype"] = getattr(torch, dtype)
    if (src / "adapter_config.json").is_file():
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(_base(meta), **kwargs)
        model = PeftModel.from_pretrained(base, str(src)).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(src), **kwargs)
    tok_src = src if (src / "tokenizer_config.json").is_file() else meta["tokenizer"]
    tokenizer = AutoTokenizer.from_pretrained(str(tok_src))
    model.config.use_cache = True
    # Write next to the target, then rename: an interrupted export leaves no half model.
    out = Path(out_dir)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out
