"""``lamstudio synth apigen``: options -> ``ApigenConfig`` -> ``lamstudio.synth.apigen``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lamstudio.commands._common import (
    console,
    engine_option,
    err_console,
    fail,
    flag,
    gguf_option,
    row_progress,
)

synth_app = typer.Typer(help="Synthesize data: APIGen single-turn (apigen) and multi-turn "
                                 "(apigen-mt).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """One ``synth`` group: ``apigen`` here and ``apigen-mt`` (``commands.synth_mt``)."""
    from lamstudio.commands.synth_mt import mt_app

    synth_app.add_typer(mt_app, name="apigen-mt")
    app.add_typer(synth_app, name="synth")


def _pairs(items: list[str] | None, what: str, kind: type) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = kind(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            fail(f"{what} {item!r}: expected NAME=NUMBER")
    return out


def _kind(engine: str) -> str:
    """An ``--engine`` as a ``BackendConfig.kind`` (transformers keeps its journal name,
    ``local``, so unfinished runs still resume)."""
    from lamstudio.llm import engine_name

    name = engine_name(engine)
    return "local" if name == "transformers" else name


@synth_app.command("apigen")
def apigen_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="kept records (.jsonl)")],
    n: Annotated[int, typer.Option(help="generations to attempt")] = 100,
    seed: Annotated[int, typer.Option(help="seed of the plan and of sampling")] = 0,
    backend: Annotated[str, engine_option(
        "generator: openai (any compatible URL), transformers (a local model; 'local' is "
        "its old name) or llamacpp (the local model's GGUF on the CPU)")] = "openai",
    model: Annotated[str, typer.Option(help="model name at the URL, or a local registry "
                                            "name / folder")] = "smollm2-135m",
    url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL "
                                                 "(e.g. http://host:8000/v1)")] = None,
    key_env: Annotated[str, typer.Option(help="NAME of the environment variable holding the "
                                              "API key")] = "OPENAI_API_KEY",
    adapter: Annotated[str | None, typer.Option(help="PEFT adapter folder (local)")] = None,
    gguf: Annotated[str | None, gguf_option()] = None,
    judge_backend: Annotated[str | None, typer.Option(
        "--judge-engine", "--judge-backend",
        help="judge: openai, transformers or llamacpp (default: no judge unless --judge-url "
             "is given)")] = None,
    judge_model: Annotated[str | None, typer.Option(help="judge model")] = None,
    judge_url: Annotated[str | None, typer.Option(help="judge base URL")] = None,
    judge_key_env: Annotated[str, typer.Option(help="NAME of the judge's key variable")
                             ] = "OPENAI_API_KEY",
    judges: Annotated[int, typer.Option(help="committee size (k votes, majority)")] = 1,
    style: Annotated[list[str] | None, typer.Option(
        help="STYLE=WEIGHT (simple, multiple, parallel, parallel_multiple, irrelevance); "
             "repeatable; default: a built-in mix")] = None,
    tools: Annotated[list[Path] | None, typer.Option(
        "--tools", help="tool module (.py) to sample from and execute; repeatable")] = None,
    tool_file: Annotated[list[Path] | None, typer.Option(
        help="JSON / JSONL of tool schemas (xlam-60k, BFCL, OpenAI specs); repeatable")] = None,
    no_builtin_tools: Annotated[bool, flag("--no-builtin-tools",
                                           "leave out lamstudio's built-in tools")] = False,
    quota: Annotated[list[str] | None, typer.Option(
        help="CATEGORY=COUNT generations for a tool category; repeatable")] = None,
    seeds: Annotated[Path | None, typer.Option(help="few-shot seed records (lamstudio "
                                                    "JSONL; default: bundled)")] = None,
    examples: Annotated[int, typer.Option(help="seed examples per prompt")] = 2,
    prompts: Annotated[Path | None, typer.Option(help="prompt templates JSON (default: "
                                                      "bundled pool)")] = None,
    temperature: Annotated[float, typer.Option()] = 0.7,
    top_p: Annotated[float, typer.Option()] = 0.95,
    max_tokens: Annotated[int, typer.Option()] = 384,
    concurrency: Annotated[int, typer.Option(help="requests in flight")] = 8,
    batch_size: Annotated[int, typer.Option(help="local engine: requests per batch")] = 8,
    threads: Annotated[int | None, typer.Option(
        help="local engine: CPU threads (transformers: torch's default, and 1 was 10x faster "
             "than 2 on a busy 2-core machine; llamacpp: the cores)")] = None,
    chunk_size: Annotated[int, typer.Option(help="generations per committed chunk")] = 64,
    stages: Annotated[str, typer.Option(help="checks to run")] = "format,execution,semantic,dedup",
    cache: Annotated[Path | None, typer.Option(help="response cache directory")] = None,
    restart: Annotated[bool, flag("--restart", "discard an unfinished run's journal")] = False,
) -> None:
    """Generate verified single-turn function-calling data (APIGen).

    Sample tools, a query style and seed examples; prompt the generator; parse; check
    (format, execution, semantic, dedup); keep or reject with a reason; write a yield
    report. Resumes when re-run."""
    from lamstudio.io import InputError
    from lamstudio.llm import LLMError
    from lamstudio.synth import (
        DEFAULT_STYLE_WEIGHTS,
        ApigenConfig,
        ApigenConfigError,
        BackendConfig,
        apigen,
    )
    from lamstudio.verify import JournalMismatch, journal_dir

    cache_dir = str(cache) if cache else None
    try:
        gen = BackendConfig(_kind(backend), model, url, key_env, adapter, cache_dir,
                            batch_size=batch_size, threads=threads, gguf=gguf)
        judge = None
        if judge_backend or judge_url:
            judge = BackendConfig(_kind(judge_backend or "openai"), judge_model or model,
                                  judge_url, judge_key_env, cache_dir=cache_dir,
                                  batch_size=batch_size, threads=threads,
                                  gguf=gguf if judge_model in (None, model) else None)
        cfg = ApigenConfig(
            output=str(output), generator=gen, n=n, seed=seed, judge=judge, judge_k=judges,
            styles=_pairs(style, "--style", float) or dict(DEFAULT_STYLE_WEIGHTS),
            builtin_tools=not no_builtin_tools, tool_modules=tuple(map(str, tools or [])),
            tool_files=tuple(map(str, tool_file or [])),
            quotas={k: int(v) for k, v in _pairs(quota, "--quota", int).items()},
            seed_file=str(seeds) if seeds else None, n_examples=examples,
            prompts_file=str(prompts) if prompts else None, temperature=temperature,
            top_p=top_p, max_tokens=max_tokens, concurrency=concurrency, chunk_size=chunk_size,
            stages=tuple(s.strip() for s in stages.split(",") if s.strip()))
    except ApigenConfigError as exc:
        fail(str(exc))
    try:
        with row_progress("generating") as progress:
            result = apigen(cfg, restart=restart, progress=progress)
    except (InputError, JournalMismatch, ValueError) as exc:
        fail(str(exc))
    except LLMError as exc:
        fail(f"{exc}\nchunks done so far are kept in {journal_dir(output)}; run the same "
             "command again to resume")
    except KeyboardInterrupt:
        err_console.print(f"[yellow]interrupted[/]: finished chunks are kept in "
                          f"{journal_dir(output)}; run the same command again to resume")
        raise typer.Exit(130) from None
    console.print(result.tally.render("style"))
    console.print(result.tally.render("category"))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    t = result.tally
    console.print(f"generated {t.generated} = kept {t.kept} + rejected {t.rejected} in "
                  f"{result.seconds:.1f} s\nkept -> {result.output}\nrejected -> "
                  f"{result.rejects}\nreport -> {result.report}")
