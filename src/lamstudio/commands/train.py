"""``lamstudio train`` / ``export`` / ``build-tokenizer`` / ``build-model``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from lamstudio.commands._common import console, fail, flag


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("export")(export)
    app.command("build-tokenizer")(build_tokenizer)
    app.command("build-model")(build_model)


def train(
    recipe: Annotated[Path, typer.Argument(help="YAML recipe (see recipes/)")],
    resume: Annotated[bool, flag(
        "--resume", "continue from the last checkpoint in the run dir")] = False,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", help="override a recipe key, e.g. --set train.lr=1e-4 (repeatable)")] = None,
) -> None:
    """Fine-tune a model (LoRA, QLoRA or full) on a mix of sources.

    Multi-GPU / multi-node (or torchrun; each rank reads a disjoint shard):
    accelerate launch --config_file recipes/accelerate/ddp.yaml -m lamstudio.train RECIPE
    """
    from lamstudio.train import ConfigError, TrainError, load_config
    from lamstudio.train import train as run_train

    try:
        cfg = load_config(recipe, overrides or [])
        result = run_train(cfg, resume=resume)
    except (ConfigError, TrainError) as exc:
        fail(str(exc))
    if result.is_main:
        console.print(f"[green]done[/]: {result.steps} steps, final model -> {result.final_dir}")


def export(
    source: Annotated[str, typer.Argument(
        help="a run directory written by lamstudio train; with --gguf also a model folder, "
             "a registered name or a .gguf file")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="output model directory (with --gguf: the folder for the files)")],
    checkpoint: Annotated[str | None, typer.Option(
        help="a checkpoint dir inside the run (default: the final model)")] = None,
    gguf: Annotated[list[str] | None, typer.Option(
        "--gguf", help="write GGUF files for llama.cpp instead: f32 | f16 | bf16 | q8_0 | "
                       "q4_k_m | q4_k_s | q5_k_m | q6_k (repeat it or give a comma list; the "
                       "k-quants need llama-cpp-python)")] = None,
    name: Annotated[str | None, typer.Option(
        help="with --gguf: the file names' stem (default: the source's folder name)")] = None,
) -> None:
    """Merge LoRA weights into the base model; save a standalone model + tokenizer, or
    (--gguf) GGUF files OUT/<name>-<type>.gguf that llama.cpp and transformers load."""
    from lamstudio.train import TrainError, export_gguf
    from lamstudio.train import export as run_export

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        if gguf:
            files = export_gguf(source, output, gguf, checkpoint=checkpoint, name=name)
        else:
            out = run_export(source, output, checkpoint=checkpoint)
    except TrainError as exc:
        fail(str(exc))
    if not gguf:
        console.print(f"[green]exported[/] -> {out}")
        return
    for f in files:
        console.print(f"[green]exported[/] {f.type}: {f.path} ({f.size / 1e6:,.1f} MB, "
                      f"{f.seconds:.0f} s)", soft_wrap=True)


def build_tokenizer(
    data: Annotated[list[Path], typer.Argument(help="data files (JSONL / JSON / Parquet)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="tokenizer directory")],
    vocab: Annotated[int, typer.Option("--vocab", help="target vocabulary size")] = 8000,
    data_format: Annotated[str, typer.Option("--from", help="format of the data")] = "lamstudio",
    old_format: Annotated[str | None, typer.Option("--format", hidden=True)] = None,
) -> None:
    """Train a byte-level BPE tokenizer on the text of the records (offline)."""
    from lamstudio.io import InputError
    from lamstudio.sources import UnknownFormat, get_format
    from lamstudio.train import train_tokenizer

    try:
        fmt = get_format(old_format or data_format)  # --format: the old spelling
    except UnknownFormat as exc:
        fail(str(exc))
    rejected = 0

    def count(_: object) -> None:
        nonlocal rejected
        rejected += 1

    def records() -> object:
        for path in data:
            yield from fmt.load(path, on_reject=count)

    try:
        tok = train_tokenizer(records(), vocab, output)
    except (InputError, ValueError) as exc:
        fail(str(exc))
    note = "" if len(tok) >= vocab else " (the data ran out of merges before the target)"
    console.print(f"[green]tokenizer[/]: {len(tok):,} tokens{note} -> {output}"
                  + (f"; {rejected} invalid rows skipped" if rejected else ""))


def build_model(
    output: Annotated[Path, typer.Option("-o", "--output", help="model directory")],
    tokenizer: Annotated[Path, typer.Option(help="tokenizer directory")],
    size: Annotated[str, typer.Option(help="nano | tiny | small (lamstudio.train.SIZES)")
                    ] = "tiny",
    seed: Annotated[int, typer.Option(help="initialisation seed")] = 0,
) -> None:
    """Build a randomly initialised Llama-architecture model for a tokenizer (offline)."""
    from lamstudio.train import SIZES, count_params
    from lamstudio.train import build_model as run_build

    if size not in SIZES:
        fail(f"unknown size {size!r}; choose one of: {', '.join(SIZES)}")
    if not (tokenizer / "tokenizer_config.json").is_file():
        fail(f"{tokenizer}: not a tokenizer directory (no tokenizer_config.json)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = run_build(size, tokenizer, output, seed=seed)
    console.print(f"[green]model[/]: {size}, {count_params(model) / 1e6:.2f}M parameters "
                  f"-> {output}")
