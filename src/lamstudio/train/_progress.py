"""Throughput in real (non-pad) tokens and a rich progress display for the trainer.

Tokens per step come from the data plan (every rank knows every rank's rows), so tokens/s
is the whole job's, not one rank's estimate, and needs no communication.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class Meter:
    """Counts real tokens per optimizer step; rates since the last log and overall."""

    def __init__(self, step_tokens: list[int]) -> None:
        self.step_tokens = step_tokens
        self.start_step = 0
        self.t0 = self.t_last = time.perf_counter()
        self.tokens = self.tokens_last = 0

    def begin(self, step: int) -> None:
        """Start the clock at ``step`` (0, or the resumed step)."""
        self.start_step = step
        self.t0 = self.t_last = time.perf_counter()
        self.tokens = self.tokens_last = 0

    def step(self, step: int) -> None:
        if 0 < step <= len(self.step_tokens):
            self.tokens += self.step_tokens[step - 1]

    def fields(self, step: int) -> dict[str, float]:
        now = time.perf_counter()
        dt = max(now - self.t_last, 1e-9)
        rate = (self.tokens - self.tokens_last) / dt
        self.t_last, self.tokens_last = now, self.tokens
        return {"tokens_per_s": round(rate, 1), "tokens_seen": float(self.tokens)}

    def summary(self) -> dict[str, float]:
        dt = max(time.perf_counter() - self.t0, 1e-9)
        return {"train_tokens": float(self.tokens),
                "train_tokens_per_s": round(self.tokens / dt, 1)}


def progress_callback(trainer: Any, meter: Meter, is_main: bool) -> None:
    """Replace Trainer's printer/tqdm with a rich bar and one compact line per log."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from lamstudio._console import err_console

    class RichProgress(TrainerCallback):
        def __init__(self) -> None:
            self.bar: Any = None
            self.task: Any = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            meter.begin(state.global_step)
            if not is_main or not sys.stderr.isatty():
                return
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TimeRemainingColumn(),
                                TextColumn("{task.fields[info]}"), console=err_console,
                                transient=False)
            self.task = self.bar.add_task("train", total=state.max_steps,
                                          completed=state.global_step, info="")
            self.bar.start()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            meter.step(state.global_step)
            if self.bar is not None:
                self.bar.update(self.task, completed=state.global_step)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kw: Any) -> None:
            if not is_main or not logs:
                return
            line = _format(state.global_step, state.max_steps, logs)
            if not line:
                return
            if self.bar is not None:
                self.bar.update(self.task, info=line.split("  ", 1)[-1])
                if "eval_loss" in logs:
                    self.bar.console.print(line)
            else:
                err_console.print(line, highlight=False)

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.stop()

    for cb in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(cb)
    trainer.add_callback(RichProgress())


def _format(step: int, total: int, logs: dict[str, Any]) -> str:
    parts = [f"step {step}/{total}"]
    for key, label, fmt in (("loss", "loss", "{:.4f}"), ("eval_loss", "eval_loss", "{:.4f}"),
                            ("learning_rate", "lr", "{:.2e}"), ("grad_norm", "gnorm", "{:.2f}"),
                            ("tokens_per_s", "tok/s", "{:,.0f}")):
        if key in logs and isinstance(logs[key], (int, float)):
            parts.append(f"{label} {fmt.format(logs[key])}")
    return "  ".join(parts) if len(parts) > 1 else ""
