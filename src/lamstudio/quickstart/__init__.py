"""The offline quickstart: generated data -> tiny Llama -> held-out evaluation -> report."""

from lamstudio.quickstart._config import SHAPES, QuickstartConfig
from lamstudio.quickstart._metrics import same_calls, same_names, score, summarize
from lamstudio.quickstart._predict import predict
from lamstudio.quickstart._report import METRIC_LABELS, pct, render_report, write_report
from lamstudio.quickstart._run import run_quickstart
from lamstudio.quickstart._stages import QuickstartError, QuickstartResult, prepare_out_dir

__all__ = [
    "METRIC_LABELS", "SHAPES", "QuickstartConfig", "QuickstartError", "QuickstartResult",
    "pct", "predict", "prepare_out_dir", "render_report", "run_quickstart", "same_calls",
    "same_names", "score", "summarize", "write_report",
]
