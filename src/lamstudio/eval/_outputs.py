"""Everything a run leaves behind, written atomically into one folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lamstudio.eval._report import html_report
from lamstudio.eval._score import write_bfcl_results


def write_outputs(out: Path, model: str, results: list[dict[str, Any]],
                  summary: dict[str, Any], predictions: dict[str, dict[str, Any]],
                  write_predictions: bool) -> dict[str, Path]:
    """``results.jsonl`` (one verdict per case), ``summary.json``, ``report.html``,
    ``predictions.jsonl`` (raw outputs, re-scorable with ``lamstudio eval score``) and
    BFCL result files under ``bfcl/result/``."""
    from lamstudio.io import atomic_path, write_jsonl

    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.jsonl", "summary": out / "summary.json",
             "report": out / "report.html"}
    write_jsonl(paths["results"], results)
    with atomic_path(paths["summary"]) as tmp:
        tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    with atomic_path(paths["report"]) as tmp:
        tmp.write_text(html_report(summary, results), encoding="utf-8")
    if write_predictions:
        paths["predictions"] = out / "predictions.jsonl"
        write_jsonl(paths["predictions"], predictions.values())
    files = write_bfcl_results(out / "bfcl", model, results, predictions)
    if files:
        paths["bfcl"] = out / "bfcl" / "result"
    return paths
