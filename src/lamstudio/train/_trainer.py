"""The trainer: transformers ``Trainer`` + PEFT + accelerate, fed by lamstudio's data plan.

Why ``transformers.Trainer`` and not TRL's ``SFTTrainer``: on tiny models FIELD_NOTES measured
Trainer at ~0.92x a plain loop and SFTTrainer at ~0.66-0.76x (its extra per-step metrics),
and everything SFTTrainer adds (chat templating, packing, completion-only loss) lamstudio
already does in ``render``. Trainer keeps what is worth keeping: checkpoint/resume, DDP /
FSDP / DeepSpeed through accelerate, schedulers, TensorBoard. We replace only the train
dataloader (per-rank shards planned by ``_data``: accelerate must not re-shard them) and the
progress display (rich, with real tokens/s).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.train._config import TrainConfig, check_config
from lamstudio.train._data import (
    Corpus,
    holdout,
    load_corpus,
    make_units,
    mix_report,
    plan_run,
    write_json,
)
from lamstudio.train._errors import TrainError
from lamstudio.train._progress import Meter, progress_callback

RUN_FILE = "run.json"
# Keys that must match on --resume: they decide which rows come in which order.
_RESUME_KEYS = ("seed", "data", "train.batch_size", "train.grad_accum", "train.mode")


@dataclass
class RunResult:
    run_dir: Path
    final_dir: Path
    steps: int
    is_main: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    # Real (non-pad) tokens of every optimizer step, all ranks together.
    step_tokens: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1


def dist_env() -> Dist:
    """The process's place in a torchrun / accelerate launch (1 process when not launched)."""
    env = os.environ
    world = int(env.get("WORLD_SIZE", "1"))
    return Dist(int(env.get("RANK", "0")), world, int(env.get("LOCAL_RANK", "0")),
                int(env.get("LOCAL_WORLD_SIZE", str(world))))


def preflight(cfg: TrainConfig) -> bool:
    """Checks that need no model: device vs mode, libraries. Returns True on CUDA."""
    import torch

    cuda = torch.cuda.is_available()
    if cfg.train.mode == "qlora":
        if not cuda:
            raise TrainError("train.mode=qlora needs a CUDA GPU (bitsandbytes 4-bit kernels); "
                             "on the CPU use train.mode=lora or full")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise TrainError("train.mode=qlora needs bitsandbytes: pip install bitsandbytes")
    if cfg.train.precision == "fp16" and not cuda:
        raise TrainError("train.precision=fp16 needs a GPU; use bf16 or fp32 on the CPU")
    if cfg.model.attn_implementation.startswith("flash_attention") and \
            importlib.util.find_spec("flash_attn") is None and \
            cfg.model.attn_implementation == "flash_attention_2":
        raise TrainError("model.attn_implementation=flash_attention_2 needs flash-attn "
                         "(pip install flash-attn) or use sdpa")
    return cuda


def set_threads(cfg: TrainConfig, dist: Dist, cuda: bool) -> int:
    """CPU threads per process: never more than the cores this process may use."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    default = max(1, cores // max(1, dist.local_world)) if not cuda else min(cores, 4)
    n = max(1, min(cfg.train.threads or default, cores))
    torch.set_num_threads(n)
    return n


def precision(cfg: TrainConfig, cuda: bool) -> str:
    import torch

    p = cfg.train.precision
    if p == "auto":
        return "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    return p


def resolved_models(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with model/tokenizer names as local folders (registered names prepared)."""
    from lamstudio.models import ModelError, resolve_model

    m = cfg.model
    try:
        model = m.model_copy(update={
            "name_or_path": resolve_model(m.name_or_path, m.allow_download),
            "tokenizer": resolve_model(m.tokenizer, m.allow_download) if m.tokenizer else None})
    except ModelError as exc:
        raise TrainError(f"model: {exc}") from None
    return cfg.model_copy(update={"model": model})


