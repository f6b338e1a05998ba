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
    steps: Annotated[int | None, typer.Option(help="training steps (default: embedded)")] = None,
    size: Annotated[str | None, typer.Option(
        "--shape", help="the quickstart's model shape: quick (default), medium, wide or nano "
                        "(its own shapes, not build-model's sizes)")] = None,
    old_size: Annotated[str | None, typer.Option("--size", hidden=True)] = None,
    seed: Annotated[int, typer.Option(help="seed for data, model and training")] = 0,
    max_minutes: Annotated[float | None, typer.Option(
        "--max-train-minutes", help="stop training after this long (0: no cap)")] = None,
    n_train: Annotated[int | None, typer.Option(help="generated training records")] = None,
    n_heldout: Annotated[int | None, typer.Option(help="generated held-out records")] = None,
) -> None:
    """Generate tool-calling data, train a tiny Llama from scratch, evaluate it on a
    held-out split and write an HTML report. Offline; ~15 minutes on 2 CPU cores."""
    from lamstudio.quickstart import QuickstartConfig, QuickstartError, run_quickstart

    cfg = QuickstartConfig(out_dir=out_dir, seed=seed)
    size = size or old_size  # --size: the old spelling
    for key, value in (("steps", steps), ("size", size), ("n_train", n_train),
                       ("n_heldout", n_heldout)):
        if value is not None:
            setattr(cfg, key, value)
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
    except QuickstartError as exc:
        fail(str(exc))
    console.print(metrics_table(result.metrics, result.summary["train_distribution_metrics"]))
    run = result.summary["run"]
    if run["stopped_early"] != "no":  # a slower machine: say so rather than look finished
        console.print(f"[yellow]training stopped early[/]: {run['stopped_early']} of "
                      f"{run['steps_planned']} planned (--max-train-minutes 0 trains them all)")
    console.print(f"report -> {result.out_dir / 'report.html'}\n"
                  f"model  -> {result.out_dir / 'run' / 'final'}")


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
            if name == "evaluate":
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
        self.task = self.bar.add_task("eval", total=2 * self.cfg.n_heldout)
        self.bar.start()

    def _stop_bar(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
