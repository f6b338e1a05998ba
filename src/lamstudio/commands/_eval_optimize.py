"""``lamstudio eval run`` on env/tau2 suites with ``--reflect`` (reflection across trials)
or ``--committee FILE`` (a DEI committee): options mapped onto ``lamstudio.optimize``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.commands._common import console, fail


@dataclass
class OptimizeOptions:
    model: str | None
    suite: str
    engine: str  # transformers | llamacpp | openai
    base_url: str | None
    gguf: str | None
    out: Path
    limit: int | None
    max_steps: int  # per user turn
    max_new_tokens: int
    user_model: str | None
    user_base_url: str | None
    trials: int
    reflect: bool
    reflector_model: str | None
    reflector_base_url: str | None
    committee: Path | None
    selector_model: str | None
    selector_base_url: str | None
    principles: tuple[str, ...] = ()  # --principles: PRAct's block for every trial
    user_style: str = "roles"  # tau2: how the simulated user sees the conversation
    concurrency: int = 4  # episodes (and reflector / selector calls) at once
    opened: dict[tuple[str, str | None], Any] = field(default_factory=dict)


def _open(model: str, base_url: str | None, o: OptimizeOptions, what: str) -> Any:
    from lamstudio.agent import open_backend
    from lamstudio.llm import LLMError

    if (model, base_url) in o.opened:  # one local model in memory plays several roles
        return o.opened[model, base_url]
    try:
        o.opened[model, base_url] = open_backend(
            model, base_url, engine=_local(o), max_tokens=o.max_new_tokens,
            gguf=o.gguf if what == "agent" else None)
    except (OSError, ValueError, LLMError) as exc:
        fail(f"cannot load the {what} model {model!r}: {exc}")
    return o.opened[model, base_url]


def _local(o: OptimizeOptions) -> str:
    return "transformers" if o.engine == "openai" else o.engine


def _suite(o: OptimizeOptions) -> Any:
    from lamstudio.envs import Tau2Unavailable
    from lamstudio.eval import Tau2SuiteError
    from lamstudio.optimize import SuiteError, open_suite

    user = None
    if o.suite.startswith("tau2:"):
        if not o.user_model:
            fail("tau2 suites need a user simulator: pass --user-model")
        user = _open(o.user_model, o.user_base_url or o.base_url, o, "user")
    steps = o.max_steps * 30 if user is not None else o.max_steps  # tau2: 30 user turns
    try:
        return open_suite(o.suite, user=user, limit=o.limit, max_steps=steps,
                          user_style=o.user_style)
    except (SuiteError, Tau2SuiteError, Tau2Unavailable) as exc:
        fail(str(exc))


def run_optimized(o: OptimizeOptions) -> None:
    from lamstudio.llm import LLMError

    if o.engine == "openai" and not o.base_url and not o.committee:
        fail("--backend openai needs --base-url")
    if o.reflect and o.committee:
        fail("--reflect and --committee are separate experiments: choose one")
    if o.committee and o.principles:
        fail("--principles with --committee: give each member its own (principles: in the "
             "committee file)")
    try:
        if o.committee:
            _committee(o)
        else:
            _reflect(o)
    except LLMError as exc:  # a refused key, a wrong URL or model: every call would fail
        fail(f"the model endpoint refused the run: {exc}")


def _reflect(o: OptimizeOptions) -> None:
    from lamstudio.optimize import ReflectConfig, run_trials_with_reflection

    if not o.model:
        fail("--model is required (the agent)")
    agent = _open(o.model, o.base_url, o, "agent")
    suite = _suite(o)
    reflector = None
    if o.reflect:  # default: the agent reflects on its own attempts (self-reflection)
        reflector = _open(o.reflector_model or o.model, o.reflector_base_url or o.base_url,
                          o, "reflector")
    cfg = ReflectConfig(trials=o.trials, reflect=o.reflect, principles=o.principles,
                        concurrency=o.concurrency,
                        agent_params={"temperature": 0.0, "max_tokens": o.max_new_tokens})
    res = run_trials_with_reflection(suite, agent, reflector, cfg, out=o.out)
    console.print(res.paths["report"].read_text(encoding="utf-8"))
    for what, path in res.paths.items():
        console.print(f"{what:<12} -> {path}")


def _committee(o: OptimizeOptions) -> None:
    from lamstudio.llm import LLMError
    from lamstudio.optimize import (
        CommitteeError,
        Member,
        load_committee,
        open_members,
        run_committee,
    )

    assert o.committee is not None
    try:
        config = load_committee(o.committee)
    except CommitteeError as exc:
        fail(str(exc))
    if o.selector_model:
        config.selector = Member("selector", o.selector_model,
                                 base_url=o.selector_base_url or o.base_url, engine=_local(o))
    suite = _suite(o)
    try:
        backends, selector = open_members(config)
    except (OSError, ValueError, LLMError) as exc:
        fail(f"{o.committee}: cannot load a member's model: {exc}")
    res = run_committee(suite, config, backends, selector, out=o.out,
                        concurrency=o.concurrency)
    console.print(res.paths["table"].read_text(encoding="utf-8"))
    for what, path in res.paths.items():
        console.print(f"{what:<12} -> {path}")
