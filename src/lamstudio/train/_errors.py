"""The one error type the train CLI turns into a clean message."""

from __future__ import annotations


class TrainError(RuntimeError):
    """A run that cannot start or continue: bad data, wrong device, missing checkpoint."""
