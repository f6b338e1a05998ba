"""Agreement of lamstudio's checker with BFCL's on BFCL's own entries and perturbations."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from lamstudio.eval._ast import CompiledCase, check, compile_case, language_of
from lamstudio.eval._bfcl import AST_CATEGORIES, RELEVANCE_CATEGORIES, load_category
from lamstudio.eval._perturb import perturbations
from lamstudio.eval._reference import ReferenceEnv, bfcl_decoded, run_reference
from lamstudio.eval._verdict import BFCL_ERROR_TYPE, CallVerdict
from lamstudio.tools import Call


@dataclass
class Pairs:
    """Every (entry, output) pair, with what each side needs to judge it."""

    cases: list[dict[str, Any]] = field(default_factory=list)  # for the reference
    compiled: list[CompiledCase] = field(default_factory=list)
    items: list[tuple[int, str, list[Call]]] = field(default_factory=list)


def build_pairs(categories: list[str] | None = None) -> Pairs:
    pairs = Pairs()
    for cat in categories or AST_CATEGORIES + RELEVANCE_CATEGORIES:
        lang = language_of(cat)
        for entry in load_category(cat):
            k = len(pairs.cases)
            pairs.cases.append({"category": cat, "language": lang, "function": entry.function,
                                "ground_truth": entry.ground_truth, "id": entry.id})
            pairs.compiled.append(compile_case(entry.id, cat, entry.function,
                                               entry.ground_truth))
            if entry.ground_truth is None:  # relevance categories: call or no call
                name = entry.function[0]["name"] if entry.function else "f"
                outputs = [("empty", []), ("one_call", [Call(name, {})]),
                           ("args_not_object", [Call(name, "{broken")])]
            else:
                outputs = list(perturbations(entry.function, entry.ground_truth, lang))
            pairs.items.extend((k, label, calls) for label, calls in outputs)
    return pairs


def ours(pairs: Pairs) -> tuple[list[CallVerdict], float]:
    t0 = time.perf_counter()
    out = [check(pairs.compiled[k], calls) for k, _, calls in pairs.items]
    return out, time.perf_counter() - t0


def _same_error_type(code: str, bfcl_type: str) -> bool:
    mine = BFCL_ERROR_TYPE.get(code, code)
    if code == "ok":
        return bfcl_type in ("", "simple_function_checker:unclear")
    return bfcl_type.split(":")[-1] == mine.split(":")[-1] or bfcl_type == "relevance"


@dataclass
class Agreement:
    per_category: dict[str, Counter[str]]
    disagreements: list[dict[str, Any]]
    error_type_mismatches: int
    reference_exceptions: int
    ours_seconds: float
    reference_seconds: float
    n: int


def compare(pairs: Pairs, env: ReferenceEnv, use_cache: bool = True) -> Agreement:
    mine, ours_s = ours(pairs)
    ref = run_reference(env, pairs.cases,
                        [(k, bfcl_decoded(calls)) for k, _, calls in pairs.items],
                        use_cache=use_cache)
    per: dict[str, Counter[str]] = defaultdict(Counter)
    disagreements, type_mismatch, exceptions = [], 0, 0
    for (k, label, calls), v, r in zip(pairs.items, mine, ref.verdicts, strict=True):
        cat = pairs.cases[k]["category"]
        c = per[cat]
        c["pairs"] += 1
        c["bfcl_valid"] += r["valid"]
        c["ours_valid"] += v.valid
        exceptions += r["error_type"].startswith("exception:")
        if label == "reference":
            c["reference"] += 1
            c["reference_valid"] += r["valid"]
        if v.valid == r["valid"]:
            c["agree"] += 1
            if not v.valid and not _same_error_type(v.code, r["error_type"]):
                type_mismatch += 1
        else:
            disagreements.append({"id": pairs.cases[k]["id"], "label": label,
                                  "ours": v.to_dict(), "bfcl": r,
                                  "output": bfcl_decoded(calls)})
    return Agreement(dict(per), disagreements, type_mismatch, exceptions, ours_s,
                     ref.seconds, len(pairs.items))


def agreement_table(result: Agreement) -> Any:
    from rich.table import Table

    table = Table(title=f"lamstudio vs bfcl_eval ast_checker: {result.n} (entry, output) pairs")
    for col in ("category", "pairs", "agree", "agreement", "BFCL valid", "ours valid",
                "reference answers valid"):
        table.add_column(col, justify="left" if col == "category" else "right")
    total: Counter[str] = Counter()
    for cat, c in result.per_category.items():
        total.update(c)
        table.add_row(*_row(cat, c))
    table.add_row(*_row("all", total), style="bold")
    return table


def _row(name: str, c: Counter[str]) -> list[str]:
    ref = f"{c['reference_valid']}/{c['reference']}" if c["reference"] else "-"
    return [name, str(c["pairs"]), str(c["agree"]), f"{c['agree'] / max(c['pairs'], 1):.2%}",
            str(c["bfcl_valid"]), str(c["ours_valid"]), ref]
