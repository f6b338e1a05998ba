"""Policy rules written as code, on real tau2 data: each rule sees the state before the
action and names the rule a blueprint breaks."""

from __future__ import annotations

from lamstudio.synth import execute


def _policy(env: str, actions: list[dict]) -> str:
    _, _, policy = execute({"actions": actions}, env)
    return policy.code


def test_airline_cancellation_needs_a_reason_the_policy_accepts() -> None:
    cancel = [{"name": "cancel_reservation", "arguments": {"reservation_id": "VAAOXJ"}}]
    assert _policy("tau2:airline", cancel) == "cancellation_not_allowed"  # economy, no cover
    business = [{"name": "cancel_reservation", "arguments": {"reservation_id": "4WQ150"}}]
    assert _policy("tau2:airline", business) == "ok"


def test_airline_basic_economy_flights_stay_but_the_cabin_may_change() -> None:
    flights = [{"flight_number": "HAT006", "date": "2024-05-28"},
               {"flight_number": "HAT055", "date": "2024-05-28"},
               {"flight_number": "HAT038", "date": "2024-05-30"},
               {"flight_number": "HAT194", "date": "2024-05-30"}]
    upgrade = {"reservation_id": "1OWO6T", "cabin": "economy", "flights": flights,
               "payment_id": "x"}
    assert _policy("tau2:airline", [{"name": "update_reservation_flights",
                                     "arguments": upgrade}]) == "ok"
    moved = {**upgrade, "cabin": "basic_economy",
             "flights": flights[:3] + [{"flight_number": "HAT001", "date": "2024-05-30"}]}
    assert _policy("tau2:airline", [{"name": "update_reservation_flights",
                                     "arguments": moved}]) == "basic_economy_flights_changed"


def test_retail_one_item_change_per_order() -> None:
    ex = {"name": "exchange_delivered_order_items",
          "arguments": {"order_id": "#W2378156", "item_ids": ["1151293680"],
                        "new_item_ids": ["7706410293"],
                        "payment_method_id": "credit_card_9513926"}}
    find = {"name": "find_user_id_by_name_zip",
            "arguments": {"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"}}
    assert _policy("tau2:retail", [find, ex, ex]) == "second_item_change_on_order"
