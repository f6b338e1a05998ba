"""Quickstart configurations on the pretrained base, measured the way the quickstart measures.

One run = generate the quickstart data (optionally without word noise or with another
irrelevance share, optionally augmented with ``lamstudio.augment``) -> LoRA fine-tune the
base with the given settings -> merge -> greedy evaluation on the quickstart's held-out split
and BFCL sample. The base model's own ("before") numbers do not depend on any of this: take
them from a quickstart run (``metrics.json``).

``--save-at-steps 25,50,75`` also saves the adapter after those steps (with the training
minutes so far) and evaluates each saved adapter after training (evaluation never overlaps
training), which gives the held-out exact vs training-minutes curve of ONE run. Use
``--scheduler constant_with_warmup`` for that curve so an early checkpoint is not penalised
by a schedule planned for the whole run. Steps rather than minutes: the points do not move
with the machine's load.

    python bench/quickstart_sweep.py --name r16-lr1e-3 --steps 40
    python bench/quickstart_sweep.py --name top10 --top-layers 10 --steps 70
    python bench/quickstart_sweep.py --name curve --steps 150 \\
        --scheduler constant_with_warmup --save-at-steps 25,50,75

Results: ``runs/sweep/<name>/result.json`` and one line on stdout. Measured on this machine:
docs/quickstart.md and bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_data(out: Path, args: argparse.Namespace) -> Path:
    """The quickstart's data, with the variants this sweep compares."""
    from lamstudio.synth import _quickstart_data as qd  # bench: reaches into the generator

    if args.no_noise:
        qd.NOISE_RATE = 0.0
    if args.irrelevance is not None:
        rest = 1.0 - args.irrelevance
        others = {k: v for k, v in qd.TRAIN_WEIGHTS.items() if k != "irrelevance"}
        total = sum(others.values())
        qd.TRAIN_WEIGHTS = {**{k: v / total * rest for k, v in others.items()},
                            "irrelevance": args.irrelevance}
    data = qd.write_quickstart_data(out / "data", args.n_train, args.n_heldout, args.seed)
    if not args.augment:
        return data.train
    from lamstudio.augment import AugmentConfig, augment

    # Originals and one augmented copy each, shuffled so that a short run sees both.
    aug = out / "data" / "train_augmented.jsonl"
    augment([data.train], aug, config=AugmentConfig(seed=args.seed, copies=1))
    rows = aug.read_text().splitlines()
    random.Random(args.seed).shuffle(rows)
    mixed = out / "data" / "train_mixed.jsonl"
    mixed.write_text("\n".join(rows) + "\n")
    return mixed


def save_at(steps: list[int], run_dir: Path) -> Any:
    """Save the adapter after each of ``steps`` (with the training time so far)."""
    from transformers import TrainerCallback

    t0 = time.perf_counter()
    todo = sorted(steps)

    class SaveAt(TrainerCallback):
        def on_step_end(self, a: Any, state: Any, control: Any, model: Any = None,
                        **kw: Any) -> None:
            if todo and state.global_step >= todo[0]:
                todo.pop(0)
                path = run_dir / f"at-step-{state.global_step:04d}"
                model.save_pretrained(path)
                (path / "step.json").write_text(json.dumps(
                    {"step": state.global_step,
                     "train_minutes": round((time.perf_counter() - t0) / 60, 2)}))

    return SaveAt()


def train(args: argparse.Namespace, out: Path, base_dir: str, train_path: Path,
          log: list[dict[str, Any]]) -> Any:
    from transformers import AutoConfig

    from lamstudio.train import (
        DataConfig,
        LoraConfig,
        ModelConfig,
        OptimConfig,
        SourceConfig,
        TrainConfig,
    )
    from lamstudio.train import train as run_train

    layers = None
    if args.top_layers:
        n = AutoConfig.from_pretrained(base_dir).num_hidden_layers
        layers = list(range(n - args.top_layers, n))
    tc = TrainConfig(
        run_dir=str(out / "run"), seed=args.seed,
        model=ModelConfig(name_or_path=base_dir, dtype="float32"),
        data=DataConfig(sources=[SourceConfig(path=str(train_path))],
                        max_len=args.max_len, packing=True),
        lora=LoraConfig(r=args.r, alpha=2 * args.r, dropout=0.0, layers_to_transform=layers),
        train=OptimConfig(mode="lora", max_steps=args.steps, batch_size=args.batch_size,
                          lr=args.lr, warmup_ratio=0.05, scheduler=args.scheduler,
                          logging_steps=1, save_steps=10**9, save_total_limit=1,
                          threads=args.threads, report_to=[]))
    from lamstudio.quickstart._config import QuickstartConfig
    from lamstudio.quickstart._stages import train_callbacks

    callbacks = train_callbacks(QuickstartConfig(max_train_minutes=args.minutes), log, {})
    if args.save_at_steps:
        callbacks.append(save_at([int(m) for m in args.save_at_steps.split(",")], out / "run"))
    t0 = time.perf_counter()
    result = run_train(tc, callbacks=callbacks)
    return result, time.perf_counter() - t0


