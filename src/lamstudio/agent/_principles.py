"""PRAct's action principles as one block of the agent's system prompt.

The block is plain text after the task's own system prompt (a policy, a tool note), so the
same principles read the same to any model and any chat template::

    <the task's system prompt>

    # Action principles
    Follow these principles when you act:
    1. Authenticate the user before any write.
    2. Read the order's status before changing it.

No principles: the system prompt is unchanged (the plain agent).

Reflections on earlier attempts (Retroformer's loop, ``lamstudio.optimize``) are a second
block after the principles, in the same shape::

    # Reflections on earlier attempts
    You tried this task before and did not succeed. Use these lessons:
    1. <what the reflector wrote after the failed trial>
"""

from __future__ import annotations

from collections.abc import Sequence

HEADER = "# Action principles\nFollow these principles when you act:"
REFLECTIONS_HEADER = ("# Reflections on earlier attempts\nYou tried this task before and did "
                      "not succeed. Use these lessons:")


def principles_block(principles: Sequence[str], header: str = HEADER) -> str:
    """The numbered block, or "" for none (blank entries are dropped)."""
    lines = [" ".join(p.split()) for p in principles]
    lines = [p for p in lines if p]
    if not lines:
        return ""
    return "\n".join([header, *(f"{i}. {p}" for i, p in enumerate(lines, 1))])


def with_principles(system: str | None, principles: Sequence[str],
                    reflections: Sequence[str] = ()) -> str | None:
    """``system`` with the principles' block (then the reflections' block) after it
    (``system`` as is for none)."""
    blocks = [b for b in (principles_block(principles),
                          principles_block(reflections, REFLECTIONS_HEADER)) if b]
    if system:
        blocks.insert(0, system.rstrip())
    return "\n\n".join(blocks) if blocks else system
