"""``lamstudio optimize rpo``: options mapped onto ``lamstudio.optimize.run_rpo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lamstudio.commands._common import (
    ENGINE_HELP,
    UserStyle,
    console,
    engine_option,
    fail,
    gguf_option,
    row_progress,
    user_style_option,
)

# Examples, not A:B: rich would read ":A:" in the help as an emoji code.
SPLIT_HELP = ("a range of task indices (0:20, 20:), a file of task ids (JSON list or one a "
              "line), or for tau2 a split name (train, test, base) or a range in it "
              "(train:0:20)")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Make a given agent better without retraining (PRAct/RPO).",
                      no_args_is_help=True)
    sub.command("rpo")(rpo)
    app.add_typer(sub, name="optimize")


def load_principles(path: Path | None) -> tuple[str, ...]:
    """``--principles FILE`` (best.json or a JSON list of strings), or none; a bad file
    fails the command with its path and field."""
    from lamstudio.optimize import PrinciplesError, read_principles

    if path is None:
        return ()
    try:
        return read_principles(path)
    except PrinciplesError as exc:
        fail(f"--principles {exc}")


def _opener(base_url: str | None, api_key_env: str, engine: str, gguf: str | None,
            max_tokens: int) -> Any:
    """Opens each role's model once per (model, URL): roles that share a local model
    share one loaded copy."""
    from lamstudio.agent import open_backend
    from lamstudio.llm import LLMError

    opened: dict[tuple[str, str | None], Any] = {}

    def open_role(role: str, model: str, url: str | None) -> Any:
        url = url or base_url
        if (model, url) not in opened:
            try:
                opened[model, url] = open_backend(
                    model, url, api_key_env=api_key_env, max_tokens=max_tokens,
                    engine=engine, gguf=gguf if role == "agent" else None)
            except (OSError, ValueError, LLMError) as exc:
                fail(f"cannot load the {role} model {model!r}: {exc}")
        return opened[model, url]

    return open_role


def _print_round(report: dict[str, Any]) -> None:
    r = report["round"]
    train = "" if r == 0 else f"train {report['train_reward']:.3f}  "
    val = f"val {report['val_reward']:.3f}" + (
        f" (as round {report['val_from_round']})" if "val_from_round" in report else "")
    bad = f"  unusable {report['unusable']}" if report["unusable"] else ""
    console.print(f"round {r}: {train}{val}  principles {len(report['principles'])}{bad}")


def _print_costs(costs: dict[str, dict[str, float]]) -> None:
    from rich.table import Table

    table = Table("role", "LLM calls", "failed", "seconds (summed)", title="cost")
    for role, c in costs.items():
        if c["calls"]:
            table.add_row(role, str(c["calls"]), str(c["failed"]), f"{c['seconds']:.1f}")
    console.print(table)


def rpo(
    env: Annotated[str, typer.Option(help="store, todo, tau2:retail or tau2:airline")],
    train_split: Annotated[str, typer.Option(help=f"train tasks: {SPLIT_HELP}")],
    val_split: Annotated[str, typer.Option(help=f"validation tasks: {SPLIT_HELP}")],
    agent_model: Annotated[str, typer.Option(help="the agent: local model path/name, or "
                                                  "the served model name with a base URL")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output folder (a rerun "
                                                          "continues the run in it)")]
    = Path("out/rpo"),
    mode: Annotated[str, typer.Option(help="reward: the reflector sees each trajectory's "
                                           "reward; self: it never does")] = "reward",
    schedule: Annotated[str, typer.Option(help="traj: update after each trajectory; batch: "
                                               "once per batch, from all its reflections")]
    = "batch",
    rounds: Annotated[int, typer.Option(help="rounds after round 0 (the baseline)")] = 3,
    batch: Annotated[int, typer.Option(help="train tasks per round")] = 4,
    reflector_model: Annotated[str | None, typer.Option(
        help="the reflector's model (default: --agent-model)")] = None,
    optimizer_model: Annotated[str | None, typer.Option(
        help="the optimizer's model (default: --reflector-model)")] = None,
    user_model: Annotated[str | None, typer.Option(
        help="tau2: the user simulator's model")] = None,
    base_url: Annotated[str | None, typer.Option(
        help="OpenAI-compatible base URL (…/v1) for every role without its own")] = None,
    agent_base_url: Annotated[str | None, typer.Option(help="the agent's base URL")] = None,
    reflector_base_url: Annotated[str | None, typer.Option(help="the reflector's")] = None,
    optimizer_base_url: Annotated[str | None, typer.Option(help="the optimizer's")] = None,
    user_base_url: Annotated[str | None, typer.Option(help="the user simulator's")] = None,
    user_style: Annotated[UserStyle, user_style_option()] = UserStyle.roles,
    api_key_env: Annotated[str, typer.Option(
        help="NAME of the environment variable holding the API key")] = "OPENAI_API_KEY",
    engine: Annotated[str, engine_option(f"models without a base URL: {ENGINE_HELP}")]
    = "transformers",
    gguf: Annotated[str | None, gguf_option()] = None,
    tasks: Annotated[Path | None, typer.Option(
        help="toy environments: environment tasks {env, turns, ground_truth} instead of "
             "the env's own")] = None,
    principles: Annotated[Path | None, typer.Option(
        help="start from these principles (best.json or a JSON list); default none")] = None,
    max_principles: Annotated[int, typer.Option(help="most principles in a set")] = 8,
    max_steps: Annotated[int | None, typer.Option(
        help="agent model calls per episode (default 10; tau2 40)")] = None,
    max_tokens: Annotated[int, typer.Option(help="tokens per agent call")] = 512,
    llm_max_tokens: Annotated[int, typer.Option(
        help="tokens per reflector / optimizer call")] = 1024,
    temperature: Annotated[float, typer.Option(help="sampling temperature, every role")]
    = 0.0,
    concurrency: Annotated[int, typer.Option(help="episodes at once")] = 4,
) -> None:
    """Learn action principles (PRAct) with RPO: per round the agent plays a batch of train
    tasks, a reflector critiques the trajectories, an optimizer rewrites the principles,
    and the validation split scores them; the best set is OUT/best.json."""
    from lamstudio.llm import LLMError
    from lamstudio.optimize import RPOConfig, run_rpo

    if env.startswith("tau2:") and not user_model:
        fail("tau2 environments need a user simulator: pass --user-model")
    start = load_principles(principles)
    config = RPOConfig(
        env=env, train_split=train_split, val_split=val_split, mode=mode, schedule=schedule,
        rounds=rounds, batch=batch, tasks_file=str(tasks) if tasks else None,
        principles=start, max_principles=max_principles, max_steps=max_steps,
        concurrency=concurrency,
        agent_params={"temperature": temperature, "max_tokens": max_tokens},
        user_params={"temperature": temperature}, user_style=user_style.value,
        llm_params={"temperature": temperature, "max_tokens": llm_max_tokens})
    try:
        config.check()
    except ValueError as exc:
        fail(str(exc))
    open_role = _opener(base_url, api_key_env, engine, gguf, max_tokens)
    reflector_model = reflector_model or agent_model
    roles = {"agent": open_role("agent", agent_model, agent_base_url),
             "reflector": open_role("reflector", reflector_model, reflector_base_url),
             "optimizer": open_role("optimizer", optimizer_model or reflector_model,
                                    optimizer_base_url),
             "user": open_role("user", user_model, user_base_url) if user_model else None}
    try:
        with row_progress("rpo") as bar:
            result = run_rpo(config, out, progress=lambda what, n: bar(n, what),
                             on_round=_print_round, **roles)
    except LLMError as exc:
        fail(f"a model endpoint refused the run: {exc} (the finished rounds are kept in "
             f"{out}: fix it and rerun to continue)")
    except ValueError as exc:  # settings, splits, a folder holding another run
        fail(str(exc))
    best = result.best
    console.print(f"best: round {best['round']}, val {best['val_reward']:.3f} (plain agent "
                  f"{best['baseline_val_reward']:.3f}), {len(best['principles'])} "
                  "principle(s)")
    for i, p in enumerate(best["principles"], 1):
        console.print(f"  {i}. {p}", soft_wrap=True)
    _print_costs(result.costs)
    console.print(f"best     -> {out / 'best.json'}\nhistory  -> {out / 'history.jsonl'}\n"
                  f"rounds   -> {out / 'rounds'}")
