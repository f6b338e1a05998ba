"""Everything a run leaves behind, written atomically into one folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lamstudio.eval._report import html_report
from lamstudio.eval._score import bfcl_results, write_bfcl_files


def write_outputs(out: Path, model: str, results: list[dict[str, Any]],
                  summary: dict[str, Any], predictions: dict[str, dict[str, Any]],
                  write_predictions: bool) -> dict[str, Path]:
    """``results.jsonl`` (one verdict per case), ``summary.json``, ``report.html``,
    ``predictions.jsonl`` (raw outputs, re-scorable with ``lamstudio eval score``) and
    BFCL result files under ``bfcl/result/``.

    Everything is built in memory first and written last, each file atomically: a failure
    while building leaves the folder as it was, never a complete-looking half."""
    from lamstudio.io import atomic_path, write_jsonl

    bfcl = bfcl_results(out / "bfcl", model, results, predictions)
    summary_text = json.dumps(summary, indent=2)
    report = html_report(summary, results)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.jsonl", "summary": out / "summary.json",
             "report": out / "report.html"}
    if write_predictions:
        paths["predictions"] = out / "predictions.jsonl"
        write_jsonl(paths["predictions"], predictions.values())
    if write_bfcl_files(bfcl):
        paths["bfcl"] = out / "bfcl" / "result"
    write_jsonl(paths["results"], results)
    with atomic_path(paths["report"]) as tmp:
        tmp.write_text(report, encoding="utf-8")
    with atomic_path(paths["summary"]) as tmp:  # last: its presence means the run is whole
        tmp.write_text(summary_text, encoding="utf-8")
    return paths
