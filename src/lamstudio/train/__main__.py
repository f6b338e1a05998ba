"""``python -m lamstudio.train RECIPE [--resume] [--set k=v]``: the entry point for
``accelerate launch -m lamstudio.train`` and ``torchrun -m lamstudio.train``."""

from __future__ import annotations

import typer

from lamstudio.commands.train import train


def main() -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(train)
    app()


if __name__ == "__main__":
    main()
