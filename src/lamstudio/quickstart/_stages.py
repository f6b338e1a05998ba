"""What both quickstarts share: the output folder, stage timing, the training callbacks
and the result type. The scratch pipeline (``_pipeline``) and the pretrained one
(``_pretrained``) import this; ``_run`` chooses between them."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.quickstart._config import QuickstartConfig

MARKER = ".lamstudio-quickstart"


class QuickstartError(RuntimeError):
    """A quickstart that cannot run (e.g. the output directory belongs to something else)."""


@dataclass
class QuickstartResult:
    out_dir: Path
    metrics: dict[str, Any]
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def prepare_out_dir(out: Path) -> None:
    """Reuse a previous quickstart's directory; never delete anything else."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise QuickstartError(f"{out} exists and was not made by the quickstart; "
                                  "choose another --out-dir")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by lamstudio quickstart; rerunning replaces it\n")


class Stages:
    """Times each stage and tells ``on_stage`` when one starts and ends."""

    def __init__(self, on_stage: Callable[[str, float | None], None] | None) -> None:
        self.timings: dict[str, float] = {}
        self.on_stage = on_stage or (lambda name, seconds: None)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.on_stage(name, None)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 2)
        self.on_stage(name, self.timings[name])


def train_callbacks(cfg: QuickstartConfig, log: list[dict[str, Any]],
                     stop: dict[str, Any]) -> list[Any]:
    """Record every logged loss; stop (and say so) when the time cap is reached."""
    from transformers import TrainerCallback

    t0 = time.perf_counter()

    class Record(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kw: Any) -> None:
            if logs and "loss" in logs:
                log.append({"step": state.global_step, "loss": logs["loss"],
                            "lr": logs.get("learning_rate"),
                            "seconds": round(time.perf_counter() - t0, 1)})

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            cap = cfg.max_train_minutes
            if cap is not None and time.perf_counter() - t0 > 60 * cap:
                stop.update(step=state.global_step, planned=state.max_steps)
                control.should_training_stop = True
                control.should_log = True

    return [Record()]


def start(cfg: QuickstartConfig, on_stage: Callable[[str, float | None], None] | None
          ) -> tuple[Path, Stages]:
    """What both quickstarts do first: offline, the thread count, a fresh output folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    prepare_out_dir(out)
    return out, Stages(on_stage)
