"""Arithmetic and number theory."""

from __future__ import annotations

import math

from lamstudio.tools._decorator import tool

CATEGORY = "math"


@tool
def is_prime(n: int) -> dict:
    """Check whether an integer is a prime number.

    Args:
        n: The integer to test.
    """
    if n < 2:
        return {"n": n, "is_prime": False}
    return {"n": n, "is_prime": all(n % d for d in range(2, math.isqrt(n) + 1))}
