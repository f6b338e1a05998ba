"""PRAct's action principles as one block of the agent's system prompt.

The block is plain text after the task's own system prompt (a policy, a tool note), so the
same principles read the same to any model and any chat template::

    <the task's system prompt>

    # Action principles
    Follow these principles when you act:
    1. Authenticate the user before any write.
    2. Read the order's status before changing it.

No principles: the system prompt is unchanged (the plain agent).
"""

from __future__ import annotations

from collections.abc import Sequence

HEADER = "# Action principles\nFollow these principles when you act:"


def principles_block(principles: Sequence[str]) -> str:
    """The numbered block, or "" for none (blank entries are dropped)."""
    lines = [" ".join(p.split()) for p in principles]
    lines = [p for p in lines if p]
    if not lines:
        return ""
    return "\n".join([HEADER, *(f"{i}. {p}" for i, p in enumerate(lines, 1))])


def with_principles(system: str | None, principles: Sequence[str]) -> str | None:
    """``system`` with the principles' block after it (``system`` as is for none)."""
    block = principles_block(principles)
    if not block:
        return system
    return f"{system.rstrip()}\n\n{block}" if system else block
