"""Unit conversion over a bundled factor table (``data/tools/units.json``)."""

from __future__ import annotations

from typing import Literal

from lamstudio.tools._decorator import tool
from lamstudio.tools.builtin._common import finite, load_data, positive, rounded

CATEGORY = "units"
_TABLE = load_data("units")


def _lookup(unit: str) -> tuple[str, str, float]:
    """(quantity, canonical unit, factor to base) for a unit name or alias."""
    key = unit.strip()
    key = _TABLE["aliases"].get(key.lower().replace(" ", "_"), key)
    for quantity, spec in _TABLE["quantities"].items():
        for name, factor in spec["units"].items():
            if key == name or key.lower() == name.lower():
                return quantity, name, factor
    raise ValueError(f"unknown unit {unit!r}; call list_units to see the supported units")


@tool
def convert_units(value: float, from_unit: str, to_unit: str) -> dict:
    """Convert a value between units of length, mass, volume, area, speed, time, data size,
    energy, pressure or power (e.g. km to mi, lb to kg, gal to l, GiB to MB).

    Args:
        value: The amount to convert.
        from_unit: Unit of the value, a symbol such as "km" or a name such as "miles".
        to_unit: Target unit of the same quantity.
    """
    value = finite(value, "value")
    q_from, src, f_from = _lookup(from_unit)
    q_to, dst, f_to = _lookup(to_unit)
    if q_from != q_to:
        raise ValueError(f"cannot convert {q_from} ({src}) to {q_to} ({dst})")
    return {"value": value, "from_unit": src, "to_unit": dst, "quantity": q_from,
            "result": rounded(value * f_from / f_to, 8)}


_TO_KELVIN = {"C": lambda v: v + 273.15, "F": lambda v: (v - 32) * 5 / 9 + 273.15,
              "K": lambda v: v}
_FROM_KELVIN = {"C": lambda k: k - 273.15, "F": lambda k: (k - 273.15) * 9 / 5 + 32,
                "K": lambda k: k}


@tool
def convert_temperature(value: float, from_unit: Literal["C", "F", "K"],
                        to_unit: Literal["C", "F", "K"]) -> dict:
    """Convert a temperature between Celsius, Fahrenheit and Kelvin.

    Args:
        value: The temperature.
        from_unit: Scale of the value: C, F or K.
        to_unit: Target scale: C, F or K.
    """
    kelvin = _TO_KELVIN[from_unit](finite(value, "value"))
    if kelvin < -1e-9:
        raise ValueError(f"{value:g} {from_unit} is below absolute zero")
    return {"value": value, "from_unit": from_unit, "to_unit": to_unit,
            "result": rounded(_FROM_KELVIN[to_unit](kelvin), 4)}


@tool
def list_units(quantity: str | None = None) -> dict:
    """List the supported units, for one quantity or for all of them.

    Args:
        quantity: One of length, mass, volume, area, speed, time, data, energy, pressure,
            power; omit for all.
    """
    table = _TABLE["quantities"]
    if quantity is not None and quantity not in table:
        raise ValueError(f"unknown quantity {quantity!r}; choose from {sorted(table)}")
    chosen = [quantity] if quantity else list(table)
    return {q: {"base": table[q]["base"], "units": list(table[q]["units"])} for q in chosen}


_FUEL = Literal["mpg_us", "mpg_uk", "l_per_100km", "km_per_l"]
_KM_PER_L = {"mpg_us": 1.609344 / 3.785411784, "mpg_uk": 1.609344 / 4.54609, "km_per_l": 1.0}


@tool
def convert_fuel_economy(value: float, from_unit: _FUEL, to_unit: _FUEL) -> dict:
    """Convert fuel economy between miles per US/UK gallon, litres per 100 km and km per
    litre.

    Args:
        value: The fuel economy (positive).
        from_unit: mpg_us, mpg_uk, l_per_100km or km_per_l.
        to_unit: mpg_us, mpg_uk, l_per_100km or km_per_l.
    """
    value = positive(value, "value")
    km_per_l = 100 / value if from_unit == "l_per_100km" else value * _KM_PER_L[from_unit]
    result = 100 / km_per_l if to_unit == "l_per_100km" else km_per_l / _KM_PER_L[to_unit]
    return {"value": value, "from_unit": from_unit, "to_unit": to_unit,
            "result": rounded(result, 4)}


@tool
def calculate_bmi(weight_kg: float, height_m: float) -> dict:
    """Body-mass index (weight / height^2) with its WHO adult category.

    Args:
        weight_kg: Body weight in kilograms.
        height_m: Height in metres, e.g. 1.75.
    """
    weight, height = positive(weight_kg, "weight_kg"), positive(height_m, "height_m")
    if height > 3:
        raise ValueError(f"height_m is in metres; {height:g} m is not a human height")
    bmi = weight / height**2
    category = ("underweight" if bmi < 18.5 else "normal" if bmi < 25
                else "overweight" if bmi < 30 else "obese")
    return {"bmi": rounded(bmi, 1), "category": category}
