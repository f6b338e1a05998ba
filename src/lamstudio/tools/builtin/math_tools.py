"""Arithmetic and number theory."""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

from lamstudio.tools._decorator import tool
from lamstudio.tools.builtin._common import finite, rounded

CATEGORY = "math"

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "tan": math.tan,
              "asin": math.asin, "acos": math.acos, "atan": math.atan, "log": math.log,
              "log10": math.log10, "log2": math.log2, "exp": math.exp, "abs": abs,
              "round": round, "floor": math.floor, "ceil": math.ceil}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _evaluate(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        # Keep a hostile "9**9**9" from burning the CPU budget.
        if isinstance(node.op, ast.Pow) and abs(right) > 1000:
            raise ValueError("exponents above 1000 are not supported")
        return _BINARY[type(node.op)](left, right)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS and not node.keywords):
        return _FUNCTIONS[node.func.id](*[_evaluate(a) for a in node.args])
    raise ValueError(f"unsupported expression element: {ast.dump(node)[:60]}")


@tool
def evaluate_expression(expression: str) -> dict:
    """Evaluate an arithmetic expression safely (numbers, + - * / // % **, parentheses,
    functions such as sqrt, sin, log, and the constants pi and e).

    Args:
        expression: The expression, e.g. "2 * (3 + 4) ** 2 / sqrt(16)".
    """
    if not expression.strip() or len(expression) > 500:
        raise ValueError("expression must be non-empty and at most 500 characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"not a valid arithmetic expression: {expression!r}") from None
    try:
        value = _evaluate(tree)
    except ZeroDivisionError:
        raise ValueError("division by zero") from None
    except (OverflowError, TypeError) as exc:
        raise ValueError(f"cannot evaluate: {exc}") from None
    if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError("the result is not a finite real number")
    return {"expression": expression, "result": value if isinstance(value, int)
            else rounded(value, 10)}


@tool
def is_prime(n: int) -> dict:
    """Check whether an integer is a prime number.

    Args:
        n: The integer to test (at most 10^12).
    """
    if abs(n) > 10**12:
        raise ValueError("n must be at most 10^12 in absolute value")
    if n < 2:
        return {"n": n, "is_prime": False}
    return {"n": n, "is_prime": all(n % d for d in range(2, math.isqrt(n) + 1))}


@tool
def prime_factors(n: int) -> dict:
    """Factor an integer greater than 1 into primes.

    Args:
        n: The integer to factor (2 to 10^12).
    """
    if not 2 <= n <= 10**12:
        raise ValueError(f"n must be between 2 and 10^12, got {n}")
    factors, rest, d = [], n, 2
    while d * d <= rest:
        while rest % d == 0:
            factors.append(d)
            rest //= d
        d += 1 if d == 2 else 2
    if rest > 1:
        factors.append(rest)
    return {"n": n, "factors": factors}


@tool
def greatest_common_divisor(numbers: list[int]) -> dict:
    """Greatest common divisor of two or more integers.

    Args:
        numbers: The integers, e.g. [48, 180, 64].
    """
    if len(numbers) < 2:
        raise ValueError("numbers needs at least two integers")
    return {"numbers": numbers, "gcd": math.gcd(*numbers)}


@tool
def least_common_multiple(numbers: list[int]) -> dict:
    """Least common multiple of two or more integers.

    Args:
        numbers: The integers, e.g. [4, 6, 10].
    """
    if len(numbers) < 2:
        raise ValueError("numbers needs at least two integers")
    return {"numbers": numbers, "lcm": math.lcm(*numbers)}


@tool
def solve_quadratic(a: float, b: float, c: float) -> dict:
    """Solve a*x^2 + b*x + c = 0 for real and complex roots.

    Args:
        a: Coefficient of x^2 (not zero).
        b: Coefficient of x.
        c: Constant term.
    """
    a, b, c = finite(a, "a"), finite(b, "b"), finite(c, "c")
    if a == 0:
        raise ValueError("a must not be 0 (that is a linear equation)")
    disc = b * b - 4 * a * c
    if disc >= 0:
        r = math.sqrt(disc)
        roots = sorted({rounded((-b - r) / (2 * a)), rounded((-b + r) / (2 * a))})
        return {"discriminant": rounded(disc), "roots": roots, "complex": False}
    real, imag = rounded(-b / (2 * a)), rounded(math.sqrt(-disc) / (2 * abs(a)))
    return {"discriminant": rounded(disc), "complex": True,
            "roots": [{"real": real, "imag": -imag}, {"real": real, "imag": imag}]}


@tool
def factorial(n: int) -> dict:
    """Factorial n! of a non-negative integer.

    Args:
        n: The integer (0 to 170).
    """
    if not 0 <= n <= 170:
        raise ValueError(f"n must be between 0 and 170, got {n}")
    return {"n": n, "factorial": math.factorial(n)}


@tool
def binomial_coefficient(n: int, k: int) -> dict:
    """Number of ways to choose k items from n ("n choose k").

    Args:
        n: Size of the set (0 to 1000).
        k: Number of items chosen (0 to n).
    """
    if not 0 <= n <= 1000 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n <= 1000, got n={n}, k={k}")
    return {"n": n, "k": k, "combinations": math.comb(n, k)}


@tool
def fibonacci(n: int) -> dict:
    """The first n Fibonacci numbers, starting 0, 1, 1, 2, ...

    Args:
        n: How many numbers (1 to 200).
    """
    if not 1 <= n <= 200:
        raise ValueError(f"n must be between 1 and 200, got {n}")
    seq = [0, 1]
    while len(seq) < n:
        seq.append(seq[-1] + seq[-2])
    return {"n": n, "sequence": seq[:n]}


@tool
def convert_number_base(number: str, from_base: int, to_base: int) -> dict:
    """Convert an integer written in one base (2-36) into another base.

    Args:
        number: The digits, e.g. "ff" or "-1011".
        from_base: Base of the input (2 to 36).
        to_base: Base of the output (2 to 36).
    """
    for name, base in (("from_base", from_base), ("to_base", to_base)):
        if not 2 <= base <= 36:
            raise ValueError(f"{name} must be between 2 and 36, got {base}")
    try:
        value = int(number.strip(), from_base)
    except ValueError:
        raise ValueError(f"{number!r} is not a base-{from_base} integer") from None
    digits, rest = "", abs(value)
    while True:
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest % to_base] + digits
        rest //= to_base
        if rest == 0:
            break
    return {"input": number, "decimal": value, "result": ("-" if value < 0 else "") + digits}


@tool
def percentage(part: float, whole: float) -> dict:
    """What percentage part is of whole.

    Args:
        part: The part, e.g. 45.
        whole: The whole (not zero), e.g. 180.
    """
    part, whole = finite(part, "part"), finite(whole, "whole")
    if whole == 0:
        raise ValueError("whole must not be 0")
    return {"part": part, "whole": whole, "percentage": rounded(100 * part / whole, 4)}
