"""APIGen's three-stage check for any dataset in the lamstudio record, plus dedup:

* ``FormatChecker`` — specs are JSON Schema, calls fit them, output parses (SpecTool codes);
* ``ExecutionChecker`` — calls run in the tool ``Sandbox``; results inserted or compared;
* ``SemanticJudge`` — an LLM judge (or a committee) passes or fails each record;
* ``Deduplicator`` — exact and MinHash/LSH near-duplicates, keep-first;
* ``verify(...)`` — the resumable pipeline behind ``lamstudio verify``;
* ``build_report(...)`` — the HTML data report behind ``lamstudio report``.

Every check returns a ``Verdict`` (passed, code, message, stage, details).
"""

from lamstudio.verify._config import ALL_STAGES, JudgeConfig, VerifyConfig, VerifyConfigError
from lamstudio.verify._dedup import (
    DedupKeys,
    Deduplicator,
    DedupOptions,
    canonical_calls,
    dedup_keys,
    normalize_query,
    shingles,
)
from lamstudio.verify._execution import (
    ExecutionChecker,
    ExecutionOptions,
    result_matches,
    values_match,
)
from lamstudio.verify._format import FormatChecker, FormatOptions, check_format, normalize_types
from lamstudio.verify._journal import Journal, JournalMismatch, journal_dir
from lamstudio.verify._pipeline import (
    VerifyResult,
    default_rejects_path,
    default_summary_path,
    verify,
)
from lamstudio.verify._report import build_report
from lamstudio.verify._semantic import (
    JUDGE_SYSTEM,
    JudgeOptions,
    SemanticJudge,
    decide,
    judge_prompt,
    parse_judgement,
)
from lamstudio.verify._tally import VerifyTally
from lamstudio.verify._verdict import SPECTOOL_CODES, Verdict

__all__ = [
    "ALL_STAGES", "JUDGE_SYSTEM", "SPECTOOL_CODES", "DedupKeys", "DedupOptions", "Deduplicator",
    "ExecutionChecker", "ExecutionOptions", "FormatChecker", "FormatOptions", "Journal",
    "JournalMismatch", "JudgeConfig", "JudgeOptions", "SemanticJudge", "Verdict", "VerifyConfig",
    "VerifyConfigError", "VerifyResult", "VerifyTally", "build_report", "canonical_calls",
    "check_format", "decide", "dedup_keys", "default_rejects_path", "default_summary_path",
    "journal_dir", "judge_prompt",
    "normalize_query", "normalize_types", "parse_judgement", "result_matches", "shingles",
    "values_match", "verify",
]