def load_tokenizer(cfg: TrainConfig) -> Any:
    from transformers import AutoTokenizer

    name = cfg.model.tokenizer or cfg.model.name_or_path
    try:
        tok = AutoTokenizer.from_pretrained(name, trust_remote_code=cfg.model.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise TrainError(f"model.tokenizer: cannot load {name!r}: {exc}") from None
    if tok.pad_token_id is None:
        # Many base models ship without one; padding positions carry label -100 anyway.
        tok.pad_token = tok.eos_token
    return tok


def make_renderer(cfg: TrainConfig, tokenizer: Any) -> Any:
    from lamstudio.render import Renderer

    t = cfg.data.template
    if t is None:
        return Renderer(tokenizer)
    if t in ("default", "lamstudio"):
        return Renderer(tokenizer, use_model_template=False)
    if t == "model":
        return Renderer(tokenizer, use_model_template=True)
    if t == "chatml_tools":
        return Renderer(tokenizer, template=t)
    path = Path(t)
    if not path.is_file():
        raise TrainError(f"data.template: {t!r} is not default|chatml_tools|model or a "
                         "template file")
    return Renderer(tokenizer, template=path.read_text(encoding="utf-8"))


def load_model(cfg: TrainConfig, tokenizer: Any, prec: str, cuda: bool, dist: Dist) -> Any:
    """The base model (4-bit for QLoRA) with LoRA adapters attached, or in full."""
    import torch
    from transformers import AutoModelForCausalLM

    mode = cfg.train.mode
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if cfg.model.dtype != "auto":
        dtype = getattr(torch, cfg.model.dtype)
    elif mode in ("lora", "qlora") and cuda:
        dtype = dtypes[prec] if prec != "fp32" else torch.float32  # frozen base in half
    else:
        dtype = torch.float32  # full FT keeps fp32 master weights (autocast does the rest)
    kwargs: dict[str, Any] = dict(dtype=dtype, attn_implementation=cfg.model.attn_implementation,
                                  trust_remote_code=cfg.model.trust_remote_code)
    if mode == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype if dtype != torch.float32 else torch.bfloat16)
        kwargs["device_map"] = {"": dist.local_rank}
    try:
        model = AutoModelForCausalLM.from_pretrained(cfg.model.name_or_path, **kwargs)
    except (OSError, ValueError) as exc:
        raise TrainError(f"model.name_or_path: cannot load {cfg.model.name_or_path!r}: "
                         f"{exc}") from None
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    model.config.use_cache = False
    if mode == "full":
        return model
    return _with_lora(cfg, model)


def _with_lora(cfg: TrainConfig, model: Any) -> Any:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if cfg.train.mode == "qlora":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.train.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
    lc = cfg.lora
    peft_cfg = LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout,
                          target_modules=lc.target_modules, modules_to_save=lc.modules_to_save,
                          layers_to_transform=lc.layers_to_transform, task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, peft_cfg)
    except ValueError as exc:  # e.g. target modules not found in this architecture
        raise TrainError(f"lora: {exc}") from None


def training_args(cfg: TrainConfig, steps: int, has_eval: bool, prec: str, cuda: bool,
                  dist: Dist) -> Any:
    from transformers import TrainingArguments

    t, run = cfg.train, Path(cfg.run_dir)
    kwargs: dict[str, Any] = dict(
        output_dir=str(run / "checkpoints"), logging_dir=str(run / "tb"),
        per_device_train_batch_size=t.batch_size, per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum, learning_rate=t.lr,
        weight_decay=t.weight_decay, label_smoothing_factor=t.label_smoothing,
        neftune_noise_alpha=t.neftune_alpha,
        lr_scheduler_type=t.scheduler, max_grad_norm=t.max_grad_norm,
        optim=t.optim, num_train_epochs=1, max_steps=steps,
        warmup_ratio=t.warmup_ratio, warmup_steps=t.warmup_ratio,
        logging_steps=t.logging_steps, logging_first_step=True,
        save_strategy="steps", save_steps=t.save_steps, save_total_limit=t.save_total_limit,
        eval_strategy="steps" if has_eval and t.eval_steps > 0 else "no",
        eval_steps=t.eval_steps or None,
        bf16=prec == "bf16", fp16=prec == "fp16", use_cpu=not cuda,
        ddp_backend="gloo" if not cuda and dist.world > 1 else None,
        ddp_find_unused_parameters=False,
        gradient_checkpointing=t.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        # TensorBoard is attached by ``_tensorboard`` (to write under RUN_DIR/tb).
        report_to=[r for r in t.report_to if r != "tensorboard"] or "none",
        remove_unused_columns=False, seed=cfg.seed,
        dataloader_num_workers=0, disable_tqdm=True, save_safetensors=True,
    )
    # transformers 4.x and 5.x name a few options differently: pass what this one knows.
    known = {f.name for f in dataclasses.fields(TrainingArguments)}
    kwargs.pop("warmup_steps" if "warmup_ratio" in known else "warmup_ratio")
    if "activation_checkpointing" in known:  # the 5.x name of gradient checkpointing
        kwargs["activation_checkpointing"] = kwargs.pop("gradient_checkpointing")
        kwargs["activation_checkpointing_kwargs"] = kwargs.pop("gradient_checkpointing_kwargs")
    return TrainingArguments(**{k: v for k, v in kwargs.items() if k in known})


