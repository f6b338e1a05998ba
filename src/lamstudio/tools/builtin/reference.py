"""Lookups over small bundled tables: chemical elements and currencies.

Exchange rates are a FIXED reference table (``data/tools/currencies.json``, rounded
mid-2020s levels), not live market data: the same call always gives the same answer,
which is what training-data synthesis and evaluation need.
"""

from __future__ import annotations

import re

from lamstudio.tools._decorator import tool
from lamstudio.tools.builtin._common import load_data, positive

CATEGORY = "reference"
_ELEMENTS = load_data("elements")["elements"]
_BY_SYMBOL = {e["symbol"]: e for e in _ELEMENTS}
_CURRENCIES = {c["code"]: c for c in load_data("currencies")["currencies"]}
_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*)|(\()|(\))(\d*)|(\S)")


def _element(query: str | int) -> dict:
    text = str(query).strip()
    for row in _ELEMENTS:
        if text.isdigit() and int(text) == row["number"]:
            return row
        if text == row["symbol"] or text.lower() in (row["name"].lower(), row["symbol"].lower()):
            return row
    if text.lower() == "aluminum":  # US spelling
        return _BY_SYMBOL["Al"]
    if text.lower() == "cesium":
        return _BY_SYMBOL["Cs"]
    raise ValueError(f"unknown element {query!r}; use a name, symbol or atomic number")


def _period_group(number: int) -> tuple[int, int | None]:
    starts = [1, 3, 11, 19, 37, 55, 87, 119]
    period = next(p for p, s in enumerate(starts[1:], 1) if number < s)
    offset = number - starts[period - 1]
    size = starts[period] - starts[period - 1]
    if size == 2:
        return period, 1 if offset == 0 else 18
    if size == 8:
        return period, offset + 1 if offset < 2 else offset + 11
    if size == 18:
        return period, offset + 1
    # Periods 6 and 7: the 14 f-block elements after La/Ac have no group.
    if offset < 3:
        return period, offset + 1
    if offset < 17:
        return period, None
    return period, offset - 13


@tool
def get_element_info(element: str) -> dict:
    """Atomic number, symbol, name, standard atomic mass, period and group of a chemical
    element.

    Args:
        element: Name, symbol or atomic number, e.g. "iron", "Fe" or "26".
    """
    row = _element(element)
    period, group = _period_group(row["number"])
    return {"name": row["name"], "symbol": row["symbol"], "atomic_number": row["number"],
            "atomic_mass": row["atomic_mass"], "period": period, "group": group,
            "radioactive": row["radioactive"]}


def _parse_formula(formula: str) -> dict[str, int]:
    stack: list[dict[str, int]] = [{}]
    for symbol, count, opening, closing, group_count, junk in _TOKEN.findall(formula):
        if junk:
            raise ValueError(f"unexpected character {junk!r} in formula {formula!r}")
        if opening:
            stack.append({})
        elif closing:
            if len(stack) == 1:
                raise ValueError(f"unbalanced ')' in formula {formula!r}")
            inner, times = stack.pop(), int(group_count or 1)
            for sym, n in inner.items():
                stack[-1][sym] = stack[-1].get(sym, 0) + n * times
        else:
            if symbol not in _BY_SYMBOL:
                raise ValueError(f"unknown element symbol {symbol!r} in formula {formula!r}")
            stack[-1][symbol] = stack[-1].get(symbol, 0) + int(count or 1)
    if len(stack) != 1 or not stack[0]:
        raise ValueError(f"not a valid chemical formula: {formula!r}")
    return stack[0]


@tool
def calculate_molar_mass(formula: str) -> dict:
    """Molar mass of a chemical formula, with the atom count per element. Parentheses are
    supported, e.g. "Ca(OH)2" or "C6H12O6".

    Args:
        formula: The formula, with element symbols in their usual capitalisation.
    """
    if len(formula) > 200:
        raise ValueError("formula must be at most 200 characters")
    atoms = _parse_formula(formula.strip())
    mass = sum(_BY_SYMBOL[s]["atomic_mass"] * n for s, n in atoms.items())
    return {"formula": formula, "molar_mass_g_per_mol": round(mass, 3), "atoms": atoms}


def _currency(code: str) -> dict:
    key = code.strip().upper()
    if key not in _CURRENCIES:
        raise ValueError(f"no reference rate for currency {code!r}; supported: "
                         f"{', '.join(sorted(_CURRENCIES))}")
    return _CURRENCIES[key]


@tool
def convert_currency(amount: float, from_currency: str, to_currency: str) -> dict:
    """Convert an amount between currencies using the bundled FIXED reference rates (not
    live market rates).

    Args:
        amount: The amount to convert (non-negative).
        from_currency: ISO 4217 code of the amount, e.g. "USD".
        to_currency: ISO 4217 code to convert to, e.g. "EUR".
    """
    amount = positive(amount, "amount", allow_zero=True)
    src, dst = _currency(from_currency), _currency(to_currency)
    rate = dst["per_usd"] / src["per_usd"]
    return {"amount": amount, "from_currency": src["code"], "to_currency": dst["code"],
            "rate": round(rate, 6), "converted_amount": round(amount * rate, 2),
            "rates_are": "fixed reference rates, not live"}


@tool
def get_currency_info(currency: str) -> dict:
    """Name, symbol and fixed reference rate (units per US dollar) of a currency.

    Args:
        currency: ISO 4217 code, e.g. "JPY".
    """
    row = _currency(currency)
    return {"code": row["code"], "name": row["name"], "symbol": row["symbol"],
            "reference_units_per_usd": row["per_usd"]}
