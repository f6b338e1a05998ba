"""Held-out metrics of the quickstart, computed from saved predictions.

Definitions (also in ``docs/quickstart.md``); N = held-out examples, C = those whose
reference answer has tool calls, I = those whose reference is a text answer (irrelevance):

* ``parse_rate`` (over N): the generation ended with the stop token inside the token limit
  and ``parse_output`` read it without an error (a well-formed call block, or plain text).
* ``function_name_accuracy`` (over C): parsed, and the multiset of called function names
  equals the reference's.
* ``exact_match`` (over C): parsed, and the calls, as a multiset of (name, arguments), equal
  the reference's: same number of calls, same names, equal argument dicts (JSON equality:
  ``250 == 250.0``, strings compared exactly, an extra optional argument is a mismatch).
  Order of parallel calls does not matter.
* ``irrelevance_accuracy`` (over I): parsed, and no call was made.
* ``accuracy`` (over N): exact match on C plus correct abstention on I.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Call = tuple[str, dict[str, Any]]


def _norm(value: Any) -> Any:
    # JSON equality: 250 == 250.0 (bool stays bool so that True != 1).
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _call_key(call: Call) -> str:
    name, args = call
    return json.dumps([name, _norm(args)], sort_keys=True, ensure_ascii=False)


def same_calls(predicted: Sequence[Call], reference: Sequence[Call]) -> bool:
    return Counter(map(_call_key, predicted)) == Counter(map(_call_key, reference))


def same_names(predicted: Sequence[Call], reference: Sequence[Call]) -> bool:
    return Counter(n for n, _ in predicted) == Counter(n for n, _ in reference)


@dataclass(frozen=True)
class Scored:
    """One held-out example judged (``name_ok``/``exact`` are False for text references)."""

    parsed: bool
    expects_calls: bool
    made_call: bool
    name_ok: bool
    exact: bool

    @property
    def correct(self) -> bool:
        return self.exact if self.expects_calls else (self.parsed and not self.made_call)


def score(parsed: bool, predicted: Sequence[Call], reference: Sequence[Call]) -> Scored:
    """Judge one prediction against its reference calls (empty: a text answer)."""
    made = bool(predicted)
    if not reference:
        return Scored(parsed, False, made, False, False)
    return Scored(parsed, True, made, parsed and same_names(predicted, reference),
                  parsed and same_calls(predicted, reference))


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Metrics from prediction rows (``parsed``, ``predicted``, ``reference``, ``category``,
    ``novel``) as the quickstart saves them; the report's numbers come from here."""
    rows = list(rows)
    judged = [(r, score(r["parsed"], _calls(r["predicted"]), _calls(r["reference"])))
              for r in rows]
    calls = [s for _, s in judged if s.expects_calls]
    text = [s for _, s in judged if not s.expects_calls]
    out: dict[str, Any] = {
        "n": len(rows), "n_call_examples": len(calls), "n_irrelevance": len(text),
        "parse_rate": _rate(sum(s.parsed for _, s in judged), len(rows)),
        "function_name_accuracy": _rate(sum(s.name_ok for s in calls), len(calls)),
        "exact_match": _rate(sum(s.exact for s in calls), len(calls)),
        "irrelevance_accuracy": _rate(sum(s.correct for s in text), len(text)),
        "accuracy": _rate(sum(s.correct for _, s in judged), len(rows)),
    }
    by_cat: dict[str, list[Scored]] = {}
    for r, s in judged:
        by_cat.setdefault(r.get("category", "?"), []).append(s)
    out["by_category"] = {c: {"n": len(v), "accuracy": _rate(sum(s.correct for s in v), len(v))}
                          for c, v in sorted(by_cat.items())}
    novel = [s for r, s in judged if s.expects_calls and r.get("novel")]
    out["exact_match_novel_values"] = _rate(sum(s.exact for s in novel), len(novel))
    out["n_novel_values"] = len(novel)
    return out


def _calls(items: Iterable[Any]) -> list[Call]:
    out: list[Call] = []
    for item in items or []:
        if isinstance(item, dict):
            out.append((item["name"], item.get("arguments") or {}))
        else:
            out.append((item[0], item[1]))
    return out
