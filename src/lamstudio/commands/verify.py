"""``lamstudio verify`` (format / execution / semantic / dedup) and ``lamstudio report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lamstudio.commands._common import (
    all_rejected,
    console,
    err_console,
    fail,
    flag,
    row_progress,
)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("report")(report)


def verify(
    inputs: Annotated[list[Path], typer.Argument(help="data files (any format lamstudio reads)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="kept records (.jsonl[.gz])")],
    rejects: Annotated[Path | None, typer.Option(
        help="rejected records with file, line, id, stage, code, message "
             "(default: OUT's stem + .rejects.jsonl)")] = None,
    stages: Annotated[str, typer.Option(
        help="comma-separated stages to run")] = "format,execution,semantic,dedup",
    from_format: Annotated[str, typer.Option("--from", help="format of the inputs")] = "lamstudio",
    tools: Annotated[list[Path] | None, typer.Option(
        "--tools", help="extra tool module (.py) for the execution stage; repeatable")] = None,
    no_builtin_tools: Annotated[bool, flag(
        "--no-builtin-tools", "do not offer lamstudio's built-in tools to the execution stage")
    ] = False,
    skip_unexecutable: Annotated[bool, flag(
        "--skip-unexecutable", "pass (as skipped) records that call tools no module provides, "
                               "instead of rejecting them with no_executable_tool")] = False,
    no_compare: Annotated[bool, flag(
        "--no-compare", "do not compare recorded tool results with fresh ones")] = False,
    exec_timeout: Annotated[float, typer.Option(help="seconds per tool call")] = 5.0,
    workers: Annotated[int, typer.Option(help="processes for the format stage and the "
                                              "tool sandbox")] = 1,
    chunk_size: Annotated[int, typer.Option(help="rows per committed chunk (the unit of "
                                                 "work redone after an interruption)")] = 1000,
    require_calls: Annotated[bool, flag(
        "--require-calls", "records without any tool call fail the format check (IAC)")] = False,
    strict_types: Annotated[bool, flag(
        "--strict-types",
        "reject Python-style schema types (dict, float, ...) instead of mapping them")] = False,
    dedup_threshold: Annotated[float, typer.Option(
        help="Jaccard similarity (word 3-shingles) above which queries are near-duplicates")
    ] = 0.9,
    judge_url: Annotated[str | None, typer.Option(
        help="OpenAI-compatible base URL of the judge (e.g. http://host:8000/v1)")] = None,
    judge_model: Annotated[str | None, typer.Option(help="judge model name")] = None,
    judge_key_env: Annotated[str, typer.Option(
        help="NAME of the environment variable holding the judge's API key")] = "OPENAI_API_KEY",
    judges: Annotated[int, typer.Option(help="committee size: k judge samples, "
                                             "majority vote")] = 1,
    judge_cache: Annotated[Path | None, typer.Option(help="cache directory for judge "
                                                          "responses")] = None,
    judge_timeout: Annotated[float, typer.Option(
        help="deadline per judge request, in seconds (the whole answer, not each read)")] = 60.0,
    summary: Annotated[Path | None, typer.Option(
        help="summary JSON (default: OUT's stem + .summary.json)")] = None,
    restart: Annotated[bool, flag(
        "--restart", "discard an unfinished run's journal instead of resuming it")] = False,
    keep_journal: Annotated[bool, flag("--keep-journal", "keep the journal directory")] = False,
) -> None:
    """Check records (format, execution, semantic judge, dedup); keep or reject each with a
    reason. Interrupted runs resume when the same command is run again."""
    from lamstudio.verify import VerifyConfig

    try:
        cfg = VerifyConfig.from_options(
            stages=stages, from_format=from_format, workers=workers, chunk_size=chunk_size,
            strict_types=strict_types, require_calls=require_calls,
            dedup_threshold=dedup_threshold, skip_unexecutable=skip_unexecutable,
            compare_results=not no_compare, tools=tools or [],
            builtin_tools=not no_builtin_tools, exec_timeout_s=exec_timeout,
            judge_url=judge_url, judge_model=judge_model, judge_key_env=judge_key_env,
            judges=judges, judge_timeout=judge_timeout, judge_cache=judge_cache)
    except ValueError as exc:
        fail(str(exc))
    _run(inputs, output, rejects, cfg, summary, restart, keep_journal)


def _run(inputs: list[Path], output: Path, rejects: Path | None, cfg: Any,
         summary: Path | None, restart: bool, keep_journal: bool) -> None:
    from lamstudio.io import InputError, default_rejects_path
    from lamstudio.llm import LLMError, LLMUnavailable
    from lamstudio.verify import JournalMismatch, journal_dir, verify

    resume = f"{journal_dir(output)}; run the same command again to resume"
    try:
        with row_progress("verifying") as progress:
            result = verify(inputs, output, rejects, cfg, summary=summary, restart=restart,
                            keep_journal=keep_journal, progress=progress)
    except (InputError, JournalMismatch) as exc:
        fail(str(exc))
    except LLMError as exc:  # the judge's fault, never the rows': stop, keep the journal
        what = "is unavailable" if isinstance(exc, LLMUnavailable) else "failed"
        fail(f"the judge {what}: {exc}\nchunks done so far are kept in {journal_dir(output)}; "
             "fix this and run the same command again to resume")
    except KeyboardInterrupt:
        err_console.print(f"[yellow]interrupted[/]: finished chunks are kept in {resume}")
        raise typer.Exit(130) from None
    console.print(result.tally.render())
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", soft_wrap=True)  # one line, greppable
    if result.resumed_chunks:
        console.print(f"resumed after {result.resumed_chunks} committed chunk(s)")
    console.print(f"kept -> {output}\nrejected -> {rejects or default_rejects_path(output)}")
    if result.tally.total.kept == 0:
        load = result.tally.stages.get("load")
        reasons = load.reasons if load and load.rejected else result.tally.total.reasons
        fail(all_rejected(reasons, inputs, cfg.from_format), code=1)


def report(
    data: Annotated[Path, typer.Argument(help="records (lamstudio format, e.g. verify's "
                                              "output)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    rejects: Annotated[Path | None, typer.Option(help="a rejects file to chart")] = None,
    tokenizer: Annotated[Path | None, typer.Option(
        help="tokenizer.json or a local HF tokenizer dir for exact token counts "
             "(default: a regex approximation)")] = None,
    examples: Annotated[int, typer.Option(help="example conversations per category")] = 2,
    from_format: Annotated[str, typer.Option("--from", help="format of DATA")] = "lamstudio",
) -> None:
    """Write one self-contained HTML report (counts, histograms, tools, rejections,
    examples) for a dataset."""
    from lamstudio.io import InputError
    from lamstudio.verify import build_report

    try:
        stats = build_report(data, output, rejects=rejects, tokenizer=tokenizer,
                             examples=examples, from_format=from_format)
    except InputError as exc:
        fail(str(exc))
    console.print(f"report of {stats['records']:,} records -> {output}")
