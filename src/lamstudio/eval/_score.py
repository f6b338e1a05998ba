"""Score predictions against a suite; write per-case results, BFCL result files, a summary.

A prediction is ``{"id", "output": raw text}``, ``{"id", "calls": [{"name", "arguments"}]}``
or, multi-turn, ``{"id", "turns": [[step, ...], ...]}`` with each step raw text or a call
list. Every case of the suite gets a result: no prediction, unreadable output, an unknown
tool — each is a failure with a reason code and a SpecTool pattern, never a crash.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lamstudio.eval._ast import check
from lamstudio.eval._decode import calls_from_json, clean_text, decode_output, keep
from lamstudio.eval._multi_turn import check_multi_turn
from lamstudio.eval._overall import bfcl_overall
from lamstudio.eval._suite import EvalCase
from lamstudio.eval._taxonomy import PATTERNS, classify
from lamstudio.eval._verdict import OK, CallVerdict, fail
from lamstudio.tools import Call


def _step_calls(step: Any) -> list[Call]:
    calls, _ = (calls_from_json(step) if isinstance(step, list) else decode_output(step))
    return calls or []  # BFCL skips steps it cannot decode


def score_case(case: EvalCase, pred: dict[str, Any] | None) -> dict[str, Any]:
    calls: list[Call] = []
    raw: Any = None
    if pred is None:
        verdict = fail("missing_prediction", "no prediction for this case")
        verdict.pattern = "IAC"
    elif case.check == "multi_turn":
        turns = pred.get("turns")
        if not isinstance(turns, list):
            verdict = fail("unparseable", "multi-turn prediction needs 'turns': [[step]]")
            verdict.pattern = "IFE"
        else:
            model = [[_step_calls(s) for s in (t if isinstance(t, list) else [t])]
                     for t in turns]
            calls = [c for t in model for s in t for c in s]
            verdict = check_multi_turn(case.env_factory, model, case.ground_truth,
                                       offered={f.get("name") for f in case.functions})
        raw = turns
    else:
        verdict, calls, raw = _score_single(case, pred)
    out = {"id": case.id, "category": case.category, "valid": verdict.valid,
           "code": verdict.code, "pattern": verdict.pattern or "", "detail": verdict.detail,
           "calls": [c.to_dict() for c in calls], "expected": case.ground_truth}
    if isinstance(raw, str):
        out["output"] = keep(raw)
    return out


def _score_single(case: EvalCase, pred: dict[str, Any]) -> tuple[CallVerdict, list[Call], Any]:
    assert case.compiled is not None
    if "calls" in pred:
        calls, error = calls_from_json(pred["calls"])
        raw = None
    else:
        raw = clean_text(pred.get("output") or "")
        calls, error = decode_output(raw)
    if calls is None:
        if case.compiled.kind == "irrelevance":  # unreadable output is "no call" there
            return OK, [], raw
        verdict = fail("unparseable", error or "output could not be read")
        classify(verdict, [])
        return verdict, [], raw
    return check(case.compiled, calls), calls, raw


def score_all(cases: list[EvalCase], predictions: dict[str, dict[str, Any]],
              tick: Any = None) -> list[dict[str, Any]]:
    results = []
    for case in cases:
        results.append(score_case(case, predictions.get(case.id)))
        if tick:
            tick()
    return results


def summarize(results: Iterable[dict[str, Any]], model: str = "",
              suite: str = "", limit: int | None = None) -> dict[str, Any]:
    """Accuracy per category, error patterns and BFCL's weighted overall; ``limit`` (the
    first N cases of each category) is kept so reports can say the overall is a subset's."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    patterns: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for r in results:
        c = per[r["category"]]
        c["total"] += 1
        c["correct"] += bool(r["valid"])
        if not r["valid"]:
            patterns[r["pattern"] or "other"] += 1
            codes[r["code"]] += 1
    categories = {cat: {"total": c["total"], "correct": c["correct"],
                        "accuracy": c["correct"] / c["total"]} for cat, c in per.items()}
    total = sum(c["total"] for c in categories.values())
    correct = sum(c["correct"] for c in categories.values())
    return {"model": model, "suite": suite, "limit": limit, "total": total, "correct": correct,
            "accuracy": correct / total if total else 0.0, "categories": categories,
            "patterns": {p: patterns.get(p, 0) for p in PATTERNS},
            "codes": dict(codes.most_common()),
            "bfcl": bfcl_overall({k: v["accuracy"] for k, v in categories.items()})}


