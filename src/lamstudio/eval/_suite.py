"""Suites: what to evaluate. ``bfcl:simple_python,multiple,...`` reads BFCL's installed
files (every entry counts, as on the leaderboard); ``FILE.jsonl`` reads lamstudio records
whose last assistant message holds the expected calls (or whose ``meta.bfcl`` carries a
BFCL answer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.eval._ast import CompiledCase, compile_case, kind_of
from lamstudio.eval._bfcl import (
    AST_CATEGORIES,
    RELEVANCE_CATEGORIES,
    RUNNABLE_MULTI_TURN,
    load_category,
    multi_turn_docs,
)
from lamstudio.eval._multi_turn import Executor, bfcl_env_factory


class SuiteError(ValueError):
    """A suite that cannot be read (unknown category, unreadable file)."""


@dataclass
class EvalCase:
    id: str
    category: str
    check: str  # "ast" | "relevance" | "multi_turn"
    turns: list[list[dict[str, Any]]]  # the user-side messages of each turn
    functions: list[dict[str, Any]]  # BFCL-style docs the checker reads
    ground_truth: Any
    system: str | None = None
    compiled: CompiledCase | None = None
    env_factory: Callable[[], Executor] | None = None
    held_out: dict[int, list[str]] = field(default_factory=dict)  # turn -> docs added then

    def tools(self, turn: int = 0) -> list[dict[str, Any]]:
        """OpenAI-style tool specs offered at ``turn`` (BFCL reveals held-out docs late)."""
        from lamstudio.sources.bfcl import function_to_tool

        held = {n for t, names in self.held_out.items() if t > turn for n in names}
        return [function_to_tool(f) for f in self.functions if f.get("name") not in held]


BFCL_SUITES = {"all": AST_CATEGORIES + RELEVANCE_CATEGORIES + RUNNABLE_MULTI_TURN,
               "single_turn": AST_CATEGORIES + RELEVANCE_CATEGORIES,
               "ast": AST_CATEGORIES, "multi_turn": RUNNABLE_MULTI_TURN}


def load_suite(spec: str, limit: int | None = None) -> list[EvalCase]:
    """``bfcl:CAT[,CAT...]`` (or ``bfcl:all`` / ``single_turn`` / ``ast`` / ``multi_turn``)
    or a path to a JSONL file of lamstudio records. ``limit``: first N cases per category."""
    if spec.startswith("bfcl:"):
        cats: list[str] = []
        for name in filter(None, spec[5:].split(",")):
            cats += BFCL_SUITES.get(name.strip(), [name.strip()])
        out = []
        for cat in cats:
            out += bfcl_cases(cat)[:limit]
        return out
    path = Path(spec)
    if not path.exists():
        raise SuiteError(f"{spec}: no such file (a suite is bfcl:CATEGORIES or a file of "
                         "lamstudio records)")
    return file_cases(path)[:limit] if limit else file_cases(path)


def bfcl_cases(category: str) -> list[EvalCase]:
    from lamstudio.eval._bfcl import BfclUnavailable

    try:
        entries = load_category(category)
    except BfclUnavailable as exc:
        raise SuiteError(str(exc)) from None
    if "multi_turn" in category:
        if category not in RUNNABLE_MULTI_TURN + ["multi_turn_long_context"]:
            raise SuiteError(f"{category} cannot run offline")
        return [_multi_turn_case(e.raw, category, e.ground_truth) for e in entries]
    if category in ("format_sensitivity", "memory", "web_search"):
        raise SuiteError(f"{category} is not supported (it needs live web / memory backends)")
    out = []
    for e in entries:
        check = "relevance" if category in RELEVANCE_CATEGORIES else "ast"
        out.append(EvalCase(e.id, category, check, [list(e.question[0])], e.function,
                            e.ground_truth,
                            compiled=compile_case(e.id, category, e.function, e.ground_truth)))
    return out


def _multi_turn_case(raw: dict[str, Any], category: str, truth: Any) -> EvalCase:
    docs = [d for c in raw["involved_classes"] for d in multi_turn_docs(c)]
    held = {int(t): list(names) for t, names in (raw.get("missed_function") or {}).items()}
    return EvalCase(raw["id"], category, "multi_turn", [list(t) for t in raw["question"]],
                    docs, truth, env_factory=bfcl_env_factory(raw, category), held_out=held)


def file_cases(path: Path) -> list[EvalCase]:
    from lamstudio.io import BadRow, InputError, read_rows
    from lamstudio.schema import validate_record

    out = []
    try:
        for row in read_rows(path):
            if isinstance(row, BadRow):
                raise SuiteError(f"{path}:{row.line}: {row.code}: {row.message}")
            checked = validate_record(row.value)
            if checked.record is None:
                raise SuiteError(f"{path}:{row.line}: not a lamstudio record: "
                                 f"{checked.issues[0] if checked.issues else '?'}")
            out.append(_record_case(checked.record, f"{path}:{row.line}"))
    except InputError as exc:
        raise SuiteError(str(exc)) from None
    return out


def _record_case(t: Any, where: str) -> EvalCase:
    from lamstudio.sources.bfcl import tool_to_function

    bfcl = t.meta.get("bfcl") or {}
    last = max((i for i, m in enumerate(t.messages) if m.role == "assistant"), default=None)
    prompt = t.messages[:last] if last is not None else t.messages
    turns = [[m.model_dump(exclude_none=True) for m in prompt]]
    functions = bfcl.get("function") or [tool_to_function(s.model_dump()) for s in t.tools]
    if "ground_truth" in bfcl:
        truth = bfcl["ground_truth"]
    elif last is not None and t.messages[last].tool_calls:
        truth = [{c.function.name: {k: [v] for k, v in c.function.arguments.items()}}
                 for c in t.messages[last].tool_calls]
    else:
        truth = None
    category = t.meta.get("category") or (
        "irrelevance" if not truth else "parallel_multiple" if len(truth) > 1
        else "simple" if len(functions) == 1 else "multiple")
    if truth is None and kind_of(category) not in ("irrelevance", "relevance"):
        raise SuiteError(f"{where}: record {t.id} has no expected calls to score against")
    check = "relevance" if kind_of(category) in ("irrelevance", "relevance") else "ast"
    return EvalCase(t.id, category, check, turns, functions, truth, system=t.system,
                    compiled=compile_case(t.id, category, functions, truth))
