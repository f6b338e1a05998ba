"""The agent's one error for "this item is not usable": a reject with a code and a field."""

from __future__ import annotations


class TaskError(ValueError):
    """A row that is not a task; ``code`` and ``field`` go to the rejects file."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.code, self.field = code, field
