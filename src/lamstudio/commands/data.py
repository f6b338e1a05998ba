"""``lamstudio schema`` / ``formats`` / ``convert``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lamstudio.commands._common import all_rejected, console, fail, row_progress


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
    app.command("formats")(formats)
    app.command("convert")(convert)


def schema() -> None:
    """Print the JSON Schema of the lamstudio record (Trajectory)."""
    from lamstudio.schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


def formats() -> None:
    """List the data formats lamstudio reads and writes."""
    from rich.table import Table

    from lamstudio.sources import FORMATS, get_format

    # A grid, not padded lines: a wrapped description stays in its column, piped or not.
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for name in FORMATS:
        grid.add_row(name, (get_format(name).__doc__ or "").strip().splitlines()[0])
    console.print(grid)


def convert(
    inputs: Annotated[list[Path], typer.Argument(help="input files (JSONL, JSON, .gz, Parquet)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="output file")],
    from_format: Annotated[str, typer.Option("--from", help="format of the inputs")] = "lamstudio",
    to_format: Annotated[str, typer.Option("--to", help="format of the output")] = "lamstudio",
    rejects: Annotated[Path | None, typer.Option(
        help="rejected rows (default: OUT's stem + .rejects.jsonl)")] = None,
    summary: Annotated[Path | None, typer.Option(help="also write the summary as JSON")] = None,
    max_line_mb: Annotated[float, typer.Option(
        help="longer JSONL lines are rejected (line_too_long) without being read")] = 16,
) -> None:
    """Convert agent data between formats; bad rows go to the rejects file with a reason."""
    from lamstudio.io import InputError, atomic_path, default_rejects_path
    from lamstudio.sources import UnknownFormat
    from lamstudio.sources import convert as run_convert

    try:
        with row_progress("converting") as progress:
            tally = run_convert(inputs, from_format, output, rejects, to_format, progress,
                                int(max_line_mb * 1024 * 1024))
    except (InputError, UnknownFormat) as exc:
        fail(str(exc))
    console.print(tally.render())
    console.print(f"kept -> {output}\nrejected -> {rejects or default_rejects_path(output)}")
    if summary:
        with atomic_path(summary) as tmp:
            tmp.write_text(json.dumps(tally.to_dict(), indent=2))
    if tally.kept == 0:
        fail(all_rejected(tally.reasons, inputs, from_format), code=1)
