"""``lamstudio eval run`` / ``score`` / ``compare``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lamstudio.commands._common import console, err_console, fail, row_progress

SUITE_HELP = ("bfcl:CATEGORY[,CATEGORY...] (also bfcl:all, bfcl:single_turn, bfcl:ast, "
              "bfcl:multi_turn) or a JSONL file of lamstudio records")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Evaluate tool-calling models (BFCL-grade checking, reports).",
                      no_args_is_help=True)
    sub.command("run")(run)
    sub.command("score")(score)
    sub.command("compare")(compare)
    app.add_typer(sub, name="eval")


def _load(suite: str, limit: int | None) -> list[Any]:
    from lamstudio.eval._suite import SuiteError, load_suite

    try:
        cases = load_suite(suite, limit)
    except SuiteError as exc:
        fail(str(exc))
    if not cases:
        fail(f"suite {suite!r} has no cases")
    return cases


def _finish(out: Path, model: str, suite: str, cases: list[Any], preds: dict[str, Any],
            write_predictions: bool) -> None:
    from lamstudio.eval._outputs import write_outputs
    from lamstudio.eval._report import summary_tables
    from lamstudio.eval._score import score_all, summarize

    with row_progress("scoring") as start:
        results = score_all(cases, preds, start(len(cases)))
    summary = summarize(results, model, suite)
    paths = write_outputs(out, model, results, summary, preds, write_predictions)
    for table in summary_tables(summary):
        console.print(table)
    for what, path in paths.items():
        console.print(f"{what:<12} -> {path}")


def run(
    model: Annotated[str, typer.Option(help="local model path/name, or the served model name")],
    suite: Annotated[str, typer.Option(help=SUITE_HELP)],
    backend: Annotated[str, typer.Option(help="transformers | openai")] = "transformers",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (…/v1)")]
    = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="output folder")] = Path("out/eval"),
    limit: Annotated[int | None, typer.Option(help="first N cases of each category")] = None,
    batch_size: Annotated[int, typer.Option(help="generation batch (transformers)")] = 8,
    max_new_tokens: Annotated[int, typer.Option(help="tokens generated per step")] = 256,
    max_steps: Annotated[int, typer.Option(help="model steps per multi-turn turn")] = 6,
) -> None:
    """Run a model on a suite, score it, and write results, BFCL files and a report."""
    from lamstudio.eval._run import OpenAIGenerator, TransformersGenerator, run_cases

    cases = _load(suite, limit)
    if backend == "openai":
        if not base_url:
            fail("--backend openai needs --base-url")
        generate: Any = OpenAIGenerator(base_url, model, max_new_tokens)
    elif backend == "transformers":
        try:
            generate = TransformersGenerator(model, batch_size, max_new_tokens)
        except OSError as exc:
            fail(f"cannot load model {model!r}: {exc}")
    else:
        fail(f"unknown backend {backend!r}; choose transformers or openai")
    with row_progress("generating") as start:
        preds = run_cases(cases, generate, max_steps, start(len(cases)))
    _finish(out, model, suite, cases, preds, write_predictions=True)


def score(
    suite: Annotated[str, typer.Option(help=SUITE_HELP)],
    predictions: Annotated[Path, typer.Option(help="JSONL: {id, output} | {id, calls} | "
                                                   "{id, turns}")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output folder")] = Path("out/eval"),
    model: Annotated[str, typer.Option(help="name shown in reports")] = "predictions",
    limit: Annotated[int | None, typer.Option(help="first N cases of each category")] = None,
) -> None:
    """Score outputs produced elsewhere (no model needed)."""
    from lamstudio.eval._score import read_predictions
    from lamstudio.io import InputError

    cases = _load(suite, limit)
    try:
        preds, problems = read_predictions(predictions)
    except InputError as exc:
        fail(str(exc))
    for p in problems[:20]:
        err_console.print(f"[yellow]skipped[/] {p}")
    if problems:
        err_console.print(f"{len(problems)} prediction line(s) unreadable: their cases "
                          "score as missing_prediction")
    known = {c.id for c in cases}
    stray = [i for i in preds if i not in known]
    if stray:
        err_console.print(f"[yellow]{len(stray)} prediction(s) match no case of the suite "
                          f"(e.g. {stray[0]!r})[/]")
    _finish(out, model, suite, cases, preds, write_predictions=False)


def compare(
    a: Annotated[Path, typer.Argument(help="results.jsonl (or its folder) of run A")],
    b: Annotated[Path, typer.Argument(help="results.jsonl (or its folder) of run B")],
) -> None:
    """Two runs side by side: accuracy per category, delta, cases fixed / broken."""
    from lamstudio.eval._report import compare_table, load_results

    try:
        ra, rb = load_results(a), load_results(b)
    except (OSError, ValueError) as exc:
        fail(f"cannot read results: {exc}")
    console.print(compare_table(ra, rb, str(a), str(b)))
