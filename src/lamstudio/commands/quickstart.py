"""``lamstudio quickstart``: the whole pipeline offline on a CPU, in minutes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lamstudio.commands._common import console, err_console, fail


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart)


def quickstart(
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="where everything goes")] = Path(
        "runs/quickstart"),
    base: Annotated[str, typer.Option(
        help="pretrained base to fine-tune (registered name, model folder or .gguf), or "
             "'scratch' for a tiny Llama from random weights")] = "smollm2-135m",
    steps: Annotated[int | None, typer.Option(
        help="training steps (default: 45 for a pretrained base, 4800 from scratch)")] = None,
    size: Annotated[str | None, typer.Option(
        "--shape", help="--base scratch model shape: quick (default), medium, wide or nano "
                        "(the quickstart's own shapes, not build-model's sizes)")] = None,
    old_size: Annotated[str | None, typer.Option("--size", hidden=True)] = None,
    seed: Annotated[int, typer.Option(help="seed for data, model and training")] = 0,
    max_minutes: Annotated[float | None, typer.Option(
        "--max-train-minutes", help="stop training after this long; the report then says "
                                    "the run is not comparable [default: no cap]")] = None,
    n_train: Annotated[int | None, typer.Option(help="generated training records")] = None,
    n_heldout: Annotated[int | None, typer.Option(help="generated held-out records")] = None,
    threads: Annotated[int | None, typer.Option(
        help="CPU threads (default 2; on a machine busy with other jobs 1 can be faster)")]
    = None,
    bfcl_limit: Annotated[int | None, typer.Option(
        help="BFCL sample: first N of simple_python and of multiple [default: 20]")] = None,
) -> None:
    """Fine-tune SmolLM2-135M-Instruct (LoRA) on generated data; evaluate before and after.

    Generates verified tool-calling data, fine-tunes a pretrained base on it and evaluates it
    before and after on a held-out split and a BFCL sample; or trains a tiny Llama from
    scratch (--base scratch). Offline, on the CPU; a fixed amount of training (see
    docs/quickstart.md for the minutes it takes)."""
    from lamstudio.models import ModelError
    from lamstudio.quickstart import QuickstartConfig, QuickstartError, run_quickstart

    size = size or old_size  # --size: the old spelling
    overrides = {k: v for k, v in (("steps", steps), ("size", size), ("n_train", n_train),
                                   ("n_heldout", n_heldout), ("bfcl_limit", bfcl_limit),
                                   ("threads", threads))
                 if v is not None}
    cfg = QuickstartConfig.for_base(base, out_dir=out_dir, seed=seed, **overrides)
    if max_minutes is not None:
        cfg.max_train_minutes = max_minutes or None
    try:
        cfg.shape()
    except ValueError as exc:
        fail(str(exc))
    if cfg.steps < 1:
        fail("--steps must be at least 1")
    try:
        with _Display(cfg) as display:
            result = run_quickstart(cfg, on_stage=display.stage, on_eval=display.eval_tick)
    except (QuickstartError, ModelError) as exc:
        fail(str(exc))
    summary = result.summary
    if summary.get("not_comparable"):  # first, before any number: a slower machine
        console.print(f"[bold yellow]not comparable[/]: {summary['not_comparable']} "
                      "(--max-train-minutes 0 trains them all)")
    if "metrics_before" in summary:
        console.print(comparison_table(summary))
    else:
        console.print(metrics_table(result.metrics, summary["train_distribution_metrics"]))
    model = result.out_dir / ("model" if "metrics_before" in summary else "run/final")
    console.print(f"report -> {result.out_dir / 'report.html'}\nmodel  -> {model}")


def comparison_table(summary: dict[str, Any]) -> Any:
    from rich.table import Table

    from lamstudio.quickstart import METRIC_LABELS, pct

    m, b = summary["metrics"], summary["metrics_before"]
    table = Table(title=f"{summary['run']['base']}: before / after fine-tuning "
                        f"(held-out, {m['n']} examples, greedy)")
    for col in ("metric", "before", "after"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for key, label in METRIC_LABELS.items():
        table.add_row(label, pct(b.get(key)), pct(m.get(key)))
    bb, ba = summary.get("bfcl_before") or {}, summary.get("bfcl_after") or {}
    if "categories" in ba:
        for cat, v in ba["categories"].items():
            table.add_row(f"BFCL {cat} (first {ba['limit']})",
                          pct(bb.get("categories", {}).get(cat, {}).get("accuracy")),
                          pct(v["accuracy"]))
    elif ba:
        table.caption = f"BFCL sample not run: {ba.get('unavailable')}"
    return table


def metrics_table(metrics: dict[str, Any], train_dist: dict[str, Any] | None = None) -> Any:
    from rich.table import Table

    from lamstudio.quickstart import METRIC_LABELS, pct

    table = Table(title=f"held-out ({metrics['n']} examples, greedy decoding)")
    table.add_column("metric")
    columns = [metrics, *([train_dist] if train_dist else [])]
    table.add_column("held-out", justify="right")
    if train_dist:
        table.add_column("training phrasings*", justify="right")
    for key, label in METRIC_LABELS.items():
        table.add_row(label, *(pct(m.get(key)) for m in columns))
    for cat, v in metrics["by_category"].items():
        table.add_row(f"  accuracy: {cat} (n={v['n']})",
                      *(pct(m["by_category"].get(cat, {}).get("accuracy")) for m in columns))
    if train_dist:
        table.caption = ("* new examples drawn like the training split (its phrasings and tool "
                         "combinations); the held-out column is the one that counts")
    return table


class _Display:
    """One line per finished stage, a progress bar while evaluating."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Display:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop_bar()

    def stage(self, name: str, seconds: float | None) -> None:
        if seconds is None:
            err_console.print(f"[bold]{name}[/] ...")
            if name.startswith("evaluate"):
                self._start_bar()
        else:
            self._stop_bar()
            err_console.print(f"[green]✓[/] {name} ({seconds:.0f} s)")

    def eval_tick(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def _start_bar(self) -> None:
        import sys

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.bar = Progress("greedy decoding", BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=err_console, transient=True,
                            disable=not sys.stderr.isatty())
        per = len(self.cfg.bfcl_categories) * self.cfg.bfcl_limit if self.cfg.pretrained else \
            self.cfg.n_heldout
        self.task = self.bar.add_task("eval", total=self.cfg.n_heldout + per)
        self.bar.start()

    def _stop_bar(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
