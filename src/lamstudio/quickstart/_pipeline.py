"""``lamstudio quickstart``: generate data -> tokenizer -> tiny Llama -> train -> evaluate
-> report, offline, on the CPU. Each stage is one small function over ``QuickstartConfig``.

Outputs under ``out_dir``: ``data/`` (train / heldout / rejects JSONL), ``tokenizer/``,
``run/`` (the trainer's run directory; the trained model in ``run/final``),
``train_log.jsonl`` (step, loss, lr, seconds), ``predictions.jsonl``, ``metrics.json`` and
``report.html``. The last two are written atomically and last: a run interrupted earlier
leaves no complete-looking report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lamstudio.io import JsonlWriter, atomic_path
from lamstudio.quickstart._config import QuickstartConfig
from lamstudio.quickstart._metrics import summarize
from lamstudio.quickstart._predict import predict
from lamstudio.quickstart._report import write_report
from lamstudio.quickstart._stages import QuickstartResult, start, train_callbacks
from lamstudio.quickstart._tokenizer import build_tokenizer, quickstart_template


def _train(cfg: QuickstartConfig, out: Path, model_dir: Path, template_path: Path,
           log: list[dict[str, Any]], stop: dict[str, Any]) -> Any:
    from lamstudio.train import (
        DataConfig,
        ModelConfig,
        OptimConfig,
        SourceConfig,
        TrainConfig,
        train,
    )

    tc = TrainConfig(
        run_dir=str(out / "run"), seed=cfg.seed,
        model=ModelConfig(name_or_path=str(model_dir), dtype="float32"),
        data=DataConfig(sources=[SourceConfig(path=str(out / "data" / "train.jsonl"))],
                        max_len=cfg.max_len, packing=True, template=str(template_path)),
        train=OptimConfig(mode="full", max_steps=cfg.steps, batch_size=cfg.batch_size,
                          lr=cfg.lr, warmup_ratio=cfg.warmup_ratio,
                          weight_decay=cfg.weight_decay, scheduler="cosine",
                          logging_steps=5, save_steps=cfg.steps + 1, save_total_limit=1,
                          threads=cfg.threads, report_to=[]))
    return train(tc, callbacks=train_callbacks(cfg, log, stop))


def fresh_train_sample(train_path: Path, n: int, seed: int) -> list[Any]:
    """``n`` records drawn like the training split (its phrasings, combinations and values)
    with another seed, leaving out any whose query occurs in training. Scored next to the
    held-out split, it separates "has not learned the task" from "does not generalise to
    new phrasings and combinations"."""
    from lamstudio.schema import Trajectory
    from lamstudio.synth import generate, record_issues

    seen = {json.loads(line)["messages"][0]["content"]
            for line in train_path.read_text(encoding="utf-8").splitlines()}
    out: list[Trajectory] = []
    for raw in generate("train", 3 * n, seed):
        if len(out) == n:
            break
        if raw["messages"][0]["content"] not in seen and not record_issues(raw):
            raw["id"] = raw["id"].replace("train", "fresh")
            out.append(Trajectory.model_validate(raw))
    return out


def run_scratch(cfg: QuickstartConfig,
                on_stage: Callable[[str, float | None], None] | None = None,
                on_eval: Callable[[int], None] | None = None) -> QuickstartResult:
    """The tiny from-scratch quickstart (``--base scratch``)."""
    out, stages = start(cfg, on_stage)
    from lamstudio.render import Renderer
    from lamstudio.schema import Trajectory
    from lamstudio.synth import write_quickstart_data
    from lamstudio.train import build_model, count_params

    with stages("data"):
        data = write_quickstart_data(out / "data", cfg.n_train, cfg.n_heldout, cfg.seed)
    template = quickstart_template()
    template_path = out / "chat_template.jinja"
    template_path.write_text(template, encoding="utf-8")
    with stages("tokenizer"):
        tok = build_tokenizer(data.train, cfg.vocab_size, out / "tokenizer", template,
                              split_digits=cfg.split_digits)
    with stages("model"):
        model = build_model(cfg.shape(), tok, out / "init", seed=cfg.seed)
        n_params = count_params(model)
        del model
    log: list[dict[str, Any]] = []
    stop: dict[str, Any] = {}
    with stages("train"):
        result = _train(cfg, out, out / "init", template_path, log, stop)
    with JsonlWriter(out / "train_log.jsonl") as w:
        for row in log:
            w.write(row)
    with stages("evaluate"):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(str(result.final_dir))
        renderer = Renderer(AutoTokenizer.from_pretrained(str(out / "tokenizer")),
                            template=template)
        heldout = [Trajectory.model_validate(json.loads(line))
                   for line in data.heldout.read_text(encoding="utf-8").splitlines()]
        rows = predict(model, renderer, heldout, max_new_tokens=cfg.max_new_tokens,
                       batch_size=cfg.eval_batch_size, on_batch=on_eval)
        fresh = fresh_train_sample(data.train, cfg.n_heldout, cfg.seed + 1)
        fresh_rows = predict(model, renderer, fresh, max_new_tokens=cfg.max_new_tokens,
                             batch_size=cfg.eval_batch_size, on_batch=on_eval)
    with JsonlWriter(out / "predictions.jsonl") as w:
        for row in rows:
            w.write(row)
    with JsonlWriter(out / "predictions_train_distribution.jsonl") as w:
        for row in fresh_rows:
            w.write(row)
    metrics = summarize(rows)
    train_dist = summarize(fresh_rows)
    summary = {
        "not_comparable": (f"the {cfg.max_train_minutes}-minute training cap stopped training "
                           f"at step {stop['step']} of {stop['planned']}") if stop else None,
        "metrics": metrics,
        "train_distribution_metrics": train_dist,
        "run": {
            "steps_planned": cfg.steps, "steps_done": result.steps,
            "stopped_early": (f"time cap {cfg.max_train_minutes} min reached at step "
                              f"{stop['step']}") if stop else "no",
            "parameters": n_params, "vocab": len(tok),
            "train_records": data.tally.files.get("train", 0),
            "heldout_records": data.tally.files.get("heldout", 0),
            "rejected_records": data.tally.rejected,
            "train_tokens": int(result.metrics.get("train_tokens") or 0),
            "train_tokens_per_s": result.metrics.get("train_tokens_per_s"),
            "seconds_per_stage": stages.timings,
            "threads": cfg.threads, "config": cfg.to_dict(),
        },
    }
    steps = [r["step"] for r in log]
    losses = [r["loss"] for r in log]
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    write_report(out / "report.html", summary, rows, steps, losses)
    return QuickstartResult(out, metrics, summary, stages.timings)