def collator(cfg: TrainConfig, tokenizer: Any) -> Any:
    from functools import partial

    from lamstudio.render import collate_packed, collate_padded

    pad = tokenizer.pad_token_id
    if cfg.data.packing:
        return partial(collate_packed, pad_id=pad,
                       attn_implementation=cfg.model.attn_implementation)
    return partial(collate_padded, pad_id=pad)


def _trainer_class() -> type:
    import torch
    from transformers import Trainer

    class LamTrainer(Trainer):
        """Trainer with a pre-sharded train loader, message loss weights and tokens/s."""

        meter: Meter | None = None

        def get_train_dataloader(self) -> Any:
            # Rows are already this rank's shard in training order: no sampler, no re-shard.
            return torch.utils.data.DataLoader(
                self.train_dataset, batch_size=self.args.per_device_train_batch_size,
                shuffle=False, collate_fn=self.data_collator, num_workers=0,
                pin_memory=self.args.dataloader_pin_memory and torch.cuda.is_available())

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            weights = inputs.pop("loss_weights", None)
            if "labels" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            return token_loss(self, model, inputs, weights, return_outputs, num_items_in_batch)

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            if self.meter is not None and "loss" in logs:
                logs.update(self.meter.fields(self.state.global_step))
            super().log(logs, start_time)

    return LamTrainer


def token_loss(trainer: Any, model: Any, inputs: dict[str, Any], weights: Any,
               return_outputs: bool, num_items_in_batch: Any) -> Any:
    """Token cross-entropy (scaled by message ``weight`` when given), normalised like the
    default loss: by the number of trained tokens in the whole accumulated batch.

    In training, logits are computed only where there is a target (see ``_TrainedLogits``):
    with a small model and assistant-only labels the vocabulary projection of untrained
    positions is most of the step (bench/train.py). Evaluation keeps full logits, which
    callers of ``prediction_step`` may read."""
    import torch.nn.functional as F

    labels = inputs.pop("labels")
    target = labels[:, 1:]
    keep = target != -100
    if return_outputs:  # evaluation: callers may read the full logits
        outputs = model(**inputs)
        logits = outputs.logits[:, :-1][keep]
    else:
        select = _TrainedLogits(trainer, model, keep)
        with select:
            outputs = model(**inputs)
        logits = select.rows(outputs.logits)
    ce = F.cross_entropy(logits.float(), target[keep], reduction="none",
                         label_smoothing=trainer.args.label_smoothing_factor)
    if weights is not None:
        ce = ce * weights[:, 1:].to(ce.device)[keep]
    denom = num_items_in_batch if num_items_in_batch is not None else keep.sum()
    loss = ce.sum() / denom
    if trainer.args.average_tokens_across_devices and num_items_in_batch is not None:
        loss = loss * trainer.accelerator.num_processes
    return (loss, outputs) if return_outputs else loss


