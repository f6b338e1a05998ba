"""BFCL v4's overall accuracy from per-category accuracies, weighted as its leaderboard does
(bfcl_eval/eval_checker/eval_runner_helper.py, bfcl-eval 2026.3.23):

    overall = 10% non-live + 10% live + 10% irrelevance + 30% multi-turn + 40% agentic

non-live = mean(simple, multiple, parallel, parallel_multiple), simple itself the mean of
python/java/javascript; live = entry-weighted mean of the four live AST categories;
irrelevance = mean(irrelevance, live_irrelevance); multi-turn = mean of its four;
agentic = mean(web search (2), memory (3)). A category not run counts as 0, as in BFCL.
"""

from __future__ import annotations

from typing import Any

from lamstudio.eval._bfcl import ALL_SCORING, BfclUnavailable, load_category

WEIGHTS = {"non_live": 10, "live": 10, "irrelevance": 10, "multi_turn": 30, "agentic": 40}
_LIVE_AST = ["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"]


def _size(category: str) -> int:
    try:
        return len(load_category(category))
    except BfclUnavailable:
        return 0


def bfcl_overall(accuracy: dict[str, float]) -> dict[str, Any]:
    """``accuracy``: category -> accuracy in [0, 1] for the categories that were run."""
    def a(cat: str) -> float:
        return accuracy.get(cat, 0.0)

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs)

    simple = mean([a("simple_python"), a("simple_java"), a("simple_javascript")])
    groups = {
        "non_live": mean([simple, a("multiple"), a("parallel"), a("parallel_multiple")]),
        "irrelevance": mean([a("irrelevance"), a("live_irrelevance")]),
        "multi_turn": mean([a(c) for c in ("multi_turn_base", "multi_turn_miss_func",
                                           "multi_turn_miss_param", "multi_turn_long_context")]),
        "agentic": mean([mean([a("web_search_base"), a("web_search_no_snippet")]),
                         mean([a("memory_kv"), a("memory_vector"), a("memory_rec_sum")])]),
    }
    sizes = {c: _size(c) for c in _LIVE_AST}
    total = sum(sizes.values()) or 1
    groups["live"] = sum(a(c) * n for c, n in sizes.items()) / total
    overall = sum(WEIGHTS[g] * v for g, v in groups.items()) / sum(WEIGHTS.values())
    not_run = [c for c in ALL_SCORING if c not in accuracy and c != "live_relevance"]
    return {"overall": overall, "groups": groups, "weights": WEIGHTS, "not_run": not_run}
