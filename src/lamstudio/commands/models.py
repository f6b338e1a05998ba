"""``lamstudio models list`` / ``models prepare``: base models by name."""

from __future__ import annotations

from typing import Annotated

import typer

from lamstudio.commands._common import console, fail

_VERIFY_HELP = ("hash every file of the prepared folder (~1 s per 100 MB); by default "
                "sizes are checked, and a file is hashed only when its mtime changed")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Base models by name: list them, prepare them once (offline).",
                      no_args_is_help=True)
    sub.command("list")(list_models)
    sub.command("prepare")(prepare)
    app.add_typer(sub, name="models")


def list_models(
    verify: Annotated[bool, typer.Option("--verify", help=_VERIFY_HELP)] = False,
) -> None:
    """Registered models: providing package(s), installed? (parts found, for a model split
    across packages), prepared?, folder, size."""
    from rich.table import Table

    from lamstudio.models import model_status, models_home

    statuses = model_status(verify=verify, progress=True)
    table = Table(title=f"models (prepared under {models_home()})")
    for col in ("name", "package", "installed", "prepared", "path", "size"):
        table.add_column(col, overflow="fold")
    for s in statuses:
        e = s.entry
        state = "yes" if s.prepared else "[red]damaged[/]" if s.damage else "no"
        table.add_row(e.name, f"{e.package}=={e.version}", s.installed_label,
                      state, str(s.path) if s.prepared or s.damage else "-",
                      f"{s.size_bytes / 1e6:,.0f} MB" if s.prepared else "-")
    console.print(table)
    for s in statuses:
        if s.damage:
            console.print(f"{s.entry.name}: {s.path}: damaged ({s.damage}); rebuild it: "
                          f"lamstudio models prepare {s.entry.name} --force", soft_wrap=True)
        if not s.installed:
            console.print(f"{s.entry.name}: {s.entry.pip}", soft_wrap=True)


def prepare(
    name: Annotated[str, typer.Argument(help="a registered name (see models list) or a "
                                             ".gguf file")],
    force: Annotated[bool, typer.Option("--force", help="rebuild even if prepared")] = False,
    verify: Annotated[bool, typer.Option("--verify", help=_VERIFY_HELP)] = False,
) -> None:
    """Convert a model once into a normal HF folder in the cache (a no-op when done)."""
    from lamstudio.models import REGISTRY, ModelError, prepare_gguf
    from lamstudio.models import prepare as run_prepare

    try:
        if name in REGISTRY:
            path = run_prepare(name, force=force, verify=verify)
        elif name.lower().endswith(".gguf"):
            path = prepare_gguf(name, force=force, verify=verify)
        else:
            fail(f"unknown model name {name!r} (registered: {', '.join(REGISTRY)}; or a "
                 ".gguf file)")
    except ModelError as exc:
        fail(str(exc))
    console.print(f"[green]ready[/]: {name} -> {path}", soft_wrap=True)