class _TrainedLogits:
    """While active, the model's output projection sees only the hidden states of
    positions that have a target (a forward pre-hook gathers them), so the logits come out
    as ``(n_trained, vocab)`` instead of ``(batch, seq, vocab)``. The rest of the model's
    forward is unchanged; element-wise logit post-processing (soft-capping) still applies."""

    def __init__(self, trainer: Any, model: Any, keep: Any) -> None:
        import torch

        self.head = trainer.accelerator.unwrap_model(model).get_output_embeddings()
        # Position t predicts label t + 1: keep[t] says whether position t is trained.
        self.mask = torch.cat([keep, keep.new_zeros(keep.size(0), 1)], dim=1)
        self.gathered = False
        self.handle: Any = None

    def __enter__(self) -> _TrainedLogits:
        if self.head is not None:
            self.handle = self.head.register_forward_pre_hook(self._gather)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.remove()

    def _gather(self, module: Any, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        hidden = args[0]
        if hidden.dim() != 3 or hidden.shape[:2] != self.mask.shape:
            return None  # not the shape we expect: leave it, ``rows`` selects afterwards
        self.gathered = True
        return (hidden[self.mask.to(hidden.device)], *args[1:])

    def rows(self, logits: Any) -> Any:
        return logits if self.gathered else logits[self.mask.to(logits.device)]


class _Rows:
    """A map-style dataset over prepared rows."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> Any:
        return self.rows[k]


def last_checkpoint(run_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    ckpts = run_dir / "checkpoints"
    return get_last_checkpoint(str(ckpts)) if ckpts.is_dir() else None


def _check_resume(cfg: TrainConfig, run_dir: Path, resume: bool) -> str | None:
    ckpt = last_checkpoint(run_dir)
    if not resume:
        if ckpt is not None:
            raise TrainError(f"{run_dir} already holds checkpoints: pass --resume to continue "
                             "it, or choose a new run_dir")
        return None
    if ckpt is None:
        raise TrainError(f"--resume: no checkpoint in {run_dir / 'checkpoints'}")
    saved = run_dir / RUN_FILE
    if saved.is_file():
        before = json.loads(saved.read_text())["config"]
        now = cfg.to_dict()
        changed = [k for k in _RESUME_KEYS if _get(before, k) != _get(now, k)]
        if changed:
            raise TrainError(f"--resume: {', '.join(changed)} changed since the run started; "
                             "the data order would differ (start a new run_dir)")
    return ckpt


def _get(d: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        d = d.get(part, {}) if isinstance(d, dict) else {}
    return d


def _eval_examples(cfg: TrainConfig, corpus: Corpus, renderer: Any,
                   rejects: Path | None) -> tuple[Corpus, list[Any]]:
    from lamstudio.train._config import SourceConfig

    if cfg.data.eval_file:
        ev = load_corpus([SourceConfig(path=cfg.data.eval_file, format=cfg.data.eval_format,
                                       name="eval")], renderer, cfg.data, rejects)
        return corpus, ev.examples[0][: cfg.data.max_eval]
    if cfg.data.eval_fraction > 0:
        return holdout(corpus, cfg.data.eval_fraction, cfg.seed, cfg.data.max_eval)
    return corpus, []


def _tensorboard(log_dir: Path) -> Any:
    """Trainer's TensorBoard callback, writing where the run keeps its logs."""
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    return TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(log_dir)))


def _quiet() -> None:
    """Keep the console for our own progress: no weight-loading bars, no rename notices."""
    import warnings

    from transformers.utils import logging as hf_logging

    warnings.filterwarnings("ignore", message=".*will be removed in v6", category=FutureWarning)
    hf_logging.disable_progress_bar()


def _final_eval(trainer: Any) -> dict[str, Any]:
    """Eval metrics at the last step: the Trainer's own when it evaluated there (transformers
    does at the end of some schedules), else one evaluation now; never two (each prints)."""
    step = trainer.state.global_step
    done = [h for h in trainer.state.log_history if "eval_loss" in h and h.get("step") == step]
    if done:
        return {k: v for k, v in done[-1].items() if k.startswith("eval_")}
    return trainer.evaluate()


