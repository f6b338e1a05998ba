"""The eval stage in one call each: ``evaluate`` (run a model on a suite, then score) and
``score`` (score predictions made elsewhere). Both write results, summary, report and BFCL
files into ``out`` and return an :class:`EvalResult`; the CLI only maps options to them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.eval._outputs import write_outputs
from lamstudio.eval._score import read_predictions, score_all, summarize
from lamstudio.eval._suite import EvalCase, SuiteError, load_suite

# progress(label, total) -> tick: called once per phase ("generating", "scoring").
Progress = Callable[[str, int], Callable[[], None]]
BACKENDS = ("transformers", "llamacpp", "openai")


class EvalError(ValueError):
    """A run that cannot start: unknown backend, missing URL, unloadable model, empty suite."""


@dataclass
class EvalResult:
    summary: dict[str, Any]  # accuracy per category, error patterns, BFCL overall
    results: list[dict[str, Any]]  # one verdict per case
    paths: dict[str, Path]  # what was written: results, summary, report, predictions, bfcl
    problems: list[str] = field(default_factory=list)  # unreadable prediction lines
    stray: list[str] = field(default_factory=list)  # prediction ids that match no case

    @property
    def accuracy(self) -> float:
        return float(self.summary["accuracy"])


def cases_of(suite: str, limit: int | None = None) -> list[EvalCase]:
    """The suite's cases; a clear :class:`EvalError` if it is unreadable or empty."""
    try:
        cases = load_suite(suite, limit)
    except SuiteError as exc:
        raise EvalError(str(exc)) from exc
    if not cases:
        raise EvalError(f"suite {suite!r} has no cases")
    return cases


def make_generator(model: str, backend: str = "transformers", base_url: str | None = None,
                   batch_size: int = 8, max_new_tokens: int = 256,
                   allow_download: bool = False, gguf: str | None = None) -> Any:
    """A callable that answers a batch of requests, for ``run_cases``. A local ``model`` is
    a folder, a registered name or a .gguf (``lamstudio.models``); a hub id needs
    ``allow_download``. ``llamacpp`` runs the model's GGUF (``gguf``: which file)."""
    from lamstudio.eval._run import LlamaCppGenerator, OpenAIGenerator, TransformersGenerator
    from lamstudio.llm import LLMError, engine_name
    from lamstudio.models import ModelError

    backend = engine_name(backend)
    if backend == "openai":
        if not base_url:
            raise EvalError("the openai backend needs a base URL (--base-url)")
        return OpenAIGenerator(base_url, model, max_new_tokens)
    if backend not in BACKENDS:
        raise EvalError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if gguf and backend != "llamacpp":
        raise EvalError("--gguf FILE is for --engine llamacpp")
    if backend == "llamacpp":
        try:
            return LlamaCppGenerator(model, max_new_tokens, gguf)
        except LLMError as exc:
            raise EvalError(str(exc)) from None
    try:
        return TransformersGenerator(model, batch_size, max_new_tokens, allow_download)
    except ModelError as exc:
        raise EvalError(str(exc)) from None
    except OSError as exc:
        raise EvalError(f"cannot load model {model!r}: {exc}") from exc


def evaluate(model: str, suite: str, *, backend: str = "transformers",
             base_url: str | None = None, out: str | Path = "out/eval",
             limit: int | None = None, batch_size: int = 8, max_new_tokens: int = 256,
             max_steps: int = 6, progress: Progress | None = None,
             allow_download: bool = False, gguf: str | None = None) -> EvalResult:
    """Run ``model`` on ``suite`` (see ``load_suite``), score every case, write everything
    into ``out`` (raw predictions too, re-scorable with :func:`score`)."""
    from lamstudio.eval._run import run_cases

    cases = cases_of(suite, limit)
    generate = make_generator(model, backend, base_url, batch_size, max_new_tokens,
                              allow_download, gguf)
    tick = progress("generating", len(cases)) if progress else None
    preds = run_cases(cases, generate, max_steps, tick)
    return _finish(Path(out), model, suite, cases, preds, progress, write_predictions=True,
                   limit=limit)


def score(suite: str, predictions: str | Path, *, out: str | Path = "out/eval",
          model: str = "predictions", limit: int | None = None,
          progress: Progress | None = None, strict: bool = False) -> EvalResult:
    """Score a predictions JSONL (``{id, output}`` | ``{id, calls}`` | ``{id, turns}``).
    Unreadable or wrongly typed lines and repeated ids (the first is kept) are listed in
    ``problems``; cases without a kept prediction score as missing. ``strict``: any problem
    raises ``InputError`` before anything is written."""
    cases = cases_of(suite, limit)
    preds, problems = read_predictions(Path(predictions), strict)
    known = {c.id for c in cases}
    result = _finish(Path(out), model, suite, cases, preds, progress, write_predictions=False,
                     limit=limit)
    result.problems, result.stray = problems, [i for i in preds if i not in known]
    return result


def _finish(out: Path, model: str, suite: str, cases: list[EvalCase],
            preds: dict[str, Any], progress: Progress | None,
            write_predictions: bool, limit: int | None = None) -> EvalResult:
    results = score_all(cases, preds, progress("scoring", len(cases)) if progress else None)
    summary = summarize(results, model, suite, limit)
    paths = write_outputs(out, model, results, summary, preds, write_predictions)
    return EvalResult(summary, results, paths)
