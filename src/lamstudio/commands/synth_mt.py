"""``lamstudio synth apigen-mt blueprints|trajectories``: options -> config -> the
``lamstudio.synth`` call. ``mt_app`` is meant to hang under the ``synth`` group
(``synth_app.add_typer(mt_app, name="apigen-mt")``); ``register`` adds the group itself
when no ``synth`` group exists yet."""

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
    row_progress,
    user_style_option,
)

mt_app = typer.Typer(help="APIGen-MT: multi-turn task blueprints and verified trajectories "
                          "on tau2-bench's domains.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    synth = typer.Typer(help="Synthesize data.", no_args_is_help=True)
    synth.add_typer(mt_app, name="apigen-mt")
    app.add_typer(synth, name="synth")


def _backend(model: str, base_url: str | None, key_env: str | None, what: str,
             engine: str = "transformers") -> Any:
    """An OpenAI-compatible endpoint with ``--{what}-base-url``, else a local model run by
    ``engine``."""
    from lamstudio.agent import open_backend
    from lamstudio.llm import LLMError

    try:
        return open_backend(model, base_url, api_key_env=key_env, max_tokens=768,
                            engine=engine)
    except (OSError, ValueError, LLMError) as exc:
        fail(f"--{what}-model {model!r}: cannot run it locally ({exc}); or pass "
             f"--{what}-base-url for an OpenAI-compatible endpoint")


@mt_app.command("blueprints")
def blueprints_cmd(
    out: Annotated[Path, typer.Option("-o", "--out", help="output folder")],
    env: Annotated[str, typer.Option(help="tau2:retail | tau2:airline")] = "tau2:retail",
    n: Annotated[int, typer.Option("-n", help="blueprints to attempt")] = 10,
    generator_model: Annotated[str, typer.Option(
        help="generator: the model at --generator-base-url, or a local model folder/name")]
    = "smollm2-135m",
    generator_base_url: Annotated[str | None, typer.Option(help="generator URL (…/v1)")]
    = None,
    reviewer_model: Annotated[str | None, typer.Option(
        help="reviewer model (default: the generator's)")] = None,
    reviewer_base_url: Annotated[str | None, typer.Option(
        help="reviewer URL (default: the generator's)")] = None,
    reviewers: Annotated[int, typer.Option(help="committee size (majority vote)")] = 3,
    rounds: Annotated[int, typer.Option(help="generations per blueprint (feedback rounds)")]
    = 3,
    seed: Annotated[int, typer.Option(help="sampling of entities and personas")] = 0,
    api_key_env: Annotated[str | None, typer.Option(help="variable holding the API key")]
    = "OPENAI_API_KEY",
    engine: Annotated[str, engine_option(
        f"local models: {ENGINE_HELP}")] = "transformers",
) -> None:
    """Propose, check (format, execution, policy, committee) and keep task blueprints."""
    from lamstudio.envs import ENVS, Tau2Unavailable
    from lamstudio.llm import LLMError
    from lamstudio.synth import BlueprintConfig, blueprints, write_blueprints

    if env not in ENVS or not env.startswith("tau2:"):
        fail(f"--env {env!r}: choose tau2:retail or tau2:airline")
    gen = _backend(generator_model, generator_base_url, api_key_env, "generator", engine)
    same = (reviewer_model or generator_model, reviewer_base_url or generator_base_url) == \
        (generator_model, generator_base_url)
    rev = gen if same else _backend(reviewer_model or generator_model,
                                    reviewer_base_url or generator_base_url, api_key_env,
                                    "reviewer", engine)
    cfg = BlueprintConfig(env=env, count=n, reviewers=reviewers, rounds=rounds, seed=seed)
    try:
        with row_progress("blueprints") as start:
            tick = start(n)
            run = blueprints(gen, [rev], cfg, progress=lambda k: tick())
    except (LLMError, Tau2Unavailable) as exc:
        fail(str(exc))
    paths = write_blueprints(run, out)
    y = run.yields
    console.print(f"{y['accepted']}/{y['requested']} accepted "
                  f"(first round {y['accept_rate_first_round']:.0%}); per phase: " +
                  ", ".join(f"{p} {v['passed']}/{v['in']}" for p, v in y["phases"].items()))
    for what, path in paths.items():
        console.print(f"{what:<12} -> {path}")


@mt_app.command("trajectories")
def trajectories_cmd(
    blueprints: Annotated[Path, typer.Option(help="blueprints.jsonl from `blueprints`")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output folder")],
    agent_model: Annotated[str, typer.Option(
        help="the agent: the model at --agent-base-url, or a local model folder/name")]
    = "smollm2-135m",
    agent_base_url: Annotated[str | None, typer.Option(help="the agent's URL (…/v1)")] = None,
    user_model: Annotated[str | None, typer.Option(
        help="user simulator model (default: the agent's)")] = None,
    user_base_url: Annotated[str | None, typer.Option(
        help="user simulator URL (default: the agent's)")] = None,
    user_style: Annotated[UserStyle, user_style_option()] = UserStyle.roles,
    attempts: Annotated[int, typer.Option(help="plays per blueprint")] = 1,
    max_turns: Annotated[int, typer.Option(help="user turns per play")] = 20,
    seed: Annotated[int, typer.Option(help="user simulator seed")] = 0,
    api_key_env: Annotated[str | None, typer.Option(help="variable holding the API key")]
    = "OPENAI_API_KEY",
    engine: Annotated[str, engine_option(
        f"local models: {ENGINE_HELP}")] = "transformers",
    explore: Annotated[int, typer.Option(
        help="REX: sample M candidate actions per agent step, roll each out and keep the "
             "best by UCB (0: play once)")] = 0,
    explore_c: Annotated[float, typer.Option(help="REX: UCB exploration weight")] = 1.4,
    explore_budget: Annotated[int, typer.Option(
        help="REX: LLM calls (agent + user) per play before exploring stops")] = 200,
    explore_temperature: Annotated[float, typer.Option(
        help="REX: sampling temperature of the candidates")] = 0.8,
    principles: Annotated[Path | None, typer.Option(
        help="action principles (PRAct) after the policy in the agent's system prompt: "
             "optimize rpo's best.json, or a JSON list of strings")] = None,
) -> None:
    """Play each blueprint (simulated user ↔ agent); keep plays that reach its state.
    With --explore M, explore candidate actions (REX) and report plain play vs exploring."""
    from lamstudio.commands.optimize import load_principles
    from lamstudio.envs import Tau2Unavailable
    from lamstudio.llm import LLMError
    from lamstudio.synth import (
        TrajectoryConfig,
        read_blueprints,
        trajectories,
        write_trajectories,
    )

    try:
        bps = read_blueprints(blueprints)
    except (OSError, ValueError) as exc:
        fail(str(exc))
    agent = _backend(agent_model, agent_base_url, api_key_env, "agent", engine)
    same = (user_model or agent_model, user_base_url or agent_base_url) == \
        (agent_model, agent_base_url)
    user = agent if same else _backend(user_model or agent_model,
                                       user_base_url or agent_base_url, api_key_env, "user",
                                       engine)
    cfg = TrajectoryConfig(attempts=attempts, max_turns=max_turns, seed=seed,
                           explore=_explorer(explore, explore_c, explore_budget,
                                             explore_temperature, seed),
                           principles=load_principles(principles), user_style=user_style.value)
    try:
        with row_progress("plays") as start:
            tick = start(len(bps) * attempts)
            run = trajectories(bps, agent, user, cfg, progress=lambda k: tick())
    except (LLMError, Tau2Unavailable) as exc:
        fail(str(exc))
    paths = write_trajectories(run, out)
    y = run.yields
    console.print(f"{y['kept']}/{y['plays']} plays kept ({y['keep_rate']:.0%}); "
                  f"by reason {y['by_reason']}")
    for side, v in (y["rex"].items() if "rex" in y else ()):
        if side in ("plain", "explore"):
            console.print(f"{side + ':':<9}{v['kept']}/{y['plays']} kept, "
                          f"{v['llm_calls']['total']} LLM calls "
                          f"(agent {v['llm_calls']['agent']}, user {v['llm_calls']['user']})")
    for what, path in paths.items():
        console.print(f"{what:<12} -> {path}")


def _explorer(m: int, c: float, budget: int, temperature: float, seed: int) -> Any:
    """``TrajectoryConfig.explore`` for ``--explore M`` (None for plain play)."""
    if m <= 0:
        return None
    if budget < 1 or c < 0 or temperature <= 0:
        fail("--explore-budget must be >= 1, --explore-c >= 0, --explore-temperature > 0")
    from functools import partial

    from lamstudio.optimize import RexConfig, explore_episode

    return partial(explore_episode, config=RexConfig(candidates=m, c=c, budget=budget,
                                                     temperature=temperature, seed=seed))
