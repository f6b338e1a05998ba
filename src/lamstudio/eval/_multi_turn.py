"""Multi-turn evaluation: replay calls against fresh executable environments, turn by turn.

Semantics of BFCL's ``multi_turn_checker``: the model's calls and the ground-truth calls run
against two fresh copies of the same environment; after every turn whose ground truth is
not empty, (1) the model must have made some call in that turn, (2) every public attribute
of every environment object must equal the ground truth's, and (3) every ground-truth
result of this turn must appear among the model's results so far (as a multiset, any
order). Calls are parsed with ``ast`` and dispatched to methods — never ``eval``-ed.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from lamstudio.eval._verdict import OK, CallVerdict, fail
from lamstudio.tools import Call, dispatch, parse_call

_BFCL_MODULES = {
    "GorillaFileSystem": "gorilla_file_system", "MathAPI": "math_api",
    "MessageAPI": "message_api", "TwitterAPI": "posting_api", "TicketAPI": "ticket_api",
    "TradingBot": "trading_bot", "TravelAPI": "travel_booking",
    "VehicleControlAPI": "vehicle_control",
}
_STATELESS = {"MathAPI"}


class Executor(Protocol):
    """An environment the checker can drive: run one call, show its comparable state."""

    def run(self, call: Call | str) -> str: ...

    def snapshot(self) -> dict[str, Any]: ...


class BfclExecutor:
    """BFCL's own API classes (``bfcl_eval/.../func_source_code``), loaded from a scenario."""

    def __init__(self, involved: Sequence[str], initial_config: dict[str, Any],
                 long_context: bool = False) -> None:
        prefix = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code."
        self.instances: dict[str, Any] = {}
        self.methods: dict[str, Callable[..., Any]] = {}
        for cls_name in involved:
            cls = getattr(importlib.import_module(prefix + _BFCL_MODULES[cls_name]), cls_name)
            inst = cls()
            if cls_name not in _STATELESS:
                inst._load_scenario(copy.deepcopy(initial_config.get(cls_name, {})),
                                    long_context=long_context)
            self.instances[cls_name] = inst
            for name, method in inspect.getmembers(inst, predicate=inspect.ismethod):
                if not name.startswith("_"):
                    self.methods[name] = method

    def run(self, call: Call | str) -> str:
        return dispatch(self.methods, call)

    def snapshot(self) -> dict[str, Any]:
        return {cls: {k: v for k, v in vars(inst).items() if not k.startswith("_")}
                for cls, inst in self.instances.items()}


Turns = Sequence[Sequence[Sequence[Call | str]]]  # turn -> step -> calls


def check_multi_turn(make_env: Callable[[], Executor], model_turns: Turns,
                     truth_turns: Sequence[Sequence[Call | str]],
                     offered: Collection[str] | None = None) -> CallVerdict:
    """Judge a multi-turn episode: ``model_turns[t]`` is the model's steps in turn ``t``.
    ``offered``: the names of the functions the case offers; a failed episode in which the
    model called any other is labelled IFN, by what happened, whatever turn failed."""
    verdict = _check(make_env, model_turns, truth_turns)
    if not verdict.valid and offered is not None:
        made = {_name(c) for turn in model_turns for step in turn for c in step}
        if made - set(offered):
            verdict.pattern = "IFN"
    return verdict


def _check(make_env: Callable[[], Executor], model_turns: Turns,
           truth_turns: Sequence[Sequence[Call | str]]) -> CallVerdict:
    if len(model_turns) != len(truth_turns):
        return _with(fail("turn_count", f"{len(model_turns)} turns, expected "
                                        f"{len(truth_turns)}"), "IAC")
    model_env, truth_env = make_env(), make_env()
    model_results: list[str] = []
    for t, truth_calls in enumerate(truth_turns):
        steps = [s for s in model_turns[t] if s]
        for step in steps:
            model_results.extend(model_env.run(c) for c in step)
        truth_results = [truth_env.run(c) for c in truth_calls]
        if not truth_calls:
            continue  # the model should not manage this turn; its calls still change state
        if not steps:
            return _with(fail("empty_turn", f"turn {t}: no call, expected "
                                            f"{len(truth_calls)}"), "IAC")
        diff = _state_diff(model_env.snapshot(), truth_env.snapshot())
        if diff:
            return _with(fail("state_mismatch", f"turn {t}: state differs in {diff}"),
                         _turn_pattern(steps, truth_calls))
        missing = _missing(truth_results, model_results)
        if missing:
            return _with(fail("result_mismatch", f"turn {t}: expected result(s) not produced: "
                                                 f"{[m[:80] for m in missing]}"),
                         _turn_pattern(steps, truth_calls))
    return OK


def _with(verdict: CallVerdict, pattern: str) -> CallVerdict:
    verdict.pattern = pattern
    return verdict


def _state_diff(model: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    diff = []
    for obj, attrs in truth.items():
        for k, v in attrs.items():
            if model.get(obj, {}).get(k, _MISSING) != v:
                diff.append(f"{obj}.{k}")
    return diff


_MISSING = object()


def _missing(expected: list[str], produced: list[str]) -> list[str]:
    pool = list(produced)
    out = []
    for item in expected:
        try:
            pool.remove(item)
        except ValueError:
            out.append(item)
    return out


def _name(call: Call | str) -> str:
    if isinstance(call, Call):
        return call.name
    try:
        return parse_call(call)[0]
    except (ValueError, SyntaxError):
        return "?"


def _turn_pattern(steps: Sequence[Sequence[Call | str]],
                  truth_calls: Sequence[Call | str]) -> str:
    """SpecTool pattern for a turn that went wrong, from the names that were called."""
    made = [_name(c) for s in steps for c in s]
    wanted = [_name(c) for c in truth_calls]
    if any(n not in wanted for n in made) and len(made) <= len(wanted):
        return "IFN"
    if any(made.count(n) < wanted.count(n) for n in set(wanted)):
        return "IAC"
    if len(made) > len(wanted):
        return "RAC"
    return "IAV"


def bfcl_env_factory(entry_raw: dict[str, Any], category: str) -> Callable[[], BfclExecutor]:
    long_context = "long_context" in category or "composite" in category
    return lambda: BfclExecutor(entry_raw["involved_classes"], entry_raw["initial_config"],
                                long_context)
