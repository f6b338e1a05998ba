"""The training config: pydantic models loaded from a YAML recipe.

The recipe is plain data (like TRL's ``SFTConfig`` paired with its trainer): every field has a
default here, unknown keys are an error (``extra="forbid"``) that names the key and suggests the
nearest one, ranges are field constraints, and ``--set a.b=value`` overrides any leaf
(``data.sources.0.weight=2`` reaches into lists). Relative paths are taken from the current
directory, as in other fine-tuning tools.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Mode = Literal["lora", "qlora", "full"]


class ConfigError(ValueError):
    """A recipe that cannot be used; the message names the key."""


def _known_format(name: str) -> str:
    from lamstudio.sources import get_format

    get_format(name)  # UnknownFormat (a ValueError) names the choices
    return name


class _Section(BaseModel):
    # Numbers given for text fields (a model named 7) read as text, as YAML intends.
    model_config = ConfigDict(extra="forbid", validate_assignment=True,
                              coerce_numbers_to_str=True)


class ModelConfig(_Section):
    # Any Hugging Face model id or local directory; loaded with ``from_pretrained``.
    name_or_path: str = ""
    tokenizer: str | None = None  # default: the model's own
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    attn_implementation: str = "sdpa"  # sdpa | eager | flash_attention_2
    trust_remote_code: bool = False
    # Offline by default: a hub id is fetched only when this is true (or HF_HUB_OFFLINE=0).
    allow_download: bool = False


class SourceConfig(_Section):
    path: str = ""
    format: str = "lamstudio"
    name: str | None = None  # default: the file stem
    # Either a share of the mix (weights are normalised) or an ActionStudio-style epoch
    # multiplier (0.5 = a random half per epoch, 2 = every example twice); not both.
    weight: float | None = Field(None, ge=0)
    epochs: float | None = Field(None, ge=0)

    _known_format = field_validator("format")(lambda cls, v: _known_format(v))

    @model_validator(mode="after")
    def _one_way_to_mix(self) -> SourceConfig:
        if self.weight is not None and self.epochs is not None:
            raise ValueError("give weight or epochs, not both")
        return self


class DataConfig(_Section):
    sources: list[SourceConfig] = Field(default_factory=list)
    # p_i ∝ n_i^(1/T): T=1 keeps natural sizes, larger T flattens towards uniform.
    temperature: float | None = Field(None, gt=0)
    samples_per_epoch: int | None = Field(None, ge=1)  # weight/temperature mixing; default Σ n_i
    eval_file: str | None = None
    eval_format: str = "lamstudio"
    eval_fraction: float = Field(0.0, ge=0, lt=1)  # held out from the sources when no eval_file
    max_eval: int = Field(500, ge=0)
    max_len: int = Field(1024, ge=8)
    packing: bool = True
    last_turn_only: bool = False
    template: str | None = None  # chat template name/path for the renderer; None = default

    _known_format = field_validator("eval_format")(lambda cls, v: _known_format(v))

    @model_validator(mode="after")
    def _one_mixing_rule(self) -> DataConfig:
        weighted = [s.weight is not None for s in self.sources]
        if any(weighted) and not all(weighted):
            raise ValueError("give a weight to every source or to none")
        if self.temperature is not None and (
                any(weighted) or any(s.epochs is not None for s in self.sources)):
            raise ValueError("temperature replaces per-source weight/epochs; drop one")
        return self


class LoraConfig(_Section):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    # A list of module names, or "all-linear" (PEFT's shorthand).
    target_modules: list[str] | str = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                 "gate_proj", "up_proj", "down_proj"])
    modules_to_save: list[str] | None = None
    # PEFT's ``layers_to_transform``: adapt only these decoder layers (None: all). Adapting
    # only the top layers also stops the backward pass there, so a step costs less.
    layers_to_transform: list[int] | None = None


class OptimConfig(_Section):
    mode: Mode = "lora"
    epochs: float = Field(1.0, ge=0)
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = Field(8, ge=1)  # per device
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(2e-4, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    # Share of each target's probability spread over the whole vocabulary (as
    # ``label_smoothing_factor`` in transformers); 0 = plain cross-entropy.
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    # NEFTune: uniform noise on the input embeddings while training, scaled by
    # alpha / sqrt(tokens x hidden) (transformers' ``neftune_noise_alpha``; the paper used
    # 5-15). None: off.
    neftune_alpha: float | None = Field(None, gt=0)
    warmup_ratio: float = Field(0.03, ge=0, le=1)
    scheduler: str = "cosine"
    max_grad_norm: float = Field(1.0, ge=0)
    optim: str = "adamw_torch"
    gradient_checkpointing: bool = False
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"  # auto: bf16 where the GPU has it
    logging_steps: int = Field(10, ge=1)
    save_steps: int = Field(500, ge=1)
    save_total_limit: int | None = Field(3, ge=1)
    eval_steps: int = Field(0, ge=0)  # 0: evaluate only at the end (when there is eval data)
    threads: int | None = Field(None, ge=1)  # CPU threads per process; default: cores / processes
    report_to: list[str] = Field(default_factory=lambda: ["tensorboard"])

    @model_validator(mode="after")
    def _some_length(self) -> OptimConfig:
        if self.max_steps <= 0 and self.epochs <= 0:
            raise ValueError("set epochs > 0 or max_steps > 0")
        return self


class TrainConfig(_Section):
    run_dir: str = "runs/lamstudio"
    seed: int = 0
    model: ModelConfig = Field(default_factory=ModelConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    train: OptimConfig = Field(default_factory=OptimConfig)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def check_ready(self) -> None:
        """What a run needs beyond valid values: a model and at least one source with a path.
        (Not a validator: a config may be built in steps, e.g. ``base`` + overrides.)"""
        if not self.model.name_or_path:
            raise ConfigError(
                "model.name_or_path: required (a Hugging Face model id or a local path)")
        if not self.data.sources:
            raise ConfigError("data.sources: list at least one source (path, format)")
        for i, src in enumerate(self.data.sources):
            if not src.path:
                raise ConfigError(f"data.sources.{i}.path: required")

    def check_inputs(self) -> None:
        """The data files are there and not empty: the same one line as every other command
        gives (``lamstudio.io.check_input``), before a model is loaded."""
        from lamstudio.io import InputError, check_input

        where = [(f"data.sources.{i}", s.path) for i, s in enumerate(self.data.sources)]
        if self.data.eval_file:
            where.append(("data.eval_file", self.data.eval_file))
        for key, path in where:
            try:
                check_input(path)
            except InputError as exc:
                raise ConfigError(f"{key}: {exc}") from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                base: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML recipe (or start from ``base``), apply ``key=value`` overrides, check it."""
    raw: dict[str, Any] = copy.deepcopy(base or {})  # overrides must not change the caller's
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
    return _validated(raw)


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


