"""BFCL's own files (shipped inside the ``bfcl-eval`` package): categories, entries, answers,
and the leaderboard's overall-score weighting."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import metadata, util
from pathlib import Path
from typing import Any

# BFCL v4 scoring categories, grouped as its leaderboard groups them
# (bfcl_eval/constants/category_mapping.py and eval_runner_helper.generate_leaderboard_csv).
NON_LIVE = ["simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
            "parallel_multiple", "irrelevance"]
LIVE = ["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple",
        "live_irrelevance", "live_relevance"]
MULTI_TURN = ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
              "multi_turn_long_context"]
AGENTIC = ["web_search_base", "web_search_no_snippet", "memory_kv", "memory_vector",
           "memory_rec_sum"]
ALL_SCORING = NON_LIVE + LIVE + MULTI_TURN + AGENTIC
# The single-turn categories lamstudio scores with its AST checker.
AST_CATEGORIES = ["simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
                  "parallel_multiple", "live_simple", "live_multiple", "live_parallel",
                  "live_parallel_multiple"]
RELEVANCE_CATEGORIES = ["irrelevance", "live_irrelevance", "live_relevance"]
SINGLE_TURN = AST_CATEGORIES + RELEVANCE_CATEGORIES
# Multi-turn categories whose environments run offline here (see _multi_turn.py).
RUNNABLE_MULTI_TURN = ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param"]


class BfclUnavailable(RuntimeError):
    """``bfcl-eval`` is not installed (it ships the data)."""


def bfcl_version() -> str:
    try:
        return metadata.version("bfcl-eval")
    except metadata.PackageNotFoundError:
        return "not-installed"


@cache
def data_dir() -> Path:
    spec = util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BfclUnavailable("bfcl-eval is not installed: pip install --no-deps bfcl-eval")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass(frozen=True, slots=True)
class BfclEntry:
    id: str
    category: str
    question: list[list[dict[str, Any]]]  # turns of messages
    function: list[dict[str, Any]]  # BFCL's original function docs
    ground_truth: Any  # single-turn: [{name: {param: [acceptable]}}]; multi-turn: [[str]]
    raw: dict[str, Any]


@cache
def load_category(category: str) -> tuple[BfclEntry, ...]:
    """Entries of one BFCL v4 category with their possible answers (if the category has)."""
    root = data_dir()
    qpath = root / f"BFCL_v4_{category}.json"
    if not qpath.exists():
        known = sorted(p.stem[len("BFCL_v4_"):] for p in root.glob("BFCL_v4_*.json"))
        raise BfclUnavailable(f"no BFCL category {category!r}; known: {', '.join(known)}")
    questions = _read_jsonl(qpath)
    apath = root / "possible_answer" / f"BFCL_v4_{category}.json"
    answers = _read_jsonl(apath) if apath.exists() else [None] * len(questions)
    if len(answers) != len(questions):
        raise BfclUnavailable(f"{category}: {len(questions)} entries, {len(answers)} answers")
    out = []
    for q, a in zip(questions, answers, strict=True):
        out.append(BfclEntry(q["id"], category, q.get("question", []), q.get("function", []),
                             a["ground_truth"] if a else None, q))
    return tuple(out)


@cache
def multi_turn_docs(class_name: str) -> tuple[dict[str, Any], ...]:
    files = {"GorillaFileSystem": "gorilla_file_system", "MathAPI": "math_api",
             "MessageAPI": "message_api", "TwitterAPI": "posting_api",
             "TicketAPI": "ticket_api", "TradingBot": "trading_bot",
             "TravelAPI": "travel_booking", "VehicleControlAPI": "vehicle_control"}
    return tuple(_read_jsonl(data_dir() / "multi_turn_func_doc" / f"{files[class_name]}.json"))
