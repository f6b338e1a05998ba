"""``lamstudio inspect``: see what training will see — rendered samples with the trained
tokens highlighted, trained/total counts, and the template checker."""

from __future__ import annotations

import os
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer

from lamstudio.commands._common import console, fail, flag

_ELIDE = 600  # masked runs longer than this are shown as head … tail


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect)


def inspect(
    data: Annotated[Path, typer.Argument(help="records (JSONL, JSON, .gz, Parquet)")],
    model: Annotated[str, typer.Option(
        "--model", help="model or tokenizer folder, registered name (models list) or .gguf")],
    n: Annotated[int, typer.Option("--samples", "-n", help="samples to print")] = 3,
    template: Annotated[str, typer.Option(
        help="auto (the model's if it renders tools, else chatml_tools for a ChatML model, "
             "else default) | default | chatml_tools | model")] = "auto",
    from_format: Annotated[str, typer.Option("--from", help="format of DATA")] = "lamstudio",
    last_turn_only: Annotated[bool, flag(
        "--last-turn-only", "train on the last assistant turn only")] = False,
    check: Annotated[int, typer.Option(
        help="records to run the template checker on (0 = all)")] = 200,
    full: Annotated[bool, flag("--full", "do not shorten long masked spans")] = False,
) -> None:
    """Print rendered samples (trained tokens green, masked dim) and check the template.

    The checks: nothing trained outside assistant turns, inference prompts identical to the
    training prefixes, rendered calls parse back to the record's calls. Exit 1 if one fails.
    """
    if template not in ("auto", "default", "chatml_tools", "model"):
        fail(f"--template must be auto, default, chatml_tools or model, not {template!r}")
    records = _records(data, from_format)
    renderer = _renderer(model, template)
    limit = None if check <= 0 else max(check, n)

    from lamstudio.render import check_record

    totals: Counter[str] = Counter()
    failures: list[Any] = []
    for k, t in enumerate(islice(records.iter(), limit)):
        try:
            enc = renderer.encode(t, last_turn_only=last_turn_only)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next record
            failures.append(f"{t.id}: {exc} [{getattr(exc, 'code', 'render_error')}]")
            totals["render_errors"] += 1
            continue
        totals["records"] += 1
        totals["tokens"] += len(enc)
        totals["trained"] += enc.n_trained
        if k < n:
            _show(renderer, t, enc, full)
        found = [] if last_turn_only else check_record(renderer, t, enc)
        totals["checked"] += 1
        failures += found
    _summary(renderer, records, totals, failures, last_turn_only)
    if failures:
        raise typer.Exit(1)


def _renderer(name: str, template: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lamstudio.models import ModelError, resolve_model

    try:
        model = Path(resolve_model(name))
    except ModelError as exc:
        fail(f"--model: {exc}")
    import warnings

    from rich.markup import escape
    from transformers import AutoTokenizer

    from lamstudio.render import Renderer

    try:
        tok = AutoTokenizer.from_pretrained(str(model), local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any load failure is a user error here
        fail(f"--model {model}: cannot load a tokenizer ({type(exc).__name__}: {exc})")
    use_model = {"auto": None, "default": False, "model": True}.get(template)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            renderer = (Renderer(tok, template=template) if template == "chatml_tools"
                        else Renderer(tok, use_model_template=use_model))
    except ValueError as exc:
        fail(f"--model {model}: {exc}")
    for w in caught:
        console.print(f"[yellow]warning:[/] {escape(str(w.message))}")
    return renderer


class _Records:
    """Streams records from DATA and counts what the reader rejected."""

    def __init__(self, path: Path, fmt: str) -> None:
        from lamstudio.sources import UnknownFormat, get_format

        try:
            self.path, self.module = path, get_format(fmt)
        except UnknownFormat as exc:
            fail(str(exc))
        self.rejects: list[Any] = []

    def iter(self) -> Any:
        from lamstudio.io import InputError

        try:
            yield from self.module.load(self.path, on_reject=self.rejects.append)
        except InputError as exc:
            fail(str(exc))


def _records(path: Path, fmt: str) -> _Records:
    from lamstudio.io import InputError, check_input

    try:  # before loading a model
        check_input(path)
    except InputError as exc:
        fail(str(exc))
    return _Records(path, fmt)


def _show(renderer: Any, t: Any, enc: Any, full: bool) -> None:
    from rich.rule import Rule
    from rich.text import Text

    text, _ = renderer.render_with_spans(t)
    _, offsets = renderer.tokenize_text(text)  # as training tokenizes it (forged tokens too)
    runs: list[tuple[bool, int, int]] = []  # (trained, start, end) in characters
    for k, (start, _) in enumerate(offsets[: len(enc.labels)]):
        end = offsets[k + 1][0] if k + 1 < len(offsets) else len(text)
        trained = enc.labels[k] != -100
        if runs and runs[-1][0] == trained:
            runs[-1] = (trained, runs[-1][1], end)
        else:
            runs.append((trained, start, end))
    out = Text()
    for trained, a, b in runs:
        piece = text[a:b]
        if not trained and not full and len(piece) > _ELIDE:
            keep = _ELIDE // 2 - 20
            out.append(piece[:keep], style="dim")
            out.append(f" … {len(piece) - 2 * keep} chars … ", style="italic yellow")
            out.append(piece[-keep:], style="dim")
        else:
            out.append(piece, style="bold green" if trained else "dim")
    share = enc.n_trained / max(1, len(enc))
    console.print(Rule(f"{t.id} · {t.source or '-'} · {renderer.template_name} template · "
                       f"{enc.n_trained}/{len(enc)} tokens trained ({share:.0%})"
                       + (" · truncated" if enc.truncated else "")))
    console.print(out)


def _summary(renderer: Any, records: _Records, totals: Counter[str], failures: list[Any],
             last_turn_only: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="inspect", show_header=False)
    table.add_row("template", renderer.template_name)
    table.add_row("records rendered", str(totals["records"]))
    table.add_row("rejected by the reader", str(len(records.rejects)))
    table.add_row("render errors", str(totals["render_errors"]))
    table.add_row("tokens", f"{totals['tokens']:,}")
    share = totals["trained"] / max(1, totals["tokens"])
    table.add_row("trained tokens", f"{totals['trained']:,} ({share:.1%})")
    checked = "skipped (--last-turn-only)" if last_turn_only else str(totals["checked"])
    table.add_row("records checked", checked)
    codes = Counter(getattr(f, "code", "render_error") for f in failures)
    table.add_row("check failures", ", ".join(f"{c}: {k}" for c, k in codes.items()) or "none")
    console.print(table)
    for r in records.rejects[:5]:
        console.print(f"[yellow]rejected[/] {escape(f'{r.file}:{r.line}: {r.message}')}")
    for f in failures[:10]:
        console.print(f"[red]FAIL[/] {escape(str(f))}")
    if not failures:
        console.print("[bold green]all template checks passed[/]")
