"""Helpers shared by the built-in tools: bundled data, argument checks, date parsing."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "tools"


@cache
def load_data(name: str) -> dict[str, Any]:
    """A bundled table from ``lamstudio/data/tools/<name>.json``."""
    with open(DATA_DIR / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


def finite(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def positive(value: float, name: str, allow_zero: bool = False) -> float:
    value = finite(value, name)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, "
                         f"got {value:g}")
    return value


def numbers(values: list[float], name: str, min_len: int = 1) -> list[float]:
    if len(values) < min_len:
        raise ValueError(f"{name} needs at least {min_len} value(s), got {len(values)}")
    return [finite(v, f"{name}[{i}]") for i, v in enumerate(values)]


def rounded(value: float, digits: int = 6) -> float:
    """Round for stable, readable results (binary floats otherwise leak 1e-16 noise)."""
    return round(value, digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def parse_date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"{name} must be an ISO date such as 2024-05-01, got {text!r}") from None


def parse_datetime(text: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ValueError(f"{name} must be an ISO date-time such as 2024-05-01T14:30, "
                         f"got {text!r}") from None


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, AttributeError):
        raise ValueError(f"{field} must be an IANA time zone such as Europe/Paris, "
                         f"got {name!r}") from None
