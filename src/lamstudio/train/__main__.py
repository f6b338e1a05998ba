"""``python -m lamstudio.train RECIPE [--resume] [--set k=v]``: the entry point for
``accelerate launch -m lamstudio.train`` and ``torchrun -m lamstudio.train``.

Every rank runs this; it parses the same three options as ``lamstudio train`` with argparse
so the library never imports the CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lamstudio._console import console, err_console
from lamstudio.train import ConfigError, TrainError, load_config, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lamstudio.train",
                                     description="Fine-tune a model from a YAML recipe.")
    parser.add_argument("recipe", type=Path, help="YAML recipe (see recipes/)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the last checkpoint in the run dir")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a recipe key (repeatable)")
    args = parser.parse_args(argv)
    try:
        result = train(load_config(args.recipe, args.overrides), resume=args.resume)
    except (ConfigError, TrainError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        return 2
    if result.is_main:
        console.print(f"[green]done[/]: {result.steps} steps, final model -> {result.final_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
