"""The ``lamstudio`` command: a thin layer over the stage packages."""

from __future__ import annotations

import importlib
import sys

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
    "lamstudio.commands.agent",
    "lamstudio.commands.serve",
    "lamstudio.commands.synth_mt",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


_EVAL_SUBCOMMANDS = {"run", "score", "compare"}


def _eval_shorthand(argv: list[str]) -> list[str]:
    """``lamstudio eval --model M --suite S`` means ``lamstudio eval run ...``."""
    if len(argv) > 1 and argv[0] == "eval" and argv[1] not in _EVAL_SUBCOMMANDS \
            and argv[1] not in ("--help", "-h"):
        return ["eval", "run", *argv[1:]]
    return argv


def main() -> None:
    app(args=_eval_shorthand(sys.argv[1:]), prog_name="lamstudio")


if __name__ == "__main__":
    main()
