"""tau2-bench's retail domain over plain dicts: the same checks, in the same order, and the
same writes as ``tau2/domains/retail/tools.py`` (Apache-2.0, from Sierra's MIT tau-bench),
so a failing call leaves the database exactly as tau2's does. Arguments are checked (and
converted) only where tau2's tools build a pydantic model from them, with the same models
(``_tau2_models``): here the new address; the agreement tests replay random wrongly typed
calls in both. Descriptions for the model come from tau2's own schemas
(``data/tau2/retail_tools.json``)."""

from __future__ import annotations

import json
from typing import Any

from lamstudio.envs._tau2_base import Tau2Env
from lamstudio.envs._tau2_models import UserAddress, dumped

_REASONS = {"no longer needed", "ordered by mistake"}


def _address(address1: str, address2: str, city: str, state: str, country: str,
             zip: str) -> dict[str, Any]:
    # tau2 builds its UserAddress model: six strings, nothing converted (a number for the
    # zip or None for address2 is refused).
    return dumped(UserAddress(address1=address1, address2=address2, city=city, state=state,
                              country=country, zip=zip))


def _count_check(order: dict[str, Any], item_ids: list[str], message: str) -> None:
    all_ids = [item["item_id"] for item in order["items"]]
    for item_id in item_ids:
        if item_ids.count(item_id) > all_ids.count(item_id):
            raise ValueError(message.format(item_id=item_id))


