"""The ``lamstudio`` command: a thin layer over the stage packages."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="lamstudio",
    help="Build large action models: data -> verify -> train -> evaluate -> serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module registers its commands; heavy imports (torch) happen inside the commands.
COMMAND_MODULES = [
    "lamstudio.commands.data",
    "lamstudio.commands.train",
    "lamstudio.commands.verify",
    "lamstudio.commands.inspect",
    "lamstudio.commands.eval",
    "lamstudio.commands.quickstart",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
