"""A small shop with a bank: customers pay orders from their account; stock and balances
must stay consistent (an order is refunded and restocked when cancelled)."""

from __future__ import annotations

import copy
from typing import Any

from lamstudio.envs._base import EnvError

DEFAULT_STATE: dict[str, Any] = {
    "accounts": {"alice": 120.0, "bob": 15.5},
    "products": {"lamp": {"price": 25.0, "stock": 3}, "mug": {"price": 7.5, "stock": 10}},
    "orders": {},
    "next_order": 1,
}


class OrderStore:
    write_tools = frozenset({"transfer", "place_order", "cancel_order"})

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state = copy.deepcopy(state if state is not None else DEFAULT_STATE)

    def get_balance(self, customer: str) -> dict[str, Any]:
        """The account balance of a customer.

        Args:
            customer: Customer name.
        """
        return {"customer": customer, "balance": self._account(customer)}

    def transfer(self, sender: str, recipient: str, amount: float) -> dict[str, Any]:
        """Move money between two customers' accounts.

        Args:
            sender: Who pays.
            recipient: Who receives.
            amount: How much, more than zero.
        """
        if amount <= 0:
            raise EnvError("amount must be positive")
        if self._account(sender) < amount:
            raise EnvError(f"{sender} cannot cover {amount}")
        self._account(recipient)
        self.state["accounts"][sender] = round(self.state["accounts"][sender] - amount, 2)
        self.state["accounts"][recipient] = round(self.state["accounts"][recipient] + amount, 2)
        return {"sender_balance": self.state["accounts"][sender]}

    def place_order(self, customer: str, product: str, quantity: int = 1) -> dict[str, Any]:
        """Buy a product, paid from the customer's account.

        Args:
            customer: Customer name.
            product: Product name.
            quantity: How many items.
        """
        item = self.state["products"].get(product)
        if item is None:
            raise EnvError(f"no product {product!r}")
        if quantity < 1 or item["stock"] < quantity:
            raise EnvError(f"cannot sell {quantity} {product} (stock {item['stock']})")
        total = round(item["price"] * quantity, 2)
        if self._account(customer) < total:
            raise EnvError(f"{customer} cannot pay {total}")
        self.state["accounts"][customer] = round(self.state["accounts"][customer] - total, 2)
        item["stock"] -= quantity
        order_id = f"o{self.state['next_order']}"
        self.state["next_order"] += 1
        self.state["orders"][order_id] = {"customer": customer, "product": product,
                                          "quantity": quantity, "total": total,
                                          "status": "placed"}
        return {"order_id": order_id, "total": total}

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """Cancel an order: the customer is refunded and the items restocked.

        Args:
            order_id: The order to cancel.
        """
        order = self.state["orders"].get(order_id)
        if order is None or order["status"] != "placed":
            raise EnvError(f"no open order {order_id}")
        order["status"] = "cancelled"
        self.state["products"][order["product"]]["stock"] += order["quantity"]
        self.state["accounts"][order["customer"]] = round(
            self.state["accounts"][order["customer"]] + order["total"], 2)
        return {"order_id": order_id, "refunded": order["total"]}

    def get_order(self, order_id: str) -> dict[str, Any]:
        """Look an order up.

        Args:
            order_id: The order id.
        """
        if order_id not in self.state["orders"]:
            raise EnvError(f"no order {order_id}")
        return {"order_id": order_id, **self.state["orders"][order_id]}

    def _account(self, customer: str) -> float:
        if customer not in self.state["accounts"]:
            raise EnvError(f"no account for {customer!r}")
        return self.state["accounts"][customer]
