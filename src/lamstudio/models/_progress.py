"""The status line for the slow parts (dequantizing, hashing a large file)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator


@contextlib.contextmanager
def status(message: str, show: bool, done: bool = True) -> Iterator[None]:
    """A rich spinner on stderr (dequantizing takes 15-70 s), then a line with the time."""
    if not show:
        yield
        return
    from rich.console import Console

    console = Console(file=sys.stderr)  # this stream, even while stderr is redirected
    start = time.monotonic()
    with console.status(message):
        yield
    if done:
        console.print(f"{message.split(':')[0]}: done in {time.monotonic() - start:.0f} s",
                      soft_wrap=True)
