"""Shared CLI helpers: one console, clean failures, a row progress bar."""

from __future__ import annotations

import contextlib
import enum
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import typer

from lamstudio._console import console, err_console

__all__ = ["all_rejected", "console", "engine_option", "err_console", "fail", "flag",
           "gguf_option", "row_progress"]

ENGINE_HELP = ("transformers (fp32, any HF model; the default) or llamacpp (the model's GGUF "
               "on the CPU, several times faster; needs the llamacpp extra)")


def all_rejected(reasons: Any, inputs: Any, from_format: str) -> str:
    """Why nothing was kept, in one line: the commonest reasons and, when the rows read as
    another format, the ``--from`` that would read them."""
    from lamstudio.sources import sniff_format

    top = ", ".join(f"{code}: {n:,}" for code, n in reasons.most_common(3))
    line = f"every row was rejected ({top})"
    other = sniff_format(inputs[0], exclude=(from_format,)) if inputs else None
    if other:
        line += f"; the rows read as {other!r}: add --from {other}"
    return line


def flag(name: str, help: str) -> Any:  # noqa: A002 - typer's own word
    """An on/off option that is off by default: one spelling (``--no-compare``, never a
    ``--no-no-compare`` twin) and no ``[default: ...]`` to read."""
    return typer.Option(name, help=help, show_default=False)


def engine_option(help: str = ENGINE_HELP) -> Any:  # noqa: A002 - typer's own word
    """``--engine``, the one name of the generation engine in every command; ``--backend``
    (its older name in eval and synth) is the same option."""
    return typer.Option("--engine", "--backend", help=help)


def gguf_option() -> Any:
    """``--gguf FILE``: the GGUF the llamacpp engine runs when --model does not name one."""
    return typer.Option("--gguf", help="llamacpp: the GGUF file to run (default: the "
                                       "--model .gguf, or the file a registered or prepared "
                                       "model comes from)")


class UserStyle(str, enum.Enum):
    """How tau2's simulated user sees the conversation (``lamstudio.eval.SimulatedUser``)."""

    roles = "roles"
    transcript = "transcript"


def user_style_option() -> Any:
    """``--user-style roles|transcript`` (a ``UserStyle``; pass ``.value`` on)."""
    return typer.Option("--user-style",
                        help="tau2: how the user simulator sees the conversation: roles "
                             "(tau2-bench's, the agent's turns as its user turns) or "
                             "transcript (Agent:/Customer: lines in one turn; small models "
                             "that answer flipped roles as the agent speak as the customer)")


def fail(message: str, code: int = 2) -> NoReturn:
    """Exit with one clear message and no traceback."""
    # soft_wrap: a long path in the message stays on one line (copyable, greppable).
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def row_progress(label: str) -> Iterator[Callable[..., Callable[..., None]]]:
    """A rich progress bar on stderr. ``start(total, label=None)`` begins a task (a file, a
    phase) and returns its ``tick(n=1)``; the library stages take such callables."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
                   transient=True, disable=not sys.stderr.isatty())

    def start(total: int | None, name: str | None = None) -> Callable[..., None]:
        task = bar.add_task(name or label, total=total)
        return lambda n=1: bar.advance(task, n)

    with bar:
        yield start
