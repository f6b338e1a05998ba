"""Berkeley Function Calling Leaderboard (BFCL v4) questions joined with their answers.

Reads the files bfcl-eval ships (``bfcl_eval/data/BFCL_v4_<category>.json``, JSON Lines
despite the name) joined with ``possible_answer/<same name>``; writes them back.

Public API (``from lamstudio.sources import bfcl``):

- ``bfcl_data_dir() -> Path``: ``bfcl_eval/data`` of the installed package (``ImportError``
  with the install command when bfcl-eval is missing).
- ``CATEGORIES``: question-file category -> whether a possible-answer file comes with it.
- ``load_category(name, on_reject=None) -> Iterator[Trajectory]``: one installed category.
- ``load(path, answers=None, on_reject=None)``; ``iter_raw(path, answers=None, report=None)``
  (the join; the answer file defaults to ``possible_answer/<file name>`` next to ``path``).
- ``parse_call_string(s, func_docs=None) -> FunctionCall``; ``format_call_string(call)``.
- ``bfcl_type_to_json_schema(schema)`` / ``json_schema_to_bfcl_type(schema)``.
- ``bfcl_functions(record, turn=None)``: the function docs BFCL itself would offer.
- ``dump(records, path)`` writes *questions*; ``dump_answers(records, path)`` writes the
  possible-answer file (a BFCL answer cannot live in the question row).

The record: ``source="bfcl"``, ``meta.category`` = BFCL's category (from the id, as BFCL
derives it), ``meta.bfcl`` = what an evaluator needs verbatim: ``check`` (which BFCL checker
applies: ``ast``, ``irrelevance``, ``relevance``, ``multi_turn``, ``agentic``),
``language``, ``function`` (original docs, single-turn), ``ground_truth`` (the whole answer
set), the question's own fields (``initial_config``, ``involved_classes``, ``path``,
``missed_function``, ``excluded_function``, ``scenario``...) and ``answer`` (answer-row
fields besides the ground truth, e.g. web_search's ``source``/``num_hops``).

- Single-turn (``ast``): the tools are the docs in JSON Schema; one assistant message holds
  the *reference call*: the first acceptable value of each parameter (a parameter whose
  first acceptable value is ``""`` and that is optional is left out). Ground truth that
  BFCL's checker could never accept is rejected (``answer_no_value``,
  ``answer_missing_required``, ``answer_unknown_param``, ``answer_unknown_function``).
  Java/JavaScript values are kept as the answer file holds them (parsed values); BFCL
  shows such parameters to models as strings of source code and parses the reply.
- ``irrelevance`` / ``live_irrelevance`` (right answer: no call) and ``live_relevance``
  (any call is right) have no answer file and get no assistant message.
- Multi-turn: tools = the docs of ``involved_classes`` minus ``excluded_function``
  (bfcl-eval 2026.3.23 itself does not drop them; ``bfcl_functions`` follows BFCL). Each
  turn's user messages are followed by one assistant message holding that turn's ground
  truth calls, in order (they ran one after another; BFCL keeps no tool results, none are
  invented). A turn with no calls gets an empty assistant message with ``train: false``.
  ``missed_function`` tools are in ``tools`` although BFCL withholds them until their turn,
  whose empty question becomes BFCL's own "I have updated some more functions" prompt.
- ``memory`` / ``web_search`` (``agentic``): the question and, for web_search, the
  WebSearchAPI tools; the acceptable final answers are in ``meta.bfcl.ground_truth``.
  Memory's tools depend on the backend BFCL picks at run time (``meta.bfcl.memory_backends``)
  and its questions need the ``memory_prereq_conversation`` phase first.
- ``format_sensitivity`` is not a question file (ids of other categories to re-run under
  26 prompt formats): reading it is an ``InputError``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.io import BadRow, InputError, JsonlWriter, Reject, Row, read_rows
from lamstudio.schema import Trajectory
from lamstudio.sources._base import SourceError, dump_with, load_with, require
from lamstudio.sources._bfcl_calls import (
    format_call_string,
    parse_call_string,
    possible_answer_of,
    reference_arguments,
)
from lamstudio.sources._bfcl_data import (
    CATEGORIES,
    CLASS_DOC_FILES,
    FILE_PREFIX,
    HOLDOUT_USER_PROMPT,
    MEMORY_BACKENDS,
    bfcl_data_dir,
    category_of,
    category_of_file,
    class_docs,
)
from lamstudio.sources._bfcl_types import (
    bfcl_type_to_json_schema,
    function_to_tool,
    json_schema_to_bfcl_type,
    language_of,
    native_types,
    tool_to_function,
)

NAME = "bfcl"
SOURCE = "bfcl"
# Keys ``iter_raw`` adds to a question row (BFCL rows never use them).
ANSWER_KEY = "possible_answer"
DOC_DIR_KEY = "multi_turn_func_doc"
_OWN_META = ("check", "language", "native_types", "function", "ground_truth", "answer",
             "memory_backends")
_NO_ANSWER = {"irrelevance": "irrelevance", "live_irrelevance": "irrelevance",
              "live_relevance": "relevance"}

__all__ = [
    "CATEGORIES", "BfclDataWarning", "JoinReport", "answer_row", "answers_path", "bfcl_data_dir",
    "bfcl_functions", "bfcl_type_to_json_schema", "dump", "dump_answers",
    "format_call_string", "from_row", "iter_raw", "json_schema_to_bfcl_type", "load",
    "joined_row", "load_category", "parse_call_string", "to_row",
]


class BfclDataWarning(UserWarning):
    """Something in BFCL's files that is not a row: e.g. an answer with no question."""


