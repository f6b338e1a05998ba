"""The pydantic models tau2's tools build from their arguments, declared once.

tau2 validates nothing when a tool is called (``use_tool(**arguments)`` calls the method);
its arguments meet pydantic only where a tool builds one of its data models from them
(``Passenger(**p)``, ``Reservation(...)``, ``Certificate(amount=...)``, ``UserAddress(...)``,
``Payment(amount=total)``). There pydantic's lax mode refuses some values (``None``, a
number for a string, ``0.5`` for an int) and converts others (``"100"`` -> 100, ``2.0`` ->
2, ``"100"`` -> 100.0 for a float); everywhere else the value goes on as given. The models
below have tau2's names, fields and types (``tau2/domains/*/data_model.py``), so a refusal
reads as tau2's does, and the tools use them at the same points as tau2's tools.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


def dumped(model: BaseModel) -> dict[str, Any]:
    """A validated model as the plain data the environments keep (unset optionals left
    out, as db.json does)."""
    return model.model_dump(exclude_none=True)


def models_if_all_dicts(values: Any, model: type[BaseModel]) -> Any:
    """tau2's ``if all(isinstance(x, dict) for x in xs): xs = [Model(**x) for x in xs]``:
    converted (extra keys dropped) only when every element is an object; otherwise the
    value goes on as given, and fails wherever tau2's does."""
    if all(isinstance(v, dict) for v in values):
        return [model(**v) for v in values]
    return values


# -- retail --
class UserAddress(BaseModel):
    address1: str
    address2: str
    city: str
    country: str
    state: str
    zip: str


# -- airline --
class FlightInfo(BaseModel):
    flight_number: str
    date: str


class Passenger(BaseModel):
    first_name: str
    last_name: str
    dob: str


class Payment(BaseModel):
    payment_id: str
    amount: int


class ReservationFlight(BaseModel):
    flight_number: str
    origin: str
    destination: str
    date: str
    price: int


class Certificate(BaseModel):
    id: str
    amount: float
    source: Literal["certificate"]


class Reservation(BaseModel):
    reservation_id: str
    user_id: str
    origin: str
    destination: str
    flight_type: Literal["round_trip", "one_way"]
    cabin: Literal["business", "economy", "basic_economy"]
    flights: list[ReservationFlight]
    passengers: list[Passenger]
    payment_history: list[Payment]
    created_at: str
    total_baggages: int
    nonfree_baggages: int
    insurance: Literal["yes", "no"]
    status: Literal["cancelled"] | None = None
