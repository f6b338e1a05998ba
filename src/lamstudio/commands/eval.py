"""``lamstudio eval run`` / ``score`` / ``compare``: options mapped onto ``lamstudio.eval``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lamstudio.commands._common import (
    ENGINE_HELP,
    UserStyle,
    console,
    engine_option,
    err_console,
    fail,
    flag,
    gguf_option,
    row_progress,
    user_style_option,
)
from lamstudio.commands.optimize import load_principles

SUITE_HELP = ("bfcl:CATEGORY[,CATEGORY...] (also bfcl:all, bfcl:single_turn, bfcl:ast, "
              "bfcl:multi_turn), tau2:retail[:SPLIT] / tau2:airline[:SPLIT] (multi-turn "
              "with a simulated user), env:store / env:todo (lamstudio's environment "
              "tasks), or a JSONL file of lamstudio records")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Evaluate tool-calling models (BFCL-grade checking, reports).",
                      no_args_is_help=True)
    sub.command("run")(run)
    sub.command("score")(score)
    sub.command("compare")(compare)
    app.add_typer(sub, name="eval")


def _show(result: Any) -> None:
    from lamstudio.eval import summary_tables

    for table in summary_tables(result.summary):
        console.print(table)
    for what, path in result.paths.items():
        console.print(f"{what:<12} -> {path}")


def run(
    suite: Annotated[str, typer.Option(help=SUITE_HELP)],
    model: Annotated[str | None, typer.Option(
        help="local model path/name, or the served model name (not with --committee)")]
    = None,
    backend: Annotated[str, engine_option(f"{ENGINE_HELP}, or openai (the model at "
                                          "--base-url)")] = "transformers",
    gguf: Annotated[str | None, gguf_option()] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (…/v1)")]
    = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="output folder")] = Path("out/eval"),
    limit: Annotated[int | None, typer.Option(help="first N cases of each category")] = None,
    batch_size: Annotated[int, typer.Option(help="generation batch (transformers)")] = 8,
    max_new_tokens: Annotated[int, typer.Option(help="tokens generated per step")] = 256,
    max_steps: Annotated[int, typer.Option(help="model steps per multi-turn turn")] = 6,
    allow_download: Annotated[bool, typer.Option(
        "--allow-download", help="let --model be a hub id (lamstudio is offline otherwise)")]
    = False,
    user_model: Annotated[str | None, typer.Option(help="tau2: the user simulator's model")]
    = None,
    user_base_url: Annotated[str | None, typer.Option(
        help="tau2: the user simulator's OpenAI-compatible URL (default: --base-url)")] = None,
    user_style: Annotated[UserStyle, user_style_option()] = UserStyle.roles,
    trials: Annotated[int, typer.Option(help="tau2: trials per task (pass^1..pass^k)")] = 1,
    concurrency: Annotated[int, typer.Option(
        min=1, help="tau2/env suites: episodes played at once (1 for a local server that "
                    "keeps one cached prompt prefix)")] = 4,
    principles: Annotated[Path | None, typer.Option(
        help="tau2/env suites: action principles (PRAct) after the policy in the agent's system "
             "prompt: optimize rpo's best.json, or a JSON list of strings")] = None,
    reflect: Annotated[bool, flag("--reflect", "tau2/env suites: after a failed trial a "
                                  "reflector writes a reflection the next trial sees; "
                                  "reported beside plain pass^k")] = False,
    reflector_model: Annotated[str | None, typer.Option(
        help="--reflect: the reflector's model (default: the agent's)")] = None,
    reflector_base_url: Annotated[str | None, typer.Option(
        help="--reflect: the reflector's URL (default: --base-url)")] = None,
    committee: Annotated[Path | None, typer.Option(
        help="tau2/env suites: a DEI committee YAML (members, optional selector)")] = None,
    selector_model: Annotated[str | None, typer.Option(
        help="--committee: the LLM selector's model (overrides the file's)")] = None,
    selector_base_url: Annotated[str | None, typer.Option(
        help="--committee: the selector's URL (default: --base-url)")] = None,
) -> None:
    """Run a model on a suite, score it, and write results, BFCL files and a report."""
    from lamstudio.eval import EvalError, evaluate

    if reflect or committee or suite.startswith("env:"):
        from lamstudio.commands._eval_optimize import OptimizeOptions, run_optimized

        run_optimized(OptimizeOptions(
            model, suite, backend, base_url, gguf, out, limit, max_steps, max_new_tokens,
            user_model, user_base_url, trials, reflect, reflector_model, reflector_base_url,
            committee, selector_model, selector_base_url, load_principles(principles),
            user_style=user_style.value, concurrency=concurrency))
        return
    if not model:
        fail("--model is required")
    if suite.startswith("tau2:"):
        _run_tau2(model, suite, backend, base_url, out, limit, max_steps, user_model,
                  user_base_url, trials, gguf, load_principles(principles),
                  user_style.value, concurrency)
        return
    if principles is not None:
        fail("--principles applies to tau2 suites (and to agent run): single-turn suites "
             "have no agent system prompt to put them in")

    try:
        with row_progress("eval") as start:
            result = evaluate(model, suite, backend=backend, base_url=base_url, out=out,
                              limit=limit, batch_size=batch_size, max_new_tokens=max_new_tokens,
                              max_steps=max_steps, progress=lambda what, n: start(n, what),
                              allow_download=allow_download, gguf=gguf)
    except EvalError as exc:
        fail(str(exc))
    _show(result)


def _run_tau2(model: str, suite: str, backend: str, base_url: str | None, out: Path,
              limit: int | None, max_steps: int, user_model: str | None,
              user_base_url: str | None, trials: int, gguf: str | None,
              principles: tuple[str, ...] = (), user_style: str = "roles",
              concurrency: int = 4) -> None:
    from lamstudio.agent import open_backend
    from lamstudio.envs import Tau2Unavailable
    from lamstudio.eval import Tau2Config, Tau2SuiteError, evaluate_tau2
    from lamstudio.llm import LLMError

    if backend == "openai" and not base_url:
        fail("--backend openai needs --base-url")
    if not user_model:
        fail("tau2 suites need a user simulator: pass --user-model (a model at "
             "--user-base-url, default --base-url; or a local model)")
    engine = "transformers" if backend == "openai" else backend
    try:  # the agent: the endpoint's model, or a local model (adapter folder included)
        agent = open_backend(model, base_url if backend == "openai" else None,
                             engine=engine, gguf=gguf)
        user = open_backend(user_model, user_base_url or
                            (base_url if backend == "openai" else None), engine=engine)
    except (OSError, ValueError, LLMError) as exc:
        fail(f"cannot load a model: {exc}")
    try:
        with row_progress("episodes") as start:
            tick = start(None)
            res = evaluate_tau2(suite, agent, user, out,
                                # --max-steps is per user turn; tau2 counts per episode
                                Tau2Config(trials=trials,
                                           max_steps=max_steps * Tau2Config.max_turns,
                                           principles=principles, user_style=user_style,
                                           concurrency=concurrency),
                                limit=limit,
                                progress=tick)
    except (Tau2SuiteError, Tau2Unavailable, LLMError) as exc:
        fail(str(exc))
    s = res.summary
    rates = ", ".join(f"pass^{k} " + ("n/a" if v is None else f"{v:.3f}")
                      for k, v in s["pass^k"].items())
    console.print(f"{s['suite']}: {s['tasks']} tasks × {s['trials']} trials; {rates}; "
                  f"stops {s['stops']}")
    console.print(f"episodes: {s['planned']} planned = {s['episodes']} written + "
                  f"{s['rejected']} rejected" + (f" {s['rejected_by_reason']} (failed trials "
                                                 "in pass^k; reasons in the rejects file)"
                                                 if s["rejected"] else ""))
    for what, path in res.paths.items():
        console.print(f"{what:<12} -> {path}")


def score(
    suite: Annotated[str, typer.Option(help=SUITE_HELP)],
    predictions: Annotated[Path, typer.Option(help="JSONL: {id, output} | {id, calls} | "
                                                   "{id, turns}")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output folder")] = Path("out/eval"),
    model: Annotated[str, typer.Option(help="name shown in reports")] = "predictions",
    limit: Annotated[int | None, typer.Option(help="first N cases of each category")] = None,
    strict: Annotated[bool, flag("--strict", "refuse predictions with any problem (bad "
                                             "line, wrong type, duplicate id)")] = False,
) -> None:
    """Score outputs produced elsewhere (no model needed)."""
    from lamstudio.eval import EvalError
    from lamstudio.eval import score as run_score
    from lamstudio.io import InputError

    try:
        with row_progress("eval") as start:
            result = run_score(suite, predictions, out=out, model=model, limit=limit,
                               progress=lambda what, n: start(n, what), strict=strict)
    except (EvalError, InputError) as exc:
        fail(str(exc))
    for p in result.problems[:20]:
        err_console.print(f"[yellow]skipped[/] {p}")
    if result.problems:
        err_console.print(f"{len(result.problems)} prediction line(s) skipped: cases without "
                          "a kept prediction score as missing_prediction (--strict refuses)")
    if result.stray:
        err_console.print(f"[yellow]{len(result.stray)} prediction(s) match no case of the "
                          f"suite (e.g. {result.stray[0]!r})[/]")
    _show(result)


def compare(
    a: Annotated[Path, typer.Argument(help="results.jsonl (or its folder) of run A")],
    b: Annotated[Path, typer.Argument(help="results.jsonl (or its folder) of run B")],
) -> None:
    """Two runs side by side: accuracy per category, delta, cases fixed / broken."""
    from lamstudio.eval import compare_table, load_results

    try:
        ra, rb = load_results(a), load_results(b)
    except (OSError, ValueError) as exc:
        fail(f"cannot read results: {exc}")
    try:
        console.print(compare_table(ra, rb, str(a), str(b)))
    except ValueError as exc:
        fail(f"nothing to compare: {exc}")
