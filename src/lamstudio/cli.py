"""The ``lamstudio`` command: a thin layer over the stage packages."""

from __future__ import annotations

import importlib
import inspect
import sys

import typer

# Names only commands that exist (tests/commands/test_cli.py checks it against the registry and
# pyproject's description).
PIPELINE = ("Build large action models (tool-calling LLMs): convert -> verify -> synth -> "
            "augment -> train -> eval -> serve -> agent.")

app = typer.Typer(
    name="lamstudio",
    help=PIPELINE,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module registers its commands; heavy imports (torch) happen inside the commands.
COMMAND_MODULES = [
    "lamstudio.commands.data",
    "lamstudio.commands.train",
    "lamstudio.commands.verify",
    "lamstudio.commands.synth",
    "lamstudio.commands.augment",
    "lamstudio.commands.inspect",
    "lamstudio.commands.eval",
    "lamstudio.commands.quickstart",
    "lamstudio.commands.agent",
    "lamstudio.commands.serve",
    "lamstudio.commands.models",
    "lamstudio.commands.optimize",
]


def _flags_take_no_value() -> None:
    """typer >= 0.2x prints ``<bool>`` after every flag (``--help`` too), as if it took a
    value; a flag takes none, so show no type for it."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None:  # older typer: nothing to hide
        return

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def _one_line_summaries(typer_app: typer.Typer) -> None:
    """A command's summary in a list is its docstring's first paragraph on one line (typer
    keeps the docstring's line breaks there, which wrap mid-sentence)."""
    for info in typer_app.registered_commands:
        doc = info.help or (info.callback.__doc__ if info.callback else None)
        if info.short_help is None and doc:
            info.short_help = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _one_line_summaries(group.typer_instance)


_flags_take_no_value()
for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)
_one_line_summaries(app)


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
