"""``lamstudio augment``: options -> ``AugmentConfig`` -> ``lamstudio.augment.augment``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lamstudio.commands._common import console, fail, flag


def register(app: typer.Typer) -> None:
    app.command("augment")(augment_cmd)


def augment_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="data files")],
    output: Annotated[Path, typer.Option("-o", "--output", help="records (.jsonl[.gz])")],
    rejects: Annotated[Path | None, typer.Option(help="rows that did not load")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    copies: Annotated[int, typer.Option(help="augmented copies per record")] = 1,
    no_original: Annotated[bool, flag("--no-original", "write only the copies")] = False,
    shuffle_tools: Annotated[float, typer.Option(help="probability per copy")] = 1.0,
    rephrase_system: Annotated[float, typer.Option(help="probability per copy")] = 0.5,
    distractors: Annotated[float, typer.Option(help="probability per copy")] = 0.5,
    max_distractors: Annotated[int, typer.Option(help="distractor tools added at most")] = 3,
    irrelevance: Annotated[float, typer.Option(help="probability per copy")] = 0.1,
    rename_parameters: Annotated[float, typer.Option(help="probability per copy")] = 0.0,
    tools: Annotated[list[Path] | None, typer.Option(
        "--tools", help="tool module (.py) for distractors; repeatable")] = None,
    tool_file: Annotated[list[Path] | None, typer.Option(
        help="JSON / JSONL of tool schemas for distractors; repeatable")] = None,
    no_builtin_tools: Annotated[bool, flag("--no-builtin-tools",
                                          "no built-in distractors")] = False,
    from_format: Annotated[str, typer.Option("--from", help="format of the inputs")
                           ] = "lamstudio",
) -> None:
    """Augment function-calling data (xLAM's recipe), deterministic for a seed.

    Tool order, system prompt, distractor tools, irrelevance cases, parameter renaming."""
    from lamstudio.augment import AugmentConfig, augment
    from lamstudio.io import InputError

    try:
        cfg = AugmentConfig(seed=seed, copies=copies, keep_original=not no_original,
                            shuffle_tools=shuffle_tools, rephrase_system=rephrase_system,
                            distractors=distractors, max_distractors=max_distractors,
                            irrelevance=irrelevance, rename_parameters=rename_parameters,
                            builtin_tools=not no_builtin_tools,
                            tool_modules=tuple(map(str, tools or [])),
                            tool_files=tuple(map(str, tool_file or [])), from_format=from_format)
        result = augment(inputs, output, rejects, cfg)
    except (InputError, ValueError) as exc:
        fail(str(exc))
    ops = ", ".join(f"{k} {v}" for k, v in result.applied.most_common()) or "none"
    console.print(f"read {result.read} = passed {result.passed} + rejected {result.rejected}; "
                  f"wrote {result.written} ({result.copies} augmented copies; {ops}) -> "
                  f"{output}")