class Tau2Retail(Tau2Env):
    domain = "retail"

    # -- lookups (tau2's private helpers) --
    def _order(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.state["orders"]:
            raise ValueError("Order not found")
        return self.state["orders"][order_id]

    def _user(self, user_id: str) -> dict[str, Any]:
        if user_id not in self.state["users"]:
            raise ValueError("User not found")
        return self.state["users"][user_id]

    def _product(self, product_id: str) -> dict[str, Any]:
        if product_id not in self.state["products"]:
            raise ValueError("Product not found")
        return self.state["products"][product_id]

    def _variant(self, product_id: str, variant_id: str) -> dict[str, Any]:
        product = self._product(product_id)
        if variant_id not in product["variants"]:
            raise ValueError("Variant not found")
        return product["variants"][variant_id]

    def _payment_method(self, user_id: str, payment_method_id: str) -> dict[str, Any]:
        user = self._user(user_id)
        if payment_method_id not in user["payment_methods"]:
            raise ValueError("Payment method not found")
        return user["payment_methods"][payment_method_id]

    def _price_difference(self, order: dict[str, Any], item_ids: list[str],
                          new_item_ids: list[str], same_id_error: bool
                          ) -> tuple[float, dict[str, Any] | None]:
        diff_price: float = 0
        variant = None
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=False):
            if same_id_error and item_id == new_item_id:
                raise ValueError("The new item id should be different from the old item id")
            item = next((i for i in order["items"] if i["item_id"] == item_id), None)
            if item is None:
                raise ValueError(f"Item {item_id} not found")
            variant = self._variant(item["product_id"], new_item_id)
            if not variant["available"]:
                raise ValueError(f"New item {new_item_id} not found or available")
            diff_price += variant["price"] - item["price"]
        return diff_price, variant

    # -- reads --
    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        for user_id, user in self.state["users"].items():
            if (user["name"]["first_name"].lower() == first_name.lower()
                    and user["name"]["last_name"].lower() == last_name.lower()
                    and user["address"]["zip"] == zip):
                return user_id
        raise ValueError("User not found")

    def find_user_id_by_email(self, email: str) -> str:
        for user_id, user in self.state["users"].items():
            if user["email"].lower() == email.lower():
                return user_id
        raise ValueError("User not found")

    def get_order_details(self, order_id: str) -> dict[str, Any]:
        return self._order(order_id)

    def get_product_details(self, product_id: str) -> dict[str, Any]:
        return self._product(product_id)

    def get_user_details(self, user_id: str) -> dict[str, Any]:
        return self._user(user_id)

    def list_all_product_types(self) -> str:
        names = {p["name"]: p["product_id"] for p in self.state["products"].values()}
        return json.dumps(names, sort_keys=True)

    # -- writes --
    def cancel_pending_order(self, order_id: str, reason: str) -> dict[str, Any]:
        order = self._order(order_id)
        if order["status"] != "pending":
            raise ValueError("Non-pending order cannot be cancelled")
        if reason not in _REASONS:
            raise ValueError("Invalid reason")
        refunds = []
        for payment in order["payment_history"]:
            refunds.append({"transaction_type": "refund", "amount": payment["amount"],
                            "payment_method_id": payment["payment_method_id"]})
            user = self._user(order["user_id"])
            method = self._payment_method(user["user_id"], payment["payment_method_id"])
            if method["source"] == "gift_card":  # refunded to the gift card at once
                method["balance"] = round(method["balance"] + payment["amount"], 2)
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        order["payment_history"].extend(refunds)
        return order

    def exchange_delivered_order_items(self, order_id: str, item_ids: list[str],
                                       new_item_ids: list[str],
                                       payment_method_id: str) -> dict[str, Any]:
        order = self._order(order_id)
        if order["status"] != "delivered":
            raise ValueError("Non-delivered order cannot be exchanged")
        _count_check(order, item_ids, "Number of {item_id} not found.")
        if len(item_ids) != len(new_item_ids):
            raise ValueError("The number of items to be exchanged should match.")
        diff_price, _ = self._price_difference(order, item_ids, new_item_ids, False)
        diff_price = round(diff_price, 2)
        method = self._payment_method(order["user_id"], payment_method_id)
        if method["source"] == "gift_card" and method["balance"] < diff_price:
            raise ValueError("Insufficient gift card balance to pay for the price difference")
        order["status"] = "exchange requested"
        order["exchange_items"] = sorted(item_ids)
        order["exchange_new_items"] = sorted(new_item_ids)
        order["exchange_payment_method_id"] = payment_method_id
        order["exchange_price_difference"] = diff_price
        return order

    def modify_pending_order_address(self, order_id: str, address1: str, address2: str,
                                     city: str, state: str, country: str,
                                     zip: str) -> dict[str, Any]:
        order = self._order(order_id)
        if "pending" not in order["status"]:
            raise ValueError("Non-pending order cannot be modified")
        order["address"] = _address(address1, address2, city, state, country, zip)
        return order

    def modify_pending_order_items(self, order_id: str, item_ids: list[str],
                                   new_item_ids: list[str],
                                   payment_method_id: str) -> dict[str, Any]:
        order = self._order(order_id)
        if order["status"] != "pending":
            raise ValueError("Non-pending order cannot be modified")
        _count_check(order, item_ids, "{item_id} not found")
        if len(item_ids) != len(new_item_ids):
            raise ValueError("The number of items to be exchanged should match")
        diff_price, variant = self._price_difference(order, item_ids, new_item_ids, True)
        method = self._payment_method(order["user_id"], payment_method_id)
        if method["source"] == "gift_card" and method["balance"] < diff_price:
            raise ValueError("Insufficient gift card balance to pay for the new item")
        order["payment_history"].append({
            "transaction_type": "payment" if diff_price > 0 else "refund",
            "amount": abs(diff_price), "payment_method_id": payment_method_id})
        if method["source"] == "gift_card":
            method["balance"] = round(method["balance"] - diff_price, 2)
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=False):
            item = next((i for i in order["items"] if i["item_id"] == item_id), None)
            if item is None:
                raise ValueError(f"Item {item_id} not found")
            # tau2 prices and labels every item with the LAST new variant; kept as is so
            # the final database agrees with tau2's.
            assert variant is not None
            item["item_id"] = new_item_id
            item["price"] = variant["price"]
            item["options"] = variant["options"]
        order["status"] = "pending (item modified)"
        return order

    def modify_pending_order_payment(self, order_id: str,
                                     payment_method_id: str) -> dict[str, Any]:
        order = self._order(order_id)
        if "pending" not in order["status"]:
            raise ValueError("Non-pending order cannot be modified")
        method = self._payment_method(order["user_id"], payment_method_id)
        history = order["payment_history"]
        if len(history) != 1 or history[0]["transaction_type"] != "payment":
            raise ValueError("There should be exactly one payment for a pending order")
        if history[0]["payment_method_id"] == payment_method_id:
            raise ValueError("The new payment method should be different from the current one")
        amount = history[0]["amount"]
        if method["source"] == "gift_card" and method["balance"] < amount:
            raise ValueError("Insufficient gift card balance to pay for the order")
        history.extend([
            {"transaction_type": "payment", "amount": amount,
             "payment_method_id": payment_method_id},
            {"transaction_type": "refund", "amount": amount,
             "payment_method_id": history[0]["payment_method_id"]}])
        if method["source"] == "gift_card":
            method["balance"] = round(method["balance"] - amount, 2)
        old = self._payment_method(order["user_id"], history[0]["payment_method_id"])
        if old["source"] == "gift_card":
            old["balance"] = round(old["balance"] + amount, 2)
        return order

    def modify_user_address(self, user_id: str, address1: str, address2: str, city: str,
                            state: str, country: str, zip: str) -> dict[str, Any]:
        user = self._user(user_id)
        user["address"] = _address(address1, address2, city, state, country, zip)
        return user

    def return_delivered_order_items(self, order_id: str, item_ids: list[str],
                                     payment_method_id: str) -> dict[str, Any]:
        order = self._order(order_id)
        if order["status"] != "delivered":
            raise ValueError("Non-delivered order cannot be returned")
        user = self._user(order["user_id"])
        method = self._payment_method(user["user_id"], payment_method_id)
        if (method["source"] != "gift_card"
                and payment_method_id != order["payment_history"][0]["payment_method_id"]):
            raise ValueError("Payment method should be the original payment method")
        _count_check(order, item_ids, "Some item not found")
        order["status"] = "return requested"
        order["return_items"] = sorted(item_ids)
        order["return_payment_method_id"] = payment_method_id
        return order