def read_predictions(path: Path, strict: bool = False,
                     ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Predictions by id, plus a list of problems, each naming file, line and field. A bad
    line is reported and skipped (its case scores ``missing_prediction``); of two lines
    with one id the first is kept. ``strict``: any problem raises ``InputError``."""
    from lamstudio.io import BadRow, InputError, read_rows

    preds: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    problems: list[str] = []
    for row in read_rows(path):
        if isinstance(row, BadRow):
            problems.append(f"{path}:{row.line}: {row.code}: {row.message}")
            continue
        problem = prediction_problem(row.value)
        if problem is None and row.value["id"] in preds:
            rid = row.value["id"]
            problem = (f"id: duplicate prediction id {rid!r} (first at line {lines[rid]}); "
                       "the first is kept")
        if problem is not None:
            problems.append(f"{path}:{row.line}: {problem}")
            continue
        preds[row.value["id"]] = row.value
        lines[row.value["id"]] = row.line
    if strict and problems:
        raise InputError(f"{len(problems)} problem(s) in the predictions (--strict): "
                         + "; ".join(problems[:5]))
    return preds, problems


def prediction_problem(value: Any) -> str | None:
    """What is wrong with one prediction (``field: why``), or None: checked before anything
    is scored or written, so a wrong type cannot stop a run half way."""
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return "id: a prediction needs a string 'id'"
    if not any(k in value for k in ("output", "calls", "turns")):
        return "needs 'output', 'calls' or 'turns'"
    if "output" in value and not isinstance(value["output"], (str, type(None))):
        return f"output: expected text, got {type(value['output']).__name__}"
    if "calls" in value and not isinstance(value["calls"], list):
        return f"calls: expected a list of calls, got {type(value['calls']).__name__}"
    if "turns" in value:
        turns = value["turns"]
        if not isinstance(turns, list):
            return f"turns: expected a list of turns (each a list of steps), got " \
                   f"{type(turns).__name__}"
        for t, turn in enumerate(turns):
            for k, step in enumerate(turn if isinstance(turn, list) else [turn]):
                if not isinstance(step, (str, list)):
                    return (f"turns[{t}][{k}]: a step is raw text or a list of calls, got "
                            f"{type(step).__name__}")
    return None


def _bfcl_group(category: str) -> str:
    if "multi_turn" in category:
        return "multi_turn"
    return "live" if "live" in category else "non_live"


def _fc(calls: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{c["name"]: json.dumps(c["arguments"], ensure_ascii=False)
             if isinstance(c["arguments"], dict) else str(c["arguments"])} for c in calls]


def write_bfcl_results(root: Path, model: str, results: list[dict[str, Any]],
                       predictions: dict[str, dict[str, Any]]) -> list[Path]:
    """BFCL result files (``result/<model>/<group>/BFCL_v4_<cat>_result.json``, one
    ``{"id", "result"}`` per line, calls in BFCL's function-calling shape
    ``[{name: "<json arguments>"}]``; multi-turn ``[[[...] per step] per turn]``)."""
    return write_bfcl_files(bfcl_results(root, model, results, predictions))


def write_bfcl_files(files: dict[Path, list[dict[str, Any]]]) -> list[Path]:
    from lamstudio.io import write_jsonl

    for path, rows in files.items():
        write_jsonl(path, rows)
    return list(files)


def bfcl_results(root: Path, model: str, results: list[dict[str, Any]],
                 predictions: dict[str, dict[str, Any]]) -> dict[Path, list[dict[str, Any]]]:
    """The rows of each BFCL result file, built in memory (nothing written)."""
    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        pred = predictions.get(r["id"]) or {}
        if "turns" in pred:
            result: Any = [[_fc([c.to_dict() for c in _step_calls(s)]) for s in t]
                           for t in pred["turns"] if isinstance(t, list)]
        elif r["calls"] or r["code"] != "unparseable":
            result = _fc(r["calls"])
        else:
            result = r.get("output", "")
        by_cat[r["category"]].append({"id": r["id"], "result": result})
    safe = model.replace("/", "_") or "model"
    return {root / "result" / safe / _bfcl_group(cat) / f"BFCL_v4_{cat}_result.json": rows
            for cat, rows in by_cat.items()}
