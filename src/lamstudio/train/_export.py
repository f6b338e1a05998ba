"""``export``: a run directory -> one standalone model directory (LoRA merged) + tokenizer."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamstudio.io import JsonValueError, parse_json
from lamstudio.train._errors import TrainError
from lamstudio.train._trainer import RUN_FILE


@dataclass
class Merged:
    """A run's final (or chosen) model in memory: LoRA merged, with its tokenizer."""

    model: Any
    tokenizer: Any
    meta: dict[str, Any]  # the run's run.json
    base: str  # the base model folder (its provenance says where it came from)


def is_run(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / RUN_FILE).is_file()


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


def read_run(run_dir: Path) -> dict[str, Any]:
    """The run's ``run.json`` (outside bytes: read through the hardened parser)."""
    meta_path = run_dir / RUN_FILE
    try:
        meta = parse_json(meta_path.read_bytes())
    except FileNotFoundError:
        raise TrainError(f"{run_dir}: not a lamstudio run directory (no {RUN_FILE})") from None
    except (OSError, JsonValueError) as exc:
        raise TrainError(f"{meta_path}: cannot read it ({exc})") from None
    if not (isinstance(meta, dict) and isinstance(meta.get("config"), dict)
            and isinstance(meta.get("base_model"), str)):
        raise TrainError(f"{meta_path}: not a lamstudio run record (no config / base_model)")
    return meta


def merge_run(run_dir: str | os.PathLike[str], checkpoint: str | None = None,
              dtype: str | None = None) -> Merged:
    """The run's model with its LoRA adapter merged into the base (or its full fine-tune).

    The base is loaded unquantized even for QLoRA runs: merging into 4-bit weights would
    round the adapter away. ``dtype`` defaults to the base model's own.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = Path(run_dir)
    meta = read_run(run)
    src = _adapter_dir(run, checkpoint)
    kwargs: dict[str, Any] = {
        "trust_remote_code": meta["config"].get("model", {}).get("trust_remote_code", False)}
    if dtype is not None:
        kwargs["dtype"] = getattr(torch, dtype)
    base = _base(meta)
    if (src / "adapter_config.json").is_file():
        from peft import PeftModel

        model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
        model = PeftModel.from_pretrained(model, str(src)).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(src), **kwargs)
    tok_src = src if (src / "tokenizer_config.json").is_file() else meta["tokenizer"]
    tokenizer = AutoTokenizer.from_pretrained(str(tok_src))
    model.config.use_cache = True
    return Merged(model, tokenizer, meta, base)


def export(run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
           checkpoint: str | None = None, dtype: str | None = None) -> Path:
    """Merge the run's LoRA adapter into its base model (or copy a full fine-tune) and save
    model + tokenizer to ``out_dir``; it loads with ``from_pretrained`` and nothing else."""
    merged = merge_run(run_dir, checkpoint, dtype)
    # Write next to the target, then rename: an interrupted export leaves no half model.
    out = Path(out_dir)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    merged.model.save_pretrained(tmp)
    merged.tokenizer.save_pretrained(tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out
