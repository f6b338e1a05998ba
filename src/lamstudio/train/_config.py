"""The training config: a tree of dataclasses loaded from a YAML recipe.

The recipe is plain data (like TRL's ``SFTConfig`` paired with its trainer): every field has a
default here, unknown keys are an error that names the key and suggests the nearest one, and
``--set a.b=value`` overrides any leaf (``data.sources.0.weight=2`` reaches into lists).
Relative paths are taken from the current directory, as in other fine-tuning tools.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

Mode = Literal["lora", "qlora", "full"]


class ConfigError(ValueError):
    """A recipe that cannot be used; the message names the key."""


@dataclass
class ModelConfig:
    # Any Hugging Face model id or local directory; loaded with ``from_pretrained``.
    name_or_path: str = ""
    tokenizer: str | None = None  # default: the model's own
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    attn_implementation: str = "sdpa"  # sdpa | eager | flash_attention_2
    trust_remote_code: bool = False


@dataclass
class SourceConfig:
    path: str = ""
    format: str = "lamstudio"
    name: str | None = None  # default: the file stem
    # Either a share of the mix (weights are normalised) or an ActionStudio-style epoch
    # multiplier (0.5 = a random half per epoch, 2 = every example twice); not both.
    weight: float | None = None
    epochs: float | None = None


@dataclass
class DataConfig:
    sources: list[SourceConfig] = field(default_factory=list)
    # p_i ∝ n_i^(1/T): T=1 keeps natural sizes, larger T flattens towards uniform.
    temperature: float | None = None
    samples_per_epoch: int | None = None  # for weight/temperature mixing; default Σ n_i
    eval_file: str | None = None
    eval_format: str = "lamstudio"
    eval_fraction: float = 0.0  # held out from the sources when no eval_file
    max_eval: int = 500
    max_len: int = 1024
    packing: bool = True
    last_turn_only: bool = False
    template: str | None = None  # chat template name/path for the renderer; None = default


@dataclass
class LoraConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # A list of module names, or "all-linear" (PEFT's shorthand).
    target_modules: list[str] | str = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                 "gate_proj", "up_proj", "down_proj"])
    modules_to_save: list[str] | None = None


@dataclass
class OptimConfig:
    mode: Mode = "lora"
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 8  # per device
    grad_accum: int = 1
    lr: float = 2e-4
    weight_decay: float = 0.0
    # Share of each target's probability spread over the whole vocabulary (as
    # ``label_smoothing_factor`` in transformers); 0 = plain cross-entropy.
    label_smoothing: float = 0.0
    # NEFTune: uniform noise on the input embeddings while training, scaled by
    # alpha / sqrt(tokens x hidden) (transformers' ``neftune_noise_alpha``; the paper used
    # 5-15). None: off.
    neftune_alpha: float | None = None
    warmup_ratio: float = 0.03
    scheduler: str = "cosine"
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"
    gradient_checkpointing: bool = False
    precision: str = "auto"  # auto (bf16 on a GPU that has it) | bf16 | fp16 | fp32
    logging_steps: int = 10
    save_steps: int = 500
    save_total_limit: int | None = 3
    eval_steps: int = 0  # 0: evaluate only at the end (when there is eval data)
    threads: int | None = None  # CPU threads per process; default: cores / processes
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])


@dataclass
class TrainConfig:
    run_dir: str = "runs/lamstudio"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    train: OptimConfig = field(default_factory=OptimConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                base: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML recipe (or start from ``base``), apply ``key=value`` overrides, check it."""
    raw: dict[str, Any] = dict(base or {})
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: no such recipe file")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML ({exc})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(
                f"{p}: a recipe is a mapping of sections, got {type(loaded).__name__}")
        raw.update(loaded or {})
    for item in overrides or []:
        apply_override(raw, item)
    cfg = from_dict(TrainConfig, raw, "")
    check_config(cfg)
    return cfg


def apply_override(raw: dict[str, Any], item: str) -> None:
    """``a.b.c=value``: the value is parsed as YAML (numbers, lists, booleans, null)."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. train.lr=1e-4")
    parts = key.strip().split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(node, list):
            node = node[_index(node, part, key)]
        else:
            node = node.setdefault(part, [] if nxt.isdigit() else {})
    value = yaml.safe_load(text) if text.strip() else None
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, key)] = value
    else:
        node[last] = value


def _index(node: list[Any], part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"--set {key}: {part!r} is not an index of a list of {len(node)}")
    return int(part)


def from_dict(cls: type, raw: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, with errors that name the offending key."""
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'recipe'}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in raw.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in names:
            near = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f"; known: {', '.join(names)}"
            raise ConfigError(f"{path}: unknown key{hint}")
        kwargs[key] = _coerce(hints[key], value, path)
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for opt in (o for o in options if o is not type(None)):
            try:
                return _coerce(opt, value, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_coerce(item, v, f"{path}.{i}") for i, v in enumerate(value)]
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{path}: expected one of {list(typing.get_args(tp))}, got {value!r}")
        return value
    return _scalar(tp, value, path)


def _scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)  # YAML 1.1 reads "2e-4" as a string
        except ValueError:
            pass
    elif tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif tp is bool and isinstance(value, bool):
        return value
    elif tp is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    elif tp is Any:
        return value
    raise ConfigError(f"{path}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def check_config(cfg: TrainConfig) -> None:
    """Cross-field rules that types alone cannot say."""
    if not cfg.model.name_or_path:
        raise ConfigError("model.name_or_path: required (a Hugging Face model id or a local path)")
    if not cfg.data.sources:
        raise ConfigError("data.sources: list at least one source (path, format)")
    for i, src in enumerate(cfg.data.sources):
        where = f"data.sources.{i}"
        if not src.path:
            raise ConfigError(f"{where}.path: required")
        if src.weight is not None and src.epochs is not None:
            raise ConfigError(f"{where}: give weight or epochs, not both")
        for key in ("weight", "epochs"):
            value = getattr(src, key)
            if value is not None and value < 0:
                raise ConfigError(f"{where}.{key}: must be >= 0, got {value}")
    weighted = [s.weight is not None for s in cfg.data.sources]
    if any(weighted) and not all(weighted):
        raise ConfigError("data.sources: give a weight to every source or to none")
    if cfg.data.temperature is not None:
        if cfg.data.temperature <= 0:
            raise ConfigError("data.temperature: must be > 0")
        if any(weighted) or any(s.epochs is not None for s in cfg.data.sources):
            raise ConfigError("data.temperature: replaces per-source weight/epochs; drop one")
    if not 0.0 <= cfg.data.eval_fraction < 1.0:
        raise ConfigError("data.eval_fraction: must be in [0, 1)")
    if cfg.data.max_len < 8:
        raise ConfigError("data.max_len: must be >= 8")
    t = cfg.train
    for key in ("batch_size", "grad_accum", "logging_steps", "save_steps"):
        if getattr(t, key) < 1:
            raise ConfigError(f"train.{key}: must be >= 1")
    if t.precision not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"train.precision: expected auto|bf16|fp16|fp32, got {t.precision!r}")
    if not 0.0 <= t.label_smoothing < 1.0:
        raise ConfigError(f"train.label_smoothing: must be in [0, 1), got {t.label_smoothing}")
    if t.neftune_alpha is not None and t.neftune_alpha <= 0:
        raise ConfigError(
            f"train.neftune_alpha: must be > 0 (or null: off), got {t.neftune_alpha}")
    if t.max_steps <= 0 and t.epochs <= 0:
        raise ConfigError("train: set epochs > 0 or max_steps > 0")