def evaluate(model_dir: str, heldout_path: Path, bfcl_limit: int) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from lamstudio.quickstart._config import QuickstartConfig
    from lamstudio.quickstart._metrics import summarize
    from lamstudio.quickstart._pretrained import _evaluate, answer_budget
    from lamstudio.render import Renderer
    from lamstudio.schema import Trajectory

    renderer = Renderer(AutoTokenizer.from_pretrained(model_dir))
    heldout = [Trajectory.model_validate_json(line)
               for line in heldout_path.read_text().splitlines()]
    cfg = QuickstartConfig.for_base("smollm2-135m", bfcl_limit=bfcl_limit)
    t0 = time.perf_counter()
    rows, bfcl = _evaluate(model_dir, renderer, heldout, cfg,
                           answer_budget(renderer, heldout), None)
    m = summarize(rows)
    return {"heldout": {k: m[k] for k in ("parse_rate", "function_name_accuracy",
                                          "exact_match", "irrelevance_accuracy")
                        if k in m},
            "by_category": m.get("by_category"),
            "bfcl": {c: v.get("accuracy") for c, v in (bfcl.get("categories") or {}).items()},
            "eval_seconds": round(time.perf_counter() - t0, 1)}


def step_seconds(log: list[dict[str, Any]]) -> float | None:
    """Median seconds per step after the first two (warm-up)."""
    import statistics

    t = [row["seconds"] for row in log]
    gaps = [b - a for a, b in zip(t[2:], t[3:], strict=False)]
    return round(statistics.median(gaps), 2) if gaps else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True)
    p.add_argument("--out-root", default="runs/sweep")
    p.add_argument("--base", default="smollm2-135m")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-heldout", type=int, default=60)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--minutes", type=float, default=None, help="cap on training minutes")
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--max-len", type=int, default=1024)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--r", type=int, default=16)
    p.add_argument("--top-layers", type=int, default=0, help="LoRA on the top N layers only")
    p.add_argument("--scheduler", default="cosine")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-noise", action="store_true", help="training data without word noise")
    p.add_argument("--irrelevance", type=float, default=None, help="irrelevance share")
    p.add_argument("--augment", action="store_true", help="add one augmented copy (xLAM)")
    p.add_argument("--save-at-steps", default="", help="e.g. 25,50,75: also evaluate these")
    p.add_argument("--bfcl-limit", type=int, default=20)
    p.add_argument("--no-eval", action="store_true", help="throughput only")
    args = p.parse_args()

    import torch

    from lamstudio.models import resolve_model
    from lamstudio.train import export

    torch.set_num_threads(args.threads)
    out = Path(args.out_root) / args.name
    out.mkdir(parents=True, exist_ok=True)
    base_dir = resolve_model(args.base)
    train_path = make_data(out, args)
    load0 = os.getloadavg()
    log: list[dict[str, Any]] = []
    result, seconds = train(args, out, base_dir, train_path, log)
    load1 = os.getloadavg()
    tokens = int(result.metrics.get("train_tokens") or 0)
    mix = json.loads((Path(result.run_dir) / "mix.json").read_text())
    records = int(sum(mix["consumed_examples_per_source"].values()))
    res: dict[str, Any] = {
        "name": args.name, "args": vars(args), "steps_done": result.steps,
        "train_seconds": round(seconds, 1), "train_tokens": tokens, "records": records,
        "tokens_per_s": round(tokens / seconds, 1), "load": [load0[0], load1[0]]}
    res["step_seconds"] = step_seconds(log)
    (out / "train_log.json").write_text(json.dumps(log))
    if args.no_eval:
        print(json.dumps({k: res[k] for k in ("name", "records", "train_seconds",
                                              "tokens_per_s", "step_seconds", "load")}))
        return
    heldout_path = out / "data" / "heldout.jsonl"
    res["final"] = evaluate(str(export(result.run_dir, out / "model")), heldout_path,
                            args.bfcl_limit)
    for ckpt in sorted((out / "run").glob("at-step-*")):
        merged = export(result.run_dir, out / f"model-{ckpt.name}", checkpoint=str(ckpt))
        res[ckpt.name] = {**json.loads((ckpt / "step.json").read_text()),
                          **evaluate(str(merged), heldout_path, args.bfcl_limit)}
    (out / "result.json").write_text(json.dumps(res, indent=2))
    f = res["final"]
    print(json.dumps({"name": args.name, "records": records, "train_s": res["train_seconds"],
                      "tok/s": res["tokens_per_s"], **f["heldout"], **f["bfcl"]}))


if __name__ == "__main__":
    main()