def train(cfg: TrainConfig, resume: bool = False, callbacks: Sequence[Any] = ()) -> RunResult:
    """Run one training job as described by ``cfg`` (one process of a launch, or alone).

    ``callbacks``: extra ``transformers.TrainerCallback`` objects (early stopping, probes).
    """
    check_config(cfg)  # a TrainConfig built in code skips load_config's checks otherwise
    cfg.check_inputs()
    _quiet()
    base_name, cfg = cfg.model.name_or_path, resolved_models(cfg)
    dist = dist_env()
    cuda = preflight(cfg)
    run_dir = Path(cfg.run_dir)
    ckpt = _check_resume(cfg, run_dir, resume)
    threads = set_threads(cfg, dist, cuda)
    prec = precision(cfg, cuda)
    is_main = dist.rank == 0

    tokenizer = load_tokenizer(cfg)
    renderer = make_renderer(cfg, tokenizer)
    rejects = run_dir / "rejects.jsonl" if is_main else None
    corpus = load_corpus(cfg.data.sources, renderer, cfg.data, rejects)
    corpus, eval_examples = _eval_examples(cfg, corpus, renderer,
                                           run_dir / "eval_rejects.jsonl" if is_main else None)
    t = cfg.train
    plan = plan_run(corpus, cfg.data, cfg.data.sources, cfg.seed, dist.world, t.batch_size,
                    t.grad_accum, t.epochs, t.max_steps)
    eval_rows = [u.row for u in make_units(eval_examples, cfg.data.max_len, cfg.data.packing)]

    args = training_args(cfg, plan.steps, bool(eval_rows), prec, cuda, dist)
    set_threads(cfg, dist, cuda)  # accelerate's CPU setup may have changed it
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / RUN_FILE, {
            "config": cfg.to_dict(), "base_model": cfg.model.name_or_path,
            "base_model_name": base_name,
            "tokenizer": cfg.model.tokenizer or cfg.model.name_or_path, "mode": t.mode,
            "world_size": dist.world, "threads_per_process": threads, "precision": prec,
            "steps": plan.steps, "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    model = load_model(cfg, tokenizer, prec, cuda, dist)
    meter = Meter(plan.step_tokens())
    trainer = _trainer_class()(
        model=model, args=args, train_dataset=_Rows(plan.rows(dist.rank)),
        eval_dataset=_Rows(eval_rows) if eval_rows else None,
        data_collator=collator(cfg, tokenizer), processing_class=tokenizer)
    trainer.meter = meter
    progress_callback(trainer, meter, is_main)
    if "tensorboard" in t.report_to and is_main:
        trainer.add_callback(_tensorboard(run_dir / "tb"))
    for cb in callbacks:
        trainer.add_callback(cb)
    out = trainer.train(resume_from_checkpoint=ckpt)
    metrics = dict(out.metrics)
    if eval_rows:
        metrics.update(_final_eval(trainer))
    metrics.update(meter.summary())
    metrics["world_size"] = args.world_size
    final = run_dir / "final"
    trainer.save_model(str(final))
    _write_reports(run_dir, plan, corpus, trainer.state.global_step, dist, metrics)
    return RunResult(run_dir, final, trainer.state.global_step, is_main, metrics,
                     meter.step_tokens)


def _write_reports(run_dir: Path, plan: Any, corpus: Corpus, steps: int, dist: Dist,
                   metrics: dict[str, Any]) -> None:
    """Per rank: the example ids it trained on. Rank 0: the mix report and metrics."""
    used = plan.consumed(steps)
    mine = used["example_ids_per_rank"][dist.rank]
    write_json(run_dir / "data" / f"rank{dist.rank}.json", {
        "rank": dist.rank, "world_size": dist.world, "steps": steps,
        "example_ids_by_epoch": {str(e): ids for e, ids in mine.items()}})
    if dist.rank == 0:
        report = mix_report(plan, corpus, steps)
        write_json(run_dir / "mix.json", report)
        write_json(run_dir / "metrics.json", metrics)
        from lamstudio._console import console

        per = ", ".join(f"{k}: {v:,}" for k, v in report["consumed_examples_per_source"].items())
        console.print(f"examples consumed per source: {per}")