@dataclass
class JoinReport:
    """What ``iter_raw`` found while joining questions and answers."""

    answers_file: str | None = None
    answers: int = 0
    orphan_answers: list[str] = field(default_factory=list)  # answer ids with no question


# --- reading -----------------------------------------------------------------------------


def iter_raw(path: str | os.PathLike[str], answers: str | os.PathLike[str] | None = None,
             report: JoinReport | None = None) -> Iterator[Row | BadRow]:
    """Question rows, each with its possible answer under ``possible_answer``.

    Answers with no question are not rows: they are counted in ``report`` and announced
    with a ``BfclDataWarning`` once the questions are read.
    """
    p = Path(path)
    if category_of_file(p) == "format_sensitivity":
        raise InputError(f"{p}: BFCL's format_sensitivity file lists ids of other categories "
                         "to re-run under 26 prompt formats; it holds no questions. Convert "
                         "those categories' files instead.")
    report = report if report is not None else JoinReport()
    by_id = _load_answers(p, answers, report)
    doc_dir = p.parent / DOC_DIR_KEY
    used: set[str] = set()
    for row in read_rows(p):
        if isinstance(row, Row) and isinstance(row.value, dict):
            value = dict(row.value)
            rid = value.get("id")
            if isinstance(rid, str) and rid in by_id:
                value[ANSWER_KEY] = by_id[rid]
                used.add(rid)
            if "involved_classes" in value and doc_dir.is_dir():
                value[DOC_DIR_KEY] = str(doc_dir)
            row = Row(row.file, row.line, value)
        yield row
    report.orphan_answers = [i for i in by_id if i not in used]
    if report.orphan_answers:
        warnings.warn(f"{report.answers_file}: {len(report.orphan_answers)} answers have no "
                      f"question in {p}: {', '.join(report.orphan_answers[:10])}",
                      BfclDataWarning, stacklevel=2)


def answers_path(path: str | os.PathLike[str]) -> Path:
    """Where BFCL keeps the possible answers of a question file (and ``load`` looks)."""
    p = Path(path)
    return p.parent / "possible_answer" / p.name


def _load_answers(p: Path, answers: str | os.PathLike[str] | None,
                  report: JoinReport) -> dict[str, dict[str, Any]]:
    apath = Path(answers) if answers is not None else answers_path(p)
    category = category_of_file(p)
    if not apath.is_file():
        if answers is not None or CATEGORIES.get(category or "", False):
            raise InputError(f"{p}: no possible-answer file at {apath}; BFCL's {category} "
                             "questions are scored against it (pass answers=PATH)")
        return {}
    report.answers_file = str(apath)
    by_id: dict[str, dict[str, Any]] = {}
    for row in read_rows(apath, allow_empty=True):  # irrelevance has no answers
        where = f"{row.file}:{row.line}"
        if isinstance(row, BadRow):
            raise InputError(f"{where}: {row.message} (answer files must be readable whole)")
        rid = row.value.get("id") if isinstance(row.value, dict) else None
        if not isinstance(rid, str):
            raise InputError(f"{where}: an answer row needs a string 'id'")
        if rid in by_id:
            raise InputError(f"{where}: answer id {rid!r} appears twice")
        by_id[rid] = row.value
    report.answers = len(by_id)
    return by_id


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    """One joined BFCL row (see ``iter_raw``) -> a raw lamstudio record."""
    rid = require(row, "id", str)
    question = _question(row)
    category = category_of(rid)
    answer = row.get(ANSWER_KEY)
    if answer is not None and not isinstance(answer, dict):
        raise SourceError("wrong_type", f"{ANSWER_KEY}: expected an object", ANSWER_KEY)
    extra = {k: v for k, v in row.items()
             if k not in ("id", "question", "function", ANSWER_KEY, DOC_DIR_KEY)}
    if "function" in row:
        build = _single_turn
    elif "memory" in category or "web_search" in category:  # BFCL's is_agentic()
        build = _agentic
    elif "involved_classes" in row:
        build = _multi_turn
    else:
        raise SourceError("missing_field", "function: a question needs 'function' (single "
                          "turn) or 'involved_classes' (multi-turn)", "function")
    system, messages, built = build(row, category, question, answer)
    tools = built.pop("_tools")
    bfcl = {"check": built.pop("check"), "language": built.pop("language", "python"),
            **extra, **built}
    if answer is not None:
        bfcl["ground_truth"] = answer.get("ground_truth")
        rest = {k: v for k, v in answer.items() if k not in ("id", "ground_truth")}
        if rest:
            bfcl["answer"] = rest
    return {"id": rid, "source": SOURCE, "system": system, "tools": tools,
            "messages": messages, "meta": {"category": category, "bfcl": bfcl}}


