"""The quickstart's one entry point: the pretrained path (the default) or the tiny
from-scratch one (``--base scratch``)."""

from __future__ import annotations

from collections.abc import Callable

from lamstudio.quickstart._config import QuickstartConfig
from lamstudio.quickstart._pipeline import run_scratch
from lamstudio.quickstart._pretrained import run_pretrained
from lamstudio.quickstart._stages import QuickstartResult


def run_quickstart(cfg: QuickstartConfig,
                   on_stage: Callable[[str, float | None], None] | None = None,
                   on_eval: Callable[[int], None] | None = None) -> QuickstartResult:
    """The whole quickstart. ``on_stage(name, seconds)``: stage start (None) / end."""
    run = run_pretrained if cfg.pretrained else run_scratch
    return run(cfg, on_stage, on_eval)
