"""``lamstudio agent run``: a model against tools or an environment, episodes as records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lamstudio.commands._common import (
    ENGINE_HELP,
    console,
    engine_option,
    fail,
    flag,
    gguf_option,
    row_progress,
)
from lamstudio.commands.optimize import load_principles


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Run a model as an agent; write its episodes as records.",
                      no_args_is_help=True)
    sub.command("run")(run)
    app.add_typer(sub, name="agent")


def _stem(out: Path, suffix: str) -> Path:
    return out.with_name(f"{out.name.split('.')[0]}{suffix}")


def _tasks(tasks: Path | None, env: str | None, limit: int | None) -> list[Any]:
    from lamstudio.agent import env_tasks, read_tasks
    from lamstudio.envs import ENVS
    from lamstudio.io import InputError

    if env and env not in ENVS:
        fail(f"unknown environment {env!r}; choose one of: {', '.join(ENVS)}")
    if tasks is None:
        if not env:
            fail("give --tasks FILE, or --env NAME to run that environment's own tasks")
        items: list[Any] = env_tasks(env)
    else:
        try:
            items = list(read_tasks(tasks, env))
        except InputError as exc:
            fail(str(exc))
    return items[:limit] if limit is not None else items


def run(
    model: Annotated[str, typer.Option(help="local model path/name, or the served model name "
                                            "with --base-url")],
    out: Annotated[Path, typer.Option("-o", "--out", help="episodes (.jsonl[.gz])")],
    tasks: Annotated[Path | None, typer.Option(
        help="JSONL of tasks: records, {prompt, tools, turns} rows, or environment tasks "
             "{env, turns, ground_truth}")] = None,
    env: Annotated[str | None, typer.Option(
        help="environment (todo, store): its own tasks, or the one --tasks rows act in")]
    = None,
    base_url: Annotated[str | None, typer.Option(
        help="OpenAI-compatible base URL (…/v1): lamstudio serve, vLLM, a hosted API")] = None,
    engine: Annotated[str, engine_option(f"without --base-url: {ENGINE_HELP}")]
    = "transformers",
    gguf: Annotated[str | None, gguf_option()] = None,
    api_key_env: Annotated[str, typer.Option(
        help="NAME of the environment variable holding the API key")] = "OPENAI_API_KEY",
    tools: Annotated[list[Path] | None, typer.Option(
        "--tools", help="tool module (.py) to offer besides the built-ins; repeatable")] = None,
    no_builtin_tools: Annotated[bool, flag(
        "--no-builtin-tools", "do not offer lamstudio's built-in tools")] = False,
    max_steps: Annotated[int, typer.Option(help="model calls per episode")] = 10,
    max_tokens: Annotated[int, typer.Option(help="tokens per model call")] = 512,
    temperature: Annotated[float, typer.Option(help="sampling temperature")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="sampling seed")] = None,
    concurrency: Annotated[int, typer.Option(help="episodes at once")] = 4,
    tool_timeout: Annotated[float, typer.Option(help="seconds per tool call")] = 5.0,
    limit: Annotated[int | None, typer.Option(help="first N tasks")] = None,
    rejects: Annotated[Path | None, typer.Option(
        help="failed tasks with reasons (default: OUT's stem + .rejects.jsonl)")] = None,
    principles: Annotated[Path | None, typer.Option(
        help="action principles (PRAct) for the system prompt: optimize rpo's best.json, "
             "or a JSON list of strings")] = None,
) -> None:
    """Run a model on tasks until it answers or hits --max-steps; write each episode as a
    record (meta.agent: stop, steps, env, state_hash, reward, model, endpoint)."""
    from lamstudio.agent import AgentConfig, open_backend, run_agent, write_summary
    from lamstudio.io import default_rejects_path
    from lamstudio.llm import LLMError
    from lamstudio.tools import SandboxError, ToolDefinitionError

    for t in tools or []:
        if not t.is_file():
            fail(f"--tools {t}: no such file")
    rules = load_principles(principles)
    items = _tasks(tasks, env, limit)
    if not items:
        fail("no tasks to run")
    try:
        backend = open_backend(model, base_url, api_key_env=api_key_env, max_tokens=max_tokens,
                               engine=engine, gguf=gguf)
    except (OSError, ValueError, LLMError) as exc:
        fail(f"cannot load model {model!r}: {exc}")
    params: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
    if seed is not None:
        params["seed"] = seed
    config = AgentConfig(max_steps=max_steps, params=params, endpoint=base_url or "local",
                         principles=rules)
    rejects = rejects or default_rejects_path(out)
    try:
        with row_progress("episodes") as start:
            summary = run_agent(backend, items, out,
                                tool_modules=[str(t) for t in tools or []],
                                builtin_tools=not no_builtin_tools,
                                tool_timeout_s=tool_timeout, config=config,
                                concurrency=concurrency, rejects=rejects,
                                on_done=start(len(items)))
    except LLMError as exc:
        fail(f"the model endpoint refused the run: {exc}")
    except (SandboxError, ToolDefinitionError, ValueError) as exc:
        fail(str(exc))
    path = write_summary(_stem(out, ".summary.json"), summary,
                         {"model": model, "endpoint": base_url or "local", "output": str(out)})
    console.print(summary.tally.render())
    console.print(f"stops: {dict(summary.stops)}"
                  + (f"   mean reward: {summary.to_dict()['mean_reward']:.3f}"
                     if summary.rewards else ""))
    console.print(f"episodes -> {out}\nrejects  -> {rejects}\nsummary  -> {path}")
