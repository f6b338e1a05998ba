"""Tools the execution tests run in the real sandbox."""

from __future__ import annotations

import time

from lamstudio.tools import tool


@tool
def add(a: float, b: float) -> dict:
    """Add two numbers.

    Args:
        a: first
        b: second
    """
    return {"sum": a + b, "inputs": [a, b]}


@tool
def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: the text
    """
    return text.upper()


@tool
def explode(reason: str) -> dict:
    """Always raises.

    Args:
        reason: the message
    """
    raise RuntimeError(reason)


@tool
def refuse(item: str) -> dict:
    """Returns an error payload instead of raising.

    Args:
        item: anything
    """
    return {"error": f"no such item: {item}"}


@tool
def nap(seconds: float) -> dict:
    """Sleeps.

    Args:
        seconds: how long
    """
    time.sleep(seconds)
    return {"slept": seconds}
