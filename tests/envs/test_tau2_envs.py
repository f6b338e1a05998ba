"""tau2-bench's retail and airline domains as lamstudio environments: tau2's schemas and
policy for the agent, read vs write tools, a deterministic state hash, fresh copies that
never leak into each other."""

from __future__ import annotations

import json

import pytest

from lamstudio.envs import (
    EnvRunner,
    canonical_hash,
    ground_truth,
    load_tasks,
    make_env,
    replay,
    system_prompt,
    tool_specs,
    write_tools,
)
from lamstudio.eval import Call


@pytest.mark.parametrize("name,tools,writes,tasks", [
    ("tau2:retail", 15, 7, 114), ("tau2:airline", 14, 6, 50)])
def test_domains_expose_schemas_policy_and_write_tools(name, tools, writes, tasks) -> None:
    env = make_env(name)
    specs = tool_specs(env)
    assert len(specs) == tools and all(s["type"] == "function" for s in specs)
    assert "x-tau2-kind" not in specs[0]  # lamstudio's marking stays out of the prompt
    assert len(write_tools(env)) == writes
    assert write_tools(env) < {s["function"]["name"] for s in specs}
    assert "policy" in system_prompt(env).lower()
    assert len(load_tasks(name.split(":")[1])) == tasks


def test_splits_partition_the_tasks() -> None:
    train, test = load_tasks("retail", "train"), load_tasks("retail", "test")
    assert len(train) + len(test) == 114
    assert not {t["id"] for t in train} & {t["id"] for t in test}
    with pytest.raises(KeyError, match="no split 'dev'"):
        load_tasks("retail", "dev")


def test_toy_envs_mark_their_writes_too() -> None:
    assert write_tools(make_env("store")) == {"transfer", "place_order", "cancel_order"}
    assert system_prompt(make_env("todo")) is None


def test_a_write_changes_the_hash_and_a_read_does_not() -> None:
    runner = EnvRunner(make_env("tau2:retail"))
    before = runner.state_hash()
    details = json.loads(runner.run(Call("get_order_details", {"order_id": "#W2378156"})))
    assert details["status"] == "delivered" and runner.state_hash() == before
    out = runner.run(Call("cancel_pending_order", {"order_id": "#W2378156",
                                                   "reason": "no longer needed"}))
    assert out == "Error during execution: Non-pending order cannot be cancelled"
    assert runner.state_hash() == before  # a refused write leaves no trace
    runner.run(Call("modify_user_address", {
        "user_id": details["user_id"], "address1": "1 Main St", "address2": "",
        "city": "Austin", "state": "TX", "country": "USA", "zip": "73301"}))
    assert runner.state_hash() != before


def test_environments_are_independent_copies() -> None:
    a, b = make_env("tau2:airline"), make_env("tau2:airline")
    EnvRunner(a).run(Call("send_certificate", {"user_id": "mia_li_3668", "amount": 100}))
    assert "certificate_3221322" in a.state["users"]["mia_li_3668"]["payment_methods"]
    assert "certificate_3221322" not in b.state["users"]["mia_li_3668"]["payment_methods"]
    assert a._state_hash() != b._state_hash() == make_env("tau2:airline")._state_hash()


@pytest.mark.parametrize("domain", ["retail", "airline"])
def test_incremental_hash_equals_the_hash_of_the_plain_database(domain: str) -> None:
    for task in load_tasks(domain)[:8]:
        runner = replay(f"tau2:{domain}", ground_truth(task))
        assert runner.state_hash() == canonical_hash(runner.env._plain())


def test_replay_is_deterministic_and_order_of_writes_matters() -> None:
    task = next(t for t in load_tasks("retail") if len(ground_truth(t)) >= 5)
    calls = ground_truth(task)
    assert replay("tau2:retail", calls).state_hash() == replay("tau2:retail", calls).state_hash()
    assert replay("tau2:retail", calls[:-1]).state_hash() != \
        replay("tau2:retail", calls).state_hash()


def test_an_explicit_initial_state_is_never_written() -> None:
    state = {"users": {"u": {"user_id": "u", "name": {"first_name": "A", "last_name": "B"},
                             "address": {"zip": "1"}, "email": "a@b.c",
                             "payment_methods": {}, "orders": []}},
             "orders": {}, "products": {}}
    runner = EnvRunner(make_env("tau2:retail", state))
    assert runner.run(Call("find_user_id_by_email", {"email": "A@B.C"})) == "u"
    runner.run(Call("modify_user_address", {"user_id": "u", "address1": "x", "address2": "",
                                            "city": "c", "state": "s", "country": "k",
                                            "zip": "2"}))
    assert state["users"]["u"]["address"] == {"zip": "1"}
    assert runner.env.state["users"]["u"]["address"]["zip"] == "2"


def test_airline_booking_checks_payment_before_writing() -> None:
    runner = EnvRunner(make_env("tau2:airline"))
    before = runner.state_hash()
    out = runner.run(Call("book_reservation", {
        "user_id": "mia_li_3668", "origin": "JFK", "destination": "SEA",
        "flight_type": "one_way", "cabin": "economy",
        "flights": [{"flight_number": "HAT136", "date": "2024-05-20"}],
        "passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}],
        "payment_methods": [{"payment_id": "credit_card_4421486", "amount": 1}],
        "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no"}))
    assert "Payment amount does not add up" in out or "not found" in out
    assert runner.state_hash() == before
