"""Evaluate tool-calling models: BFCL-grade AST checking, multi-turn state checking,
SpecTool error patterns, runs against local or OpenAI-compatible models, and reports.

The single-turn checker agrees with ``bfcl_eval``'s own ``ast_checker`` on every BFCL v4
entry and systematic perturbations of it (``tests/eval/test_bfcl_agreement.py``).
"""

from lamstudio.eval._api import (
    BACKENDS,
    EvalError,
    EvalResult,
    Progress,
    cases_of,
    evaluate,
    make_generator,
    score,
)
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
from lamstudio.eval._generate import Generation, greedy_generate
from lamstudio.eval._perturb import perturbations, reference_calls
from lamstudio.eval._reference import ReferenceEnv, ReferenceUnavailable
from lamstudio.eval._report import compare_table, html_report, load_results, summary_tables
from lamstudio.eval._run import (
    LlamaCppGenerator,
    OpenAIGenerator,
    TransformersGenerator,
    prompt_ids,
    run_cases,
)
from lamstudio.eval._score import read_predictions, score_all, summarize
from lamstudio.eval._suite import EvalCase, SuiteError, load_suite
from lamstudio.eval._tau2 import (
    USER_GUIDELINES,
    Tau2SuiteError,
    Tau2Task,
    communicated,
    load_tau2_suite,
    pass_hat_k,
    score_episode,
)
from lamstudio.eval._tau2_episode import USER_STYLES, Episode, SimulatedUser, check_user_style
from lamstudio.eval._tau2_episode import run_episode as run_tau2_episode
from lamstudio.eval._tau2_run import Tau2Config, Tau2Result, evaluate_tau2, play_tau2_trial
from lamstudio.eval._taxonomy import PATTERN_NAMES, PATTERNS, classify
from lamstudio.eval._values import java_value, js_value, standardize
from lamstudio.eval._verdict import BFCL_ERROR_TYPE, CallVerdict
from lamstudio.tools import Call, dispatch, state_hash  # re-exported: eval's public names

__all__ = [
    "ALL_SCORING", "AST_CATEGORIES", "BACKENDS", "BFCL_ERROR_TYPE", "PATTERNS", "PATTERN_NAMES",
    "RELEVANCE_CATEGORIES", "BfclEntry", "BfclUnavailable", "Call", "CallVerdict",
    "CompiledCase", "EvalCase", "EvalError", "EvalResult", "Generation", "LlamaCppGenerator",
    "OpenAIGenerator", "prompt_ids",
    "ReferenceEnv", "ReferenceUnavailable", "Episode", "SimulatedUser", "Tau2Config",
    "Tau2Result", "Tau2SuiteError", "Tau2Task", "evaluate_tau2", "load_tau2_suite",
    "pass_hat_k", "play_tau2_trial", "run_tau2_episode", "score_episode", "USER_GUIDELINES",
    "USER_STYLES", "check_user_style",
    "communicated",
    "Progress", "SuiteError", "TransformersGenerator", "bfcl_version", "cases_of", "check",
    "classify", "compare_table", "compile_case", "dispatch", "evaluate", "greedy_generate",
    "html_report", "java_value", "js_value", "kind_of", "language_of", "load_category",
    "load_results", "load_suite", "make_generator", "perturbations", "read_predictions",
    "reference_calls", "run_cases", "score", "score_all", "standardize", "state_hash",
    "summarize", "summary_tables",
]
