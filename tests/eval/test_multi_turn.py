"""Multi-turn checking on BFCL's multi-turn categories with BFCL's own API classes."""

from __future__ import annotations

import itertools

import pytest

from lamstudio.eval._bfcl import load_category
from lamstudio.eval._multi_turn import bfcl_env_factory, check_multi_turn
from lamstudio.tools import parse_call

CATEGORIES = ["multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
              "multi_turn_long_context"]


@pytest.mark.parametrize("category", CATEGORIES)
def test_ground_truth_as_the_model_scores_100_percent(category: str) -> None:
    entries = load_category(category)
    assert len(entries) == 200
    for e in entries:
        gt = e.ground_truth
        verdict = check_multi_turn(bfcl_env_factory(e.raw, category), [[t] for t in gt], gt)
        assert verdict.valid, (e.id, verdict.detail)


def _drops_that_change_state(entry) -> list[tuple[int, int]]:
    """(turn, call) positions whose removal changes the ground-truth state at turn end."""
    make = bfcl_env_factory(entry.raw, "multi_turn_base")
    found = []
    for t, turn in enumerate(entry.ground_truth):
        for k in range(len(turn)):
            full, cut = make(), make()
            for prev in entry.ground_truth[:t]:
                for c in prev:
                    full.run(c)
                    cut.run(c)
            for j, c in enumerate(turn):
                full.run(c)
                if j != k:
                    cut.run(c)
            if full.snapshot() != cut.snapshot():
                found.append((t, k))
    return found


def test_dropping_a_state_changing_call_fails() -> None:
    checked = 0
    for e in load_category("multi_turn_base")[:80]:
        for t, k in _drops_that_change_state(e)[:2]:
            model = [[list(turn)] for turn in e.ground_truth]
            del model[t][0][k]
            verdict = check_multi_turn(bfcl_env_factory(e.raw, "multi_turn_base"), model,
                                       e.ground_truth)
            assert not verdict.valid, (e.id, t, k)
            assert verdict.code in ("state_mismatch", "empty_turn", "result_mismatch")
            assert verdict.pattern in ("IAC", "IAV", "IFN", "RAC")
            checked += 1
    assert checked > 60


def test_verdicts_agree_with_bfcl_multi_turn_checker() -> None:
    # BFCL's multi-turn checker imports without the provider SDKs, so it runs right here.
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    run = itertools.count()
    compared = disagree = 0
    for e in load_category("multi_turn_base")[:60]:
        gt = e.ground_truth
        variants = [[[t] for t in gt]]
        for t, turn in enumerate(gt):  # drop each call, duplicate the first
            for k in range(len(turn)):
                variants.append([[x if i != t else x[:k] + x[k + 1:]] for i, x in
                                 enumerate(gt)])
            if turn:
                variants.append([[x if i != t else x + x[:1]] for i, x in enumerate(gt)])
        for model in variants:
            ours = check_multi_turn(bfcl_env_factory(e.raw, "multi_turn_base"), model, gt)
            ref = multi_turn_checker(model, gt, dict(e.raw), "multi_turn_base",
                                     f"lamstudio_test_{next(run)}")
            compared += 1
            disagree += ours.valid != ref["valid"]
    assert compared > 500
    assert disagree == 0


def test_parse_call_reads_literals_only() -> None:
    assert parse_call("sort('a.pdf')") == ("sort", ["a.pdf"], {})
    assert parse_call("mv(source='a', destination=\"b\")") == (
        "mv", [], {"source": "a", "destination": "b"})
    with pytest.raises(ValueError):
        parse_call("__import__('os').system('true')")


def test_calls_to_functions_not_offered_are_labelled_ifn_not_iac() -> None:
    from lamstudio.eval import load_suite
    from lamstudio.eval._score import score_case

    case = load_suite("bfcl:multi_turn_base", 1)[0]
    offered = {f["name"] for f in case.functions}
    assert "teleport" not in offered
    # the model spends its first turn on ~50 calls to a tool it was not given, then stops
    first = [[{"name": "teleport", "arguments": {"to": f"p{i}"}}] for i in range(50)]
    turns = [first] + [[] for _ in case.ground_truth[1:]]
    result = score_case(case, {"id": case.id, "turns": turns})
    assert not result["valid"]
    assert result["pattern"] == "IFN", result
    # the same failure without stray calls is still an insufficient-calls one
    quiet = score_case(case, {"id": case.id, "turns": [[] for _ in case.ground_truth]})
    assert quiet["pattern"] == "IAC"