def _question(row: dict[str, Any]) -> list[list[dict[str, Any]]]:
    turns = require(row, "question", list)
    for i, turn in enumerate(turns):
        if not isinstance(turn, list) or not all(isinstance(m, dict) for m in turn):
            raise SourceError("bad_question", f"question[{i}]: expected a list of messages",
                              f"question[{i}]")
    return turns


def _split_system(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """A leading system message becomes the record's ``system``."""
    if messages and messages[0].get("role") == "system" and isinstance(
            messages[0].get("content"), str):
        return messages[0]["content"], messages[1:]
    return None, messages


def _require_answer(answer: dict[str, Any] | None, category: str) -> list[Any]:
    if answer is None:
        raise SourceError("missing_answer", f"no possible answer for this {category} question "
                          "in the answer file", ANSWER_KEY)
    gt = answer.get("ground_truth")
    if not isinstance(gt, list):
        raise SourceError("bad_answer", "ground_truth: expected a list", "ground_truth")
    return gt


Built = tuple[str | None, list[dict[str, Any]], dict[str, Any]]


def _single_turn(row: dict[str, Any], category: str, question: list[Any],
                 answer: dict[str, Any] | None) -> Built:
    docs = require(row, "function", list)
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
            raise SourceError("bad_function", f"function[{i}]: expected a doc with a name",
                              f"function[{i}]")
    system, messages = _split_system([dict(m) for turn in question for m in turn])
    check = _NO_ANSWER.get(category, "ast")
    bfcl: dict[str, Any] = {"check": check, "language": language_of(category),
                            "function": docs, "_tools": [function_to_tool(d) for d in docs]}
    types = native_types(docs)
    if types:
        bfcl["native_types"] = types
    if check == "ast":
        gt = _require_answer(answer, category)
        calls = _reference_calls(gt, {d["name"]: d for d in reversed(docs)})
        messages.append({"role": "assistant", "tool_calls": calls})
    return system, messages, bfcl


def _reference_calls(gt: list[Any], docs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    if not gt:
        raise SourceError("bad_answer", "ground_truth: empty (expected at least one call)",
                          "ground_truth")
    calls = []
    for i, entry in enumerate(gt):
        where = f"ground_truth[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise SourceError("bad_answer", f"{where}: expected {{function: {{param: "
                              f"[values]}}}}", "ground_truth")
        (name, possible), = entry.items()
        if name not in docs:
            raise SourceError("answer_unknown_function", f"{where}: calls {name!r}, which is "
                              f"not among the question's functions ({sorted(docs)})",
                              "ground_truth")
        args = reference_arguments(docs[name], possible, where)
        calls.append({"type": "function", "function": {"name": name, "arguments": args}})
    return calls


def _multi_turn(row: dict[str, Any], category: str, question: list[Any],
                answer: dict[str, Any] | None) -> Built:
    docs = _class_docs(row)
    by_name = {d["name"]: d for d in docs}
    excluded = set(row.get("excluded_function") or [])
    offered = [d for d in docs if d["name"] not in excluded]
    missed = _missed(row, by_name)
    gt = _require_answer(answer, category)
    if len(gt) != len(question):
        raise SourceError("turn_count_mismatch", f"ground_truth has {len(gt)} turns, the "
                          f"question {len(question)}", "ground_truth")
    messages: list[dict[str, Any]] = []
    for i, (turn, call_strings) in enumerate(zip(question, gt, strict=True)):
        msgs = [dict(m) for m in turn]
        if not msgs and str(i) in missed:
            msgs = [{"role": "user", "content": HOLDOUT_USER_PROMPT}]
        messages += msgs
        messages.append(_turn_reply(i, call_strings, by_name, {d["name"] for d in offered}))
    system, messages = _split_system(messages)
    return system, messages, {"check": "multi_turn", "_tools": [function_to_tool(d)
                                                                  for d in offered]}


def _class_docs(row: dict[str, Any]) -> list[dict[str, Any]]:
    classes = require(row, "involved_classes", list)
    docs: list[dict[str, Any]] = []
    for name in classes:
        try:
            docs += class_docs(name, row.get(DOC_DIR_KEY))
        except ImportError as exc:
            raise SourceError("missing_func_doc", f"no {DOC_DIR_KEY}/ next to the file and "
                              f"{exc}", "involved_classes") from exc
    return docs


def _missed(row: dict[str, Any], by_name: dict[str, Any]) -> dict[str, list[str]]:
    missed = row.get("missed_function") or {}
    if not isinstance(missed, dict):
        raise SourceError("wrong_type", "missed_function: expected {turn: [names]}",
                          "missed_function")
    for turn, names in missed.items():
        unknown = [n for n in names if n not in by_name] if isinstance(names, list) else names
        if unknown:
            raise SourceError("unknown_missed_function", f"missed_function[{turn}]: "
                              f"{unknown!r} are not functions of the involved classes",
                              "missed_function")
    return missed


def _turn_reply(turn: int, call_strings: Any, docs: dict[str, Any],
                offered: set[str]) -> dict[str, Any]:
    if not isinstance(call_strings, list):
        raise SourceError("bad_answer", f"ground_truth[{turn}]: expected a list of calls",
                          "ground_truth")
    calls = []
    for s in call_strings:
        try:
            call = parse_call_string(s, docs)
        except SourceError as exc:
            exc.message, exc.field = f"ground_truth[{turn}]: {exc.message}", "ground_truth"
            raise
        if call.name not in offered:
            raise SourceError("answer_unknown_function", f"ground_truth[{turn}]: calls "
                              f"{call.name!r}, which the task does not offer", "ground_truth")
        calls.append({"type": "function", "function": call.model_dump()})
    if not calls:  # the right reply makes no call; BFCL keeps no text for it
        return {"role": "assistant", "content": None, "train": False}
    return {"role": "assistant", "tool_calls": calls}


def _agentic(row: dict[str, Any], category: str, question: list[Any],
             answer: dict[str, Any] | None) -> Built:
    _require_answer(answer, category)
    classes = row.get("involved_classes") or []
    memory = [c for c in classes if c == "MemoryAPI"]
    fixed = [c for c in classes if c != "MemoryAPI"]
    docs = _class_docs({**row, "involved_classes": fixed})
    system, messages = _split_system([dict(m) for turn in question for m in turn])
    bfcl: dict[str, Any] = {"check": "agentic", "_tools": [function_to_tool(d) for d in docs]}
    if memory:
        bfcl["memory_backends"] = list(MEMORY_BACKENDS)
    return system, messages, bfcl


def load(path: str | os.PathLike[str], answers: str | os.PathLike[str] | None = None,
         on_reject: Callable[[Reject], None] | None = None) -> Iterator[Trajectory]:
    return load_with(path, from_row, lambda p: iter_raw(p, answers), on_reject)


def load_category(name: str, on_reject: Callable[[Reject], None] | None = None,
                  ) -> Iterator[Trajectory]:
    """The records of one installed BFCL v4 category (``CATEGORIES`` lists them)."""
    if name not in CATEGORIES:
        raise KeyError(f"unknown BFCL category {name!r}; choose one of: {', '.join(CATEGORIES)}")
    return load(bfcl_data_dir() / f"{FILE_PREFIX}{name}.json", on_reject=on_reject)


# --- writing -----------------------------------------------------------------------------


def to_row(t: Trajectory) -> dict[str, Any]:
    """A record -> a BFCL question row (the answer goes to ``answer_row``)."""
    bfcl = t.meta.get("bfcl") or {}
    check = bfcl.get("check")
    row: dict[str, Any] = {"id": t.id}
    if check == "multi_turn":
        row["question"] = _turns(t, bfcl.get("missed_function") or {})
    else:
        row["question"] = [_flat_question(t, check)]
    if check not in ("multi_turn", "agentic"):
        row["function"] = bfcl.get("function") or [
            tool_to_function(x.model_dump(mode="json")) for x in t.tools]
    row.update({k: v for k, v in bfcl.items() if k not in _OWN_META})
    return row


def joined_row(t: Trajectory, row: dict[str, Any] | None = None) -> dict[str, Any]:
    """The question row with its answer joined, as ``iter_raw`` gives it to ``from_row``."""
    row = dict(row if row is not None else to_row(t))
    answer = answer_row(t)
    if answer is not None:
        row[ANSWER_KEY] = answer
    return row


def _bfcl_message(role: str, content: str | None) -> dict[str, Any]:
    return {"role": role, "content": content or ""}


def _flat_question(t: Trajectory, check: str | None) -> list[dict[str, Any]]:
    msgs = list(t.messages)
    last_call = max((i for i, m in enumerate(msgs) if m.tool_calls), default=None)
    if last_call is not None and check in ("ast", None):
        msgs = msgs[:last_call]  # the reference call is the answer, not the question
    out = [_bfcl_message("system", t.system)] if t.system is not None else []
    # Tool traffic has no place in a BFCL question: keep the conversation's text.
    return out + [_bfcl_message(m.role, m.content) for m in msgs
                  if m.role != "tool" and not m.tool_calls]


def _turns(t: Trajectory, missed: dict[str, Any]) -> list[list[dict[str, Any]]]:
    turns: list[list[dict[str, Any]]] = []
    current = [_bfcl_message("system", t.system)] if t.system is not None else []
    for m in t.messages:
        if m.role == "assistant":
            turns.append(current)
            current = []
        elif m.role != "tool":
            current.append(_bfcl_message(m.role, m.content))
    if current:
        turns.append(current)
    for k in missed:  # the holdout prompt was ours, BFCL's turn is empty
        i = int(k)
        if i < len(turns) and turns[i] == [_bfcl_message("user", HOLDOUT_USER_PROMPT)]:
            turns[i] = []
    return turns


def answer_row(t: Trajectory) -> dict[str, Any] | None:
    """The possible-answer row of a record; None where BFCL has none (irrelevance...)."""
    bfcl = t.meta.get("bfcl") or {}
    if "ground_truth" in bfcl:
        return {"id": t.id, "ground_truth": bfcl["ground_truth"], **(bfcl.get("answer") or {})}
    check = bfcl.get("check")
    if check in ("irrelevance", "relevance"):
        return None
    replies = [m for m in t.messages if m.role == "assistant"]
    if check == "multi_turn":
        gt: list[Any] = [[format_call_string(c.function) for c in m.tool_calls or []]
                         for m in replies]
        return {"id": t.id, "ground_truth": gt}
    last = next((m for m in reversed(replies) if m.tool_calls), None)
    if last is None:
        return None
    return {"id": t.id, "ground_truth": [possible_answer_of(c.function)
                                         for c in last.tool_calls or []]}


def dump(records: Iterable[Trajectory], path: str | os.PathLike[str]) -> int:
    """Write BFCL question rows (answers: ``dump_answers``)."""
    return dump_with(records, path, to_row)


def dump_answers(records: Iterable[Trajectory], path: str | os.PathLike[str]) -> int:
    """Write the possible-answer file of ``records`` (put it in ``possible_answer/<name>``
    beside the question file so ``load`` finds it); returns the number of rows written."""
    with JsonlWriter(path) as w:
        for t in records:
            row = answer_row(t)
            if row is not None:
                w.write(row)
        return w.count


# --- what BFCL itself would show a model ---------------------------------------------------


def bfcl_functions(t: Trajectory, turn: int | None = None,
                   doc_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The function docs BFCL offers for a record, as its own loader builds them.

    Single-turn: ``meta.bfcl.function``. Multi-turn: every doc of ``involved_classes``
    (BFCL does not drop ``excluded_function``) minus the ``missed_function`` ones that are
    still held out at ``turn`` (None: at the first turn). ``doc_dir``: a
    ``multi_turn_func_doc`` folder other than the installed one.
    """
    bfcl = t.meta.get("bfcl") or {}
    if "function" in bfcl:
        return bfcl["function"]
    classes = [c for c in bfcl.get("involved_classes") or [] if c in CLASS_DOC_FILES]
    docs = [d for c in classes for d in class_docs(c, doc_dir)]
    missed = bfcl.get("missed_function") or {}
    by_name = {d["name"]: d for d in docs}
    held = {n for names in missed.values() for n in names}
    offered = [d for d in docs if d["name"] not in held]
    for k, names in missed.items():  # BFCL appends them when their turn comes
        if int(k) <= (turn or 0):
            offered += [by_name[n] for n in names if n in by_name]
    return offered
