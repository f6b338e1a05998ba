"""Evaluate tool-calling models: BFCL-grade AST checking, multi-turn state checking,
SpecTool error patterns, runs against local or OpenAI-compatible models, and reports.

The single-turn checker agrees with ``bfcl_eval``'s own ``ast_checker`` on every BFCL v4
entry and systematic perturbations of it (``tests/eval/test_bfcl_agreement.py``).
"""

from lamstudio.eval._ast import CompiledCase, check, compile_case, kind_of, language_of
from lamstudio.eval._bfcl import (
    ALL_SCORING,
    AST_CATEGORIES,
    RELEVANCE_CATEGORIES,
    BfclEntry,
    BfclUnavailable,
    bfcl_version,
    load_category,
)
from lamstudio.eval._perturb import perturbations, reference_calls
from lamstudio.eval._taxonomy import PATTERN_NAMES, PATTERNS, classify
from lamstudio.eval._values import java_value, js_value, standardize
from lamstudio.eval._verdict import BFCL_ERROR_TYPE, Call, Verdict

__all__ = [
    "ALL_SCORING", "AST_CATEGORIES", "BFCL_ERROR_TYPE", "PATTERNS", "PATTERN_NAMES",
    "RELEVANCE_CATEGORIES", "BfclEntry", "BfclUnavailable", "Call", "CompiledCase", "Verdict",
    "bfcl_version", "check", "classify", "compile_case", "java_value", "js_value", "kind_of",
    "language_of", "load_category", "perturbations", "reference_calls", "standardize",
]