def _validated(raw: dict[str, Any]) -> TrainConfig:
    try:
        cfg = TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None
    cfg.check_ready()
    return cfg


def check_config(cfg: TrainConfig) -> None:
    """Check a config built or changed in code as ``load_config`` checks a recipe."""
    _validated(cfg.model_dump())


_EXPECTED = {"int": "int", "float": "float", "bool": "bool", "string": "str", "list": "a list",
             "dict": "a mapping", "model": "a mapping"}


def _first_error(exc: ValidationError) -> str:
    """pydantic's first error as ``a.b.c: what is wrong`` (the key is what users look for)."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "str", "list["))]
    where, kind, got = ".".join(loc) or "recipe", err["type"], err.get("input")
    if kind == "extra_forbidden":
        known = list(_model_at(loc[:-1]).model_fields)
        near = difflib.get_close_matches(loc[-1], known, n=1)
        return f"{where}: unknown key" + (f" (did you mean {near[0]!r}?)" if near
                                          else f"; known: {', '.join(known)}")
    if kind == "literal_error":
        return f"{where}: expected one of {err['ctx']['expected']}, got {got!r}"
    if kind == "value_error":
        return f"{where}: {err['msg'].removeprefix('Value error, ')}"
    base = kind.split("_")[0]
    if kind.endswith(("_type", "_parsing")) and base in _EXPECTED:
        return f"{where}: expected {_EXPECTED[base]}, got {got!r}"
    return f"{where}: {err['msg'].replace('Input should be', 'must be')}, got {got!r}"


def _model_at(loc: list[str]) -> type[BaseModel]:
    model: type[BaseModel] = TrainConfig
    for part in loc:
        if part.isdigit():
            continue
        ann = model.model_fields[part].annotation
        inner = getattr(ann, "__args__", (ann,))[0]
        model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else model
    return model
