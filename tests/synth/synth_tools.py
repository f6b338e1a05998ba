"""Tools the synth tests generate for, run in the real sandbox (two categories)."""

from __future__ import annotations

from lamstudio.tools import tool


@tool(category="maths")
def add(a: int, b: int) -> dict:
    """Add two integers.

    Args:
        a: first
        b: second
    """
    return {"sum": a + b}


@tool(category="maths")
def explode(n: int) -> dict:
    """Always raises (an execution failure).

    Args:
        n: any number
    """
    raise RuntimeError(f"exploded on {n}")


@tool(category="words")
def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: the text
    """
    return text.upper()


@tool(category="words")
def count_letters(text: str) -> dict:
    """Count the letters of a text.

    Args:
        text: the text
    """
    return {"letters": sum(ch.isalpha() for ch in text)}
