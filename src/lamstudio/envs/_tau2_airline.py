"""tau2-bench's airline domain over plain dicts: the same checks, in the same order, and the
same writes as ``tau2/domains/airline/tools.py`` (Apache-2.0, from Sierra's MIT
tau-bench). Arguments are checked (and converted) only where tau2's tools build a pydantic
model from them, with the same models (``_tau2_models``): flights, passengers and payments
given as objects, the new reservation, a certificate, a payment for an update; anything
else is used, and stored, as given, as tau2 does. Descriptions for the model come from
tau2's own schemas."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from lamstudio.envs._tau2_base import Tau2Env
from lamstudio.envs._tau2_models import (
    Certificate,
    FlightInfo,
    Passenger,
    Payment,
    Reservation,
    ReservationFlight,
    dumped,
    models_if_all_dicts,
)

_NOW = "2024-05-15T15:00:00"  # tau2's fixed clock
_AIRPORTS = [("SFO", "San Francisco"), ("JFK", "New York"), ("LAX", "Los Angeles"),
             ("ORD", "Chicago"), ("DFW", "Dallas"), ("DEN", "Denver"), ("SEA", "Seattle"),
             ("ATL", "Atlanta"), ("MIA", "Miami"), ("BOS", "Boston"), ("PHX", "Phoenix"),
             ("IAH", "Houston"), ("LAS", "Las Vegas"), ("MCO", "Orlando"),
             ("EWR", "Newark"), ("CLT", "Charlotte"), ("MSP", "Minneapolis"),
             ("DTW", "Detroit"), ("PHL", "Philadelphia"), ("LGA", "LaGuardia")]


def _plain(values: Any) -> Any:
    """What tau2 stores from a list it may have turned into models: the models as data,
    anything else (a string where a passenger belongs) as it came."""
    values = copy.deepcopy(values)
    if isinstance(values, list):
        return [dumped(v) if isinstance(v, BaseModel) else v for v in values]
    return values


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
            # tau2's order: an origin that matches no flight never looks at the date (so a
            # list for a date is no error then).
            if ((origin is None or f["origin"] == origin)
                    and (destination is None or f["destination"] == destination)
                    and date in f["dates"] and f["dates"][date]["status"] == "available"
                    and (leave_after is None
                         or f["scheduled_departure_time_est"] >= leave_after)):
                day = f["dates"][date]
                out.append({k: f[k] for k in ("flight_number", "origin", "destination")}
                           | {"status": "available",
                              "scheduled_departure_time_est": f["scheduled_departure_time_est"],
                              "scheduled_arrival_time_est": f["scheduled_arrival_time_est"],
                              "date": None, "available_seats": day["available_seats"],
                              "prices": day["prices"]})
        return out

    def _payment_for_update(self, user: dict[str, Any], payment_id: str,
                            total_price: float) -> dict[str, Any] | None:
        if payment_id not in user["payment_methods"]:
            raise ValueError("Payment method not found")
        method = user["payment_methods"][payment_id]
        if method["source"] == "certificate":
            raise ValueError("Certificate cannot be used to update reservation")
        if method["source"] == "gift_card" and method["amount"] < total_price:
            raise ValueError("Gift card balance is not enough")
        if method["source"] == "gift_card":
            method["amount"] -= total_price
        # tau2 builds the Payment (a whole amount) only now: a fractional total (0.25 more
        # non-free bags: 12.5) is refused after the gift card was debited, as in tau2.
        if total_price == 0:
            return None
        return dumped(Payment(payment_id=payment_id, amount=total_price))

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
        flights = models_if_all_dicts(flights, FlightInfo)
        passengers = models_if_all_dicts(passengers, Passenger)
        payments = models_if_all_dicts(payment_methods, Payment)
        user = self._user(user_id)
        reservation_id = next((r for r in ("HATHAT", "HATHAU", "HATHAV")
                               if r not in self.state["reservations"]), None)
        if reservation_id is None:
            raise ValueError("Too many reservations")
        # tau2's Reservation model checks (and converts) every scalar argument here.
        reservation = dumped(Reservation(
            reservation_id=reservation_id, user_id=user_id, origin=origin,
            destination=destination, flight_type=flight_type, cabin=cabin, flights=[],
            passengers=passengers, payment_history=payments, created_at=_NOW,
            total_baggages=total_baggages, nonfree_baggages=nonfree_baggages,
            insurance=insurance))
        total_price, instances = 0, []
        for info in flights:
            flight = self._flight(info.flight_number)
            instance = self._available(info.flight_number, info.date, cabin, len(passengers))
            reservation["flights"].append(dumped(ReservationFlight(
                flight_number=info.flight_number, origin=flight["origin"],
                destination=flight["destination"], date=info.date,
                price=instance["prices"][cabin])))
            instances.append(instance)
            total_price += instance["prices"][cabin] * len(passengers)
        if insurance == "yes":
            total_price += 30 * len(passengers)
        total_price += 50 * nonfree_baggages  # the argument as given (tau2: "1" fails here)
        self._check_payments(user, payments, total_price)
        for payment in payments:
            method = user["payment_methods"][payment.payment_id]
            if method["source"] == "gift_card":
                method["amount"] -= payment.amount
            elif method["source"] == "certificate":
                user["payment_methods"].pop(payment.payment_id)
        for instance in instances:
            instance["available_seats"][cabin] -= len(passengers)
        self.state["reservations"][reservation_id] = reservation
        self.state["users"][user_id]["reservations"].append(reservation_id)
        return reservation

    def _check_payments(self, user: dict[str, Any], payments: list[Payment],
                        total_price: float) -> None:
        for payment in payments:
            if payment.payment_id not in user["payment_methods"]:
                raise ValueError(f"Payment method {payment.payment_id} not found")
            method = user["payment_methods"][payment.payment_id]
            if method["source"] in {"gift_card", "certificate"} and \
                    method["amount"] < payment.amount:
                raise ValueError(f"Not enough balance in payment method {payment.payment_id}")
        paid = sum(p.amount for p in payments)
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
                # tau2's Certificate model: the amount a float ("100" -> 100.0, None refused)
                user["payment_methods"][payment_id] = dumped(Certificate(
                    id=payment_id, amount=amount, source="certificate"))
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
        # tau2 assigns these to its model unchecked (no validate_assignment): kept as given.
        reservation["total_baggages"] = total_baggages
        reservation["nonfree_baggages"] = nonfree_baggages
        return reservation

    def update_reservation_flights(self, reservation_id: str, cabin: str, flights: list[Any],
                                   payment_id: str) -> dict[str, Any]:
        flights = models_if_all_dicts(flights, FlightInfo)
        reservation = self._reservation(reservation_id)
        user = self._user(reservation["user_id"])
        count = len(reservation["passengers"])
        total_price, new_flights = 0, []
        for info in flights:
            same = next((f for f in reservation["flights"]
                         if f["flight_number"] == info.flight_number
                         and f["date"] == info.date and cabin == reservation["cabin"]),
                        None)
            if same:
                total_price += same["price"] * count
                new_flights.append(same)
                continue
            flight = self._flight(info.flight_number)
            instance = self._available(info.flight_number, info.date, cabin, count)
            segment = dumped(ReservationFlight(
                flight_number=info.flight_number, origin=flight["origin"],
                destination=flight["destination"], date=info.date,
                price=instance["prices"][cabin]))
            total_price += segment["price"] * count
            new_flights.append(segment)
        total_price -= sum(f["price"] for f in reservation["flights"]) * count
        payment = self._payment_for_update(user, payment_id, total_price)
        if payment is not None:
            reservation["payment_history"].append(payment)
        reservation["flights"] = new_flights
        reservation["cabin"] = cabin  # unchecked in tau2 too (no flight needs it if none new)
        return reservation

    def update_reservation_passengers(self, reservation_id: str,
                                      passengers: list[Any]) -> dict[str, Any]:
        passengers = models_if_all_dicts(passengers, Passenger)
        reservation = self._reservation(reservation_id)
        if len(passengers) != len(reservation["passengers"]):
            raise ValueError("Number of passengers does not match")
        reservation["passengers"] = _plain(passengers)
        return reservation
