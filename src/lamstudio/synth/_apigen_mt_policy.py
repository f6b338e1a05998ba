"""Domain policy rules written as code, checked on a blueprint's actions step by step
(each rule sees the state before the action). Only rules the tools do not enforce
themselves are here; the rest (an exchange only on a delivered order ...) already fail the
execution check. Rules return a reason code, or None."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

Rule = Callable[[Any, dict[str, Any], list[dict[str, Any]]], str | None]

_RETAIL_FIND = {"find_user_id_by_email", "find_user_id_by_name_zip"}
_RETAIL_ONCE = {"exchange_delivered_order_items", "return_delivered_order_items",
                "modify_pending_order_items"}
_AIRLINE_NOW = datetime(2024, 5, 15, 15, 0, 0)  # tau2's fixed clock


def retail_authenticate_first(env: Any, action: dict[str, Any],
                              history: list[dict[str, Any]]) -> str | None:
    """The agent must find the user's id (email or name + zip) before any write."""
    if action["name"] in env.write_tools and not any(a["name"] in _RETAIL_FIND
                                                     for a in history):
        return "write_before_authentication"
    return None


def retail_own_orders_only(env: Any, action: dict[str, Any],
                           history: list[dict[str, Any]]) -> str | None:
    """Writes may only touch orders of the user that was identified."""
    order_id = action["arguments"].get("order_id")
    if action["name"] not in env.write_tools or order_id is None:
        return None
    users = {r for a in history if a["name"] in _RETAIL_FIND for r in [a.get("result")]}
    order = env.state["orders"].get(order_id) if order_id in env.state["orders"] else None
    if order is not None and users and order["user_id"] not in users:
        return "order_of_another_user"
    return None


def retail_one_change_per_order(env: Any, action: dict[str, Any],
                                history: list[dict[str, Any]]) -> str | None:
    """An order's items are exchanged, returned or modified at most once."""
    if action["name"] not in _RETAIL_ONCE:
        return None
    order_id = action["arguments"].get("order_id")
    if any(a["name"] in _RETAIL_ONCE and a["arguments"].get("order_id") == order_id
           for a in history):
        return "second_item_change_on_order"
    return None


def airline_basic_economy_not_modified(env: Any, action: dict[str, Any],
                                       history: list[dict[str, Any]]) -> str | None:
    """Basic economy flights cannot be changed (the cabin may be)."""
    if action["name"] != "update_reservation_flights":
        return None
    rid = action["arguments"].get("reservation_id")
    if rid not in env.state["reservations"]:
        return None
    res = env.state["reservations"][rid]
    old = {(f["flight_number"], f["date"]) for f in res["flights"]}
    new = {(f.get("flight_number"), f.get("date")) for f in action["arguments"].get("flights")
           or [] if isinstance(f, dict)}
    if res["cabin"] == "basic_economy" and old != new:
        return "basic_economy_flights_changed"
    return None


def airline_cancellation_allowed(env: Any, action: dict[str, Any],
                                 history: list[dict[str, Any]]) -> str | None:
    """A cancellation needs: booked in the last 24 h, business cabin, a flight cancelled
    by the airline, or travel insurance (the reason is the user's to give)."""
    if action["name"] != "cancel_reservation":
        return None
    rid = action["arguments"].get("reservation_id")
    if rid not in env.state["reservations"]:
        return None
    res = env.state["reservations"][rid]
    recent = _AIRLINE_NOW - datetime.fromisoformat(res["created_at"]) <= timedelta(hours=24)
    cancelled = any(env.state["flights"][f["flight_number"]]["dates"].get(f["date"], {})
                    .get("status") == "cancelled" for f in res["flights"]
                    if f["flight_number"] in env.state["flights"])
    if recent or res["cabin"] == "business" or cancelled or res["insurance"] == "yes":
        return None
    return "cancellation_not_allowed"


POLICY_RULES: dict[str, list[Rule]] = {
    "tau2:retail": [retail_authenticate_first, retail_own_orders_only,
                    retail_one_change_per_order],
    "tau2:airline": [airline_basic_economy_not_modified, airline_cancellation_allowed],
}
