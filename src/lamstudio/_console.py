"""The two rich consoles every part of lamstudio prints to (results on stdout, progress and
warnings on stderr). Library code and the CLI share them; neither owns the other."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=False)
err_console = Console(stderr=True)
