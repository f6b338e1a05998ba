"""tau2-bench's airline domain over plain dicts: the same checks, in the same order, and the
same writes as ``tau2/domains/airline/tools.py`` (Apache-2.0, from Sierra's MIT
tau-bench). Descriptions for the model come from tau2's own schemas."""

from __future__ import annotations

import copy
from typing import Any

from lamstudio.envs._tau2_base import Tau2Env, pick

_PASSENGER = ("first_name", "last_name", "dob")
_PAYMENT = ("payment_id", "amount")
_FLIGHT_INFO = ("flight_number", "date")
_LITERALS = {"flight_type": ("round_trip", "one_way"),
             "cabin": ("business", "economy", "basic_economy"), "insurance": ("yes", "no")}
_NOW = "2024-05-15T15:00:00"  # tau2's fixed clock
_AIRPORTS = [("SFO", "San Francisco"), ("JFK", "New York"), ("LAX", "Los Angeles"),
             ("ORD", "Chicago"), ("DFW", "Dallas"), ("DEN", "Denver"), ("SEA", "Seattle"),
             ("ATL", "Atlanta"), ("MIA", "Miami"), ("BOS", "Boston"), ("PHX", "Phoenix"),
             ("IAH", "Houston"), ("LAS", "Las Vegas"), ("MCO", "Orlando"),
             ("EWR", "Newark"), ("CLT", "Charlotte"), ("MSP", "Minneapolis"),
             ("DTW", "Detroit"), ("PHL", "Philadelphia"), ("LGA", "LaGuardia")]


def _models(values: list[Any], fields: tuple[str, ...], what: str) -> list[Any]:
    # tau2 converts only when every element is a dict (then pydantic drops extra keys).
    if all(isinstance(v, dict) for v in values):
        return [pick(v, fields, what) for v in values]
    return values


def _int_amount(payment: dict[str, Any]) -> dict[str, Any]:
    amount = payment["amount"]  # pydantic's int field: 100.0 -> 100, 100.5 refused
    if isinstance(amount, float) and amount.is_integer():
        amount = int(amount)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"payment amount {amount!r} is not a whole number")
    return {**payment, "amount": amount}


