"""The one error the models package raises: its message is the whole story for the user."""

from __future__ import annotations


class ModelError(ValueError):
    """A model name, path or file that cannot be used, with what to do about it."""
