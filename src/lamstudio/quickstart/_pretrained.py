"""The quickstart on a pretrained base: prepare it -> evaluate BEFORE (zero-shot, same
prompts) -> LoRA fine-tune on the generated, verified data -> merge -> evaluate AFTER.

Both evaluations score the held-out split (quickstart metrics) and a fixed BFCL sample
(the first ``bfcl_limit`` cases of each of ``bfcl_categories``, scored by lamstudio's
BFCL-grade checker). Prompts and parsing are the base's renderer (``chatml_tools`` for
SmolLM2), identical in training and evaluation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lamstudio.io import JsonlWriter, atomic_path
from lamstudio.quickstart._config import QuickstartConfig
from lamstudio.quickstart._metrics import summarize
from lamstudio.quickstart._predict import predict
from lamstudio.quickstart._stages import QuickstartResult, Stages, start, train_callbacks

ANSWER_MARGIN = 16  # tokens beyond the longest reference answer


def answer_budget(renderer: Any, records: list[Any]) -> int:
    """Tokens the longest reference first answer takes (+ margin): generation never needs
    more, and a bound from the data cuts no correct answer short."""
    longest = 0
    for t in records:
        enc = renderer.encode(t)
        prompt = len(renderer.prompt_ids(t, upto=1))
        first = next((k for k in range(prompt, len(enc.labels)) if enc.labels[k] == -100),
                     len(enc.labels))
        longest = max(longest, first - prompt)
    return longest + ANSWER_MARGIN


def bfcl_sample(model_dir: str, cfg: QuickstartConfig, max_new_tokens: int,
                tick: Callable[[int], None] | None) -> dict[str, Any]:
    """Accuracy on the first ``bfcl_limit`` cases of each BFCL category (empty if bfcl-eval
    is not installed: the report says so)."""
    from lamstudio.eval import (
        BfclUnavailable,
        SuiteError,
        TransformersGenerator,
        load_suite,
        run_cases,
        score_all,
    )
    from lamstudio.eval import summarize as summarize_results

    suite = "bfcl:" + ",".join(cfg.bfcl_categories)
    try:
        cases = load_suite(suite, cfg.bfcl_limit)
    except (BfclUnavailable, SuiteError) as exc:
        return {"suite": suite, "unavailable": str(exc)}
    gen = TransformersGenerator(model_dir, cfg.eval_batch_size, max_new_tokens)
    preds = run_cases(cases, gen, tick=(lambda: tick(1)) if tick else None)
    s = summarize_results(score_all(cases, preds), model_dir, suite)
    return {"suite": suite, "limit": cfg.bfcl_limit, "total": s["total"],
            "correct": s["correct"], "accuracy": s["accuracy"],
            "categories": s["categories"]}


def _evaluate(model_dir: str, renderer: Any, heldout: list[Any], cfg: QuickstartConfig,
              max_new: int, on_eval: Callable[[int], None] | None) -> tuple[list, dict]:
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the quickstart shows its own
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    rows = predict(model, renderer, heldout, max_new_tokens=max_new,
                   batch_size=cfg.eval_batch_size, on_batch=on_eval)
    del model
    return rows, bfcl_sample(model_dir, cfg, 128, on_eval)


def _train_lora(cfg: QuickstartConfig, out: Path, base_dir: str, log: list[dict[str, Any]],
                stop: dict[str, Any]) -> Any:
    from lamstudio.train import (
        DataConfig,
        LoraConfig,
        ModelConfig,
        OptimConfig,
        SourceConfig,
        TrainConfig,
        train,
    )

    tc = TrainConfig(
        run_dir=str(out / "run"), seed=cfg.seed,
        model=ModelConfig(name_or_path=base_dir, dtype="float32"),
        data=DataConfig(sources=[SourceConfig(path=str(out / "data" / "train.jsonl"))],
                        max_len=cfg.max_len, packing=True),  # template: the base's (auto)
        lora=LoraConfig(r=cfg.lora_r, alpha=cfg.lora_alpha, dropout=0.0,
                        layers_to_transform=top_layers(base_dir, cfg.lora_top_layers)),
        train=OptimConfig(mode="lora", max_steps=cfg.steps, batch_size=cfg.batch_size,
                          lr=cfg.lr, warmup_ratio=cfg.warmup_ratio,
                          weight_decay=cfg.weight_decay, scheduler="cosine",
                          logging_steps=1, save_steps=cfg.steps + 1, save_total_limit=1,
                          threads=cfg.threads, report_to=[]))
    return train(tc, callbacks=train_callbacks(cfg, log, stop))


def top_layers(base_dir: str, n: int | None) -> list[int] | None:
    """Indices of the top ``n`` decoder layers of the base (None: all layers)."""
    if n is None:
        return None
    from transformers import AutoConfig

    total = AutoConfig.from_pretrained(base_dir).num_hidden_layers
    return list(range(max(total - n, 0), total))


def run_pretrained(cfg: QuickstartConfig,
                   on_stage: Callable[[str, float | None], None] | None = None,
                   on_eval: Callable[[int], None] | None = None) -> QuickstartResult:
    out, stages = start(cfg, on_stage)
    from transformers import AutoTokenizer

    from lamstudio.models import resolve_model
    from lamstudio.render import Renderer
    from lamstudio.schema import Trajectory
    from lamstudio.synth import write_quickstart_data
    from lamstudio.train import export

    with stages("base model"):
        base_dir = resolve_model(cfg.base)
    with stages("data"):
        data = write_quickstart_data(out / "data", cfg.n_train, cfg.n_heldout, cfg.seed)
    renderer = Renderer(AutoTokenizer.from_pretrained(base_dir))
    heldout = [Trajectory.model_validate(json.loads(line))
               for line in data.heldout.read_text(encoding="utf-8").splitlines()]
    max_new = cfg.max_new_tokens or answer_budget(renderer, heldout)
    with stages("evaluate before"):
        before_rows, before_bfcl = _evaluate(base_dir, renderer, heldout, cfg, max_new, on_eval)
    log: list[dict[str, Any]] = []
    stop: dict[str, Any] = {}
    t0 = time.perf_counter()
    with stages("train"):
        result = _train_lora(cfg, out, base_dir, log, stop)
    train_seconds = time.perf_counter() - t0
    with stages("merge"):
        model_dir = export(result.run_dir, out / "model")
    with stages("evaluate after"):
        rows, after_bfcl = _evaluate(str(model_dir), renderer, heldout, cfg, max_new, on_eval)
    for name, items in (("predictions_before.jsonl", before_rows), ("predictions.jsonl", rows),
                        ("train_log.jsonl", log)):
        with JsonlWriter(out / name) as w:
            for row in items:
                w.write(row)
    summary = _summary(cfg, result, stop, stages, data, base_dir, max_new, train_seconds)
    summary.update(metrics=summarize(rows), metrics_before=summarize(before_rows),
                   bfcl_before=before_bfcl, bfcl_after=after_bfcl)
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    from lamstudio.quickstart._report import write_report

    write_report(out / "report.html", summary, rows, [r["step"] for r in log],
                 [r["loss"] for r in log])
    return QuickstartResult(out, summary["metrics"], summary, stages.timings)


def _summary(cfg: QuickstartConfig, result: Any, stop: dict[str, Any], stages: Stages,
             data: Any, base_dir: str, max_new: int, train_seconds: float) -> dict[str, Any]:
    tokens = int(result.metrics.get("train_tokens") or 0)
    return {"not_comparable": (f"the {cfg.max_train_minutes}-minute training cap stopped "
                               f"training at step {stop['step']} of {stop['planned']}")
            if stop else None,
            "run": {
                "base": cfg.base, "base_dir": base_dir, "mode": "lora",
                "steps_planned": cfg.steps, "steps_done": result.steps,
                "train_records": data.tally.files.get("train", 0),
                "records_trained": _records_seen(result),
                "heldout_records": data.tally.files.get("heldout", 0),
                "rejected_records": data.tally.rejected,
                "train_tokens": tokens,
                "train_tokens_per_s": round(tokens / max(train_seconds, 1e-9), 1),
                "max_new_tokens": max_new, "seconds_per_stage": stages.timings,
                "threads": cfg.threads, "load_average": _load(),
                "config": cfg.to_dict()}}


def _records_seen(result: Any) -> int:
    mix = Path(result.run_dir) / "mix.json"
    try:
        return int(sum(json.loads(mix.read_text())["consumed_examples_per_source"].values()))
    except (OSError, ValueError, KeyError):
        return 0


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
