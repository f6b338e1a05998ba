"""Descriptive statistics, percentiles, correlation and simple regression."""

from __future__ import annotations

import math
import statistics

from lamstudio.tools._decorator import tool
from lamstudio.tools.builtin._common import finite, numbers, positive, rounded

CATEGORY = "statistics"


@tool
def describe_data(values: list[float]) -> dict:
    """Summary statistics of a list of numbers: count, mean, median, mode, sample standard
    deviation and variance, minimum, maximum and range.

    Args:
        values: The numbers (at least one).
    """
    data = numbers(values, "values")
    spread = len(data) > 1
    return {
        "count": len(data), "mean": rounded(statistics.fmean(data)),
        "median": rounded(statistics.median(data)), "mode": rounded(statistics.mode(data)),
        "std_dev": rounded(statistics.stdev(data)) if spread else 0.0,
        "variance": rounded(statistics.variance(data)) if spread else 0.0,
        "min": min(data), "max": max(data), "range": rounded(max(data) - min(data)),
    }


@tool
def percentile(values: list[float], q: float) -> dict:
    """The q-th percentile of a list of numbers (linear interpolation between ranks).

    Args:
        values: The numbers (at least one).
        q: Percentile between 0 and 100, e.g. 90.
    """
    data = sorted(numbers(values, "values"))
    q = finite(q, "q")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, got {q:g}")
    pos = (len(data) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    value = data[low] + (data[high] - data[low]) * (pos - low)
    return {"q": q, "percentile": rounded(value)}


def _pairs(x: list[float], y: list[float]) -> tuple[list[float], list[float]]:
    x, y = numbers(x, "x", 2), numbers(y, "y", 2)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length ({len(x)} != {len(y)})")
    if len(set(x)) == 1:
        raise ValueError("x must not be constant")
    return x, y


@tool
def linear_regression(x: list[float], y: list[float]) -> dict:
    """Least-squares line y = slope * x + intercept, with the coefficient of determination.

    Args:
        x: Independent values (at least two, not all equal).
        y: Dependent values, same length as x.
    """
    x, y = _pairs(x, y)
    slope, intercept = statistics.linear_regression(x, y)
    mean_y = statistics.fmean(y)
    ss_tot = sum((v - mean_y) ** 2 for v in y)
    ss_res = sum((v - (slope * u + intercept)) ** 2 for u, v in zip(x, y, strict=True))
    r2 = 1.0 if ss_tot == 0 else 1 - ss_res / ss_tot
    return {"slope": rounded(slope), "intercept": rounded(intercept), "r_squared": rounded(r2)}


@tool
def correlation(x: list[float], y: list[float]) -> dict:
    """Pearson correlation coefficient between two equally long lists.

    Args:
        x: First variable (at least two values, not constant).
        y: Second variable (same length, not constant).
    """
    x, y = _pairs(x, y)
    if len(set(y)) == 1:
        raise ValueError("y must not be constant")
    return {"pearson_r": rounded(statistics.correlation(x, y))}


@tool
def z_score(value: float, mean: float, std_dev: float) -> dict:
    """How many standard deviations a value lies from the mean.

    Args:
        value: The observation.
        mean: Mean of the distribution.
        std_dev: Standard deviation (positive).
    """
    value, mean = finite(value, "value"), finite(mean, "mean")
    std_dev = positive(std_dev, "std_dev")
    return {"z_score": rounded((value - mean) / std_dev)}


@tool
def moving_average(values: list[float], window: int) -> dict:
    """Simple moving average over a sliding window.

    Args:
        values: The series.
        window: Window length (1 to the length of the series).
    """
    data = numbers(values, "values")
    if not 1 <= window <= len(data):
        raise ValueError(f"window must be between 1 and {len(data)}, got {window}")
    sums = [sum(data[i:i + window]) / window for i in range(len(data) - window + 1)]
    return {"window": window, "averages": [rounded(s) for s in sums]}


@tool
def weighted_average(values: list[float], weights: list[float]) -> dict:
    """Weighted mean of values.

    Args:
        values: The values.
        weights: Non-negative weights, same length as values, not all zero.
    """
    data, w = numbers(values, "values"), numbers(weights, "weights")
    if len(data) != len(w):
        raise ValueError(f"values and weights must have the same length ({len(data)} != {len(w)})")
    if any(v < 0 for v in w) or sum(w) == 0:
        raise ValueError("weights must be non-negative and not all zero")
    return {"weighted_average": rounded(sum(a * b for a, b in zip(data, w, strict=True))
                                        / sum(w))}
