"""lamstudio's own environments: actions change data, a state hash decides success."""

from __future__ import annotations

import json

import pytest

from lamstudio.envs import TASKS, EnvRunner, make_env, task_factory, tool_specs
from lamstudio.eval import Call
from lamstudio.eval._multi_turn import check_multi_turn
from lamstudio.tools import state_hash


@pytest.mark.parametrize("name", ["todo", "store"])
def test_actions_are_documented_tools(name: str) -> None:
    specs = tool_specs(make_env(name))
    assert len(specs) >= 5
    for s in specs:
        fn = s["function"]
        assert fn["description"] and fn["parameters"]["type"] == "object"
        assert all(p.get("description") for p in fn["parameters"]["properties"].values())


def test_store_keeps_money_and_stock_consistent() -> None:
    runner = EnvRunner(make_env("store"))
    before = runner.state_hash()
    out = json.loads(runner.run(Call("place_order", {"customer": "alice", "product": "lamp",
                                                     "quantity": 2})))
    assert out == {"order_id": "o1", "total": 50.0}
    assert runner.env.state["accounts"]["alice"] == 70.0
    assert runner.env.state["products"]["lamp"]["stock"] == 1
    runner.run("cancel_order(order_id='o1')")
    assert runner.env.state["accounts"]["alice"] == 120.0
    assert runner.state_hash() != before  # the cancelled order is part of the state


def test_refused_actions_are_results_not_crashes() -> None:
    runner = EnvRunner(make_env("store"))
    h = runner.state_hash()
    assert "cannot pay" in runner.run("place_order(customer='bob', product='lamp')")
    assert "Error" in runner.run("no_such_tool()")
    assert "Error" in runner.run(Call("transfer", "not an object"))
    assert "Error" in runner.run("transfer(sender='bob', recipient='alice', amount='x')")
    assert runner.state_hash() == h


def test_todo_rejects_overlapping_events() -> None:
    runner = EnvRunner(make_env("todo"))
    runner.run("schedule_event(title='a', date='2026-11-24', start='09:00', end='10:00')")
    assert "overlaps" in runner.run(
        "schedule_event(title='b', date='2026-11-24', start='09:30', end='10:30')")


def test_state_hash_ignores_key_order_but_not_values() -> None:
    assert state_hash({"a": 1, "b": [1, 2]}) == state_hash({"b": [1, 2], "a": 1})
    assert state_hash({"a": 1}) != state_hash({"a": 1.5})


@pytest.mark.parametrize("task", TASKS, ids=[t["id"] for t in TASKS])
def test_ground_truth_passes_and_dropping_a_write_fails(task) -> None:
    gt = task["ground_truth"]
    assert check_multi_turn(task_factory(task), [[t] for t in gt], gt).valid
    # Drop the last call of the last turn that has one: the state or results must differ.
    t = max(i for i, turn in enumerate(gt) if turn)
    model = [[list(turn)] for turn in gt]
    model[t][0].pop()
    verdict = check_multi_turn(task_factory(task), model, gt)
    assert not verdict.valid and verdict.pattern