class Tau2Airline(Tau2Env):
    domain = "airline"

    def _user(self, user_id: str) -> dict[str, Any]:
        if user_id not in self.state["users"]:
            raise ValueError(f"User {user_id} not found")
        return self.state["users"][user_id]

    def _reservation(self, reservation_id: str) -> dict[str, Any]:
        if reservation_id not in self.state["reservations"]:
            raise ValueError(f"Reservation {reservation_id} not found")
        return self.state["reservations"][reservation_id]

    def _flight(self, flight_number: str) -> dict[str, Any]:
        if flight_number not in self.state["flights"]:
            raise ValueError(f"Flight {flight_number} not found")
        return self.state["flights"][flight_number]

    def _instance(self, flight_number: str, date: str) -> dict[str, Any]:
        flight = self._flight(flight_number)
        if date not in flight["dates"]:
            raise ValueError(f"Flight {flight_number} not found on date {date}")
        return flight["dates"][date]

    def _available(self, flight_number: str, date: str, cabin: str,
                   passengers: int) -> dict[str, Any]:
        instance = self._instance(flight_number, date)
        if instance["status"] != "available":
            raise ValueError(f"Flight {flight_number} not available on date {date}")
        if instance["available_seats"][cabin] < passengers:
            raise ValueError(f"Not enough seats on flight {flight_number}")
        return instance

    def _search(self, date: str, origin: str | None = None, destination: str | None = None,
                leave_after: str | None = None) -> list[dict[str, Any]]:
        out = []
        for f in self.state["flights"].values():
            day = f["dates"].get(date)
            if ((origin is None or f["origin"] == origin)
                    and (destination is None or f["destination"] == destination)
                    and day is not None and day["status"] == "available"
                    and (leave_after is None
                         or f["scheduled_departure_time_est"] >= leave_after)):
                out.append({k: f[k] for k in ("flight_number", "origin", "destination")}
                           | {"status": "available",
                              "scheduled_departure_time_est": f["scheduled_departure_time_est"],
                              "scheduled_arrival_time_est": f["scheduled_arrival_time_est"],
                              "date": None, "available_seats": day["available_seats"],
                              "prices": day["prices"]})
        return out

    def _payment_for_update(self, user: dict[str, Any], payment_id: str,
                            total_price: int) -> dict[str, Any] | None:
        if payment_id not in user["payment_methods"]:
            raise ValueError("Payment method not found")
        method = user["payment_methods"][payment_id]
        if method["source"] == "certificate":
            raise ValueError("Certificate cannot be used to update reservation")
        if method["source"] == "gift_card" and method["amount"] < total_price:
            raise ValueError("Gift card balance is not enough")
        if method["source"] == "gift_card":
            method["amount"] -= total_price
        return {"payment_id": payment_id, "amount": total_price} if total_price != 0 else None

    # -- reads --
    def get_reservation_details(self, reservation_id: str) -> dict[str, Any]:
        return self._reservation(reservation_id)

    def get_user_details(self, user_id: str) -> dict[str, Any]:
        return self._user(user_id)

    def list_all_airports(self) -> list[dict[str, str]]:
        return [{"iata": code, "city": city} for code, city in _AIRPORTS]

    def search_direct_flight(self, origin: str, destination: str,
                             date: str) -> list[dict[str, Any]]:
        return self._search(date=date, origin=origin, destination=destination)

    def search_onestop_flight(self, origin: str, destination: str,
                              date: str) -> list[list[dict[str, Any]]]:
        results = []
        for first in self._search(date=date, origin=origin):
            first["date"] = date
            date2 = (f"2024-05-{int(date[-2:]) + 1}"
                     if "+1" in first["scheduled_arrival_time_est"] else date)
            for second in self._search(date=date2, origin=first["destination"],
                                       destination=destination,
                                       leave_after=first["scheduled_arrival_time_est"]):
                second["date"] = date2
                results.append([first, second])
        return results

    def get_flight_status(self, flight_number: str, date: str) -> str:
        return self._instance(flight_number, date)["status"]

    # -- writes --
    def book_reservation(self, user_id: str, origin: str, destination: str,
                         flight_type: str, cabin: str, flights: list[Any],
                         passengers: list[Any], payment_methods: list[Any],
                         total_baggages: int, nonfree_baggages: int,
                         insurance: str) -> dict[str, Any]:
        flights = _models(flights, _FLIGHT_INFO, "flight")
        passengers = _models(passengers, _PASSENGER, "passenger")
        payment_methods = [_int_amount(p) for p in _models(payment_methods, _PAYMENT,
                                                             "payment method")]
        user = self._user(user_id)
        reservation_id = next((r for r in ("HATHAT", "HATHAU", "HATHAV")
                               if r not in self.state["reservations"]), None)
        if reservation_id is None:
            raise ValueError("Too many reservations")
        for field, value in (("flight_type", flight_type), ("cabin", cabin),
                             ("insurance", insurance)):
            if value not in _LITERALS[field]:  # tau2's Reservation model refuses it here
                raise ValueError(f"{field} must be one of {', '.join(_LITERALS[field])}")
        reservation = {
            "reservation_id": reservation_id, "user_id": user_id, "origin": origin,
            "destination": destination, "flight_type": flight_type, "cabin": cabin,
            "flights": [], "passengers": copy.deepcopy(passengers),
            "payment_history": copy.deepcopy(payment_methods), "created_at": _NOW,
            "total_baggages": total_baggages, "nonfree_baggages": nonfree_baggages,
            "insurance": insurance}
        total_price, instances = 0, []
        for info in flights:
            flight = self._flight(info["flight_number"])
            instance = self._available(info["flight_number"], info["date"], cabin,
                                       len(passengers))
            price = instance["prices"][cabin]
            reservation["flights"].append({
                "origin": flight["origin"], "destination": flight["destination"],
                "flight_number": info["flight_number"], "date": info["date"], "price": price})
            instances.append(instance)
            total_price += price * len(passengers)
        if insurance == "yes":
            total_price += 30 * len(passengers)
        total_price += 50 * nonfree_baggages
        self._check_payments(user, payment_methods, total_price)
        for payment in payment_methods:
            method = user["payment_methods"][payment["payment_id"]]
            if method["source"] == "gift_card":
                method["amount"] -= payment["amount"]
            elif method["source"] == "certificate":
                user["payment_methods"].pop(payment["payment_id"])
        for instance in instances:
            instance["available_seats"][cabin] -= len(passengers)
        self.state["reservations"][reservation_id] = reservation
        self.state["users"][user_id]["reservations"].append(reservation_id)
        return reservation

    def _check_payments(self, user: dict[str, Any], payments: list[dict[str, Any]],
                        total_price: int) -> None:
        for payment in payments:
            if payment["payment_id"] not in user["payment_methods"]:
                raise ValueError(f"Payment method {payment['payment_id']} not found")
            method = user["payment_methods"][payment["payment_id"]]
            if method["source"] in {"gift_card", "certificate"} and \
                    method["amount"] < payment["amount"]:
                raise ValueError(f"Not enough balance in payment method "
                                 f"{payment['payment_id']}")
        paid = sum(p["amount"] for p in payments)
        if paid != total_price:
            raise ValueError(f"Payment amount does not add up, total price is {total_price}, "
                             f"but paid {paid}")

    def cancel_reservation(self, reservation_id: str) -> dict[str, Any]:
        reservation = self._reservation(reservation_id)
        refunds = [{"payment_id": p["payment_id"], "amount": -p["amount"]}
                   for p in reservation["payment_history"]]
        reservation["payment_history"].extend(refunds)
        reservation["status"] = "cancelled"  # tau2 does not release the seats either
        return reservation

    def send_certificate(self, user_id: str, amount: int) -> str:
        user = self._user(user_id)
        for payment_id in ("certificate_3221322", "certificate_3221323",
                           "certificate_3221324"):
            if payment_id not in user["payment_methods"]:
                user["payment_methods"][payment_id] = {"id": payment_id, "amount": amount,
                                                       "source": "certificate"}
                return f"Certificate {payment_id} added to user {user_id} with amount {amount}."
        raise ValueError("Too many certificates")

    def update_reservation_baggages(self, reservation_id: str, total_baggages: int,
                                    nonfree_baggages: int, payment_id: str) -> dict[str, Any]:
        reservation = self._reservation(reservation_id)
        user = self._user(reservation["user_id"])
        total_price = 50 * max(0, nonfree_baggages - reservation["nonfree_baggages"])
        payment = self._payment_for_update(user, payment_id, total_price)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["total_baggages"] = total_baggages
        reservation["nonfree_baggages"] = nonfree_baggages
        return reservation

    def update_reservation_flights(self, reservation_id: str, cabin: str, flights: list[Any],
                                   payment_id: str) -> dict[str, Any]:
        flights = _models(flights, _FLIGHT_INFO, "flight")
        reservation = self._reservation(reservation_id)
        user = self._user(reservation["user_id"])
        count = len(reservation["passengers"])
        total_price, new_flights = 0, []
        for info in flights:
            same = next((f for f in reservation["flights"]
                         if f["flight_number"] == info["flight_number"]
                         and f["date"] == info["date"] and cabin == reservation["cabin"]),
                        None)
            if same:
                total_price += same["price"] * count
                new_flights.append(same)
                continue
            flight = self._flight(info["flight_number"])
            instance = self._available(info["flight_number"], info["date"], cabin, count)
            segment = {"flight_number": info["flight_number"], "date": info["date"],
                       "price": instance["prices"][cabin], "origin": flight["origin"],
                       "destination": flight["destination"]}
            total_price += segment["price"] * count
            new_flights.append(segment)
        total_price -= sum(f["price"] for f in reservation["flights"]) * count
        payment = self._payment_for_update(user, payment_id, total_price)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["flights"] = new_flights
        reservation["cabin"] = cabin
        return reservation

    def update_reservation_passengers(self, reservation_id: str,
                                      passengers: list[Any]) -> dict[str, Any]:
        passengers = _models(passengers, _PASSENGER, "passenger")
        reservation = self._reservation(reservation_id)
        if len(passengers) != len(reservation["passengers"]):
            raise ValueError("Number of passengers does not match")
        reservation["passengers"] = copy.deepcopy(passengers)
        return reservation
