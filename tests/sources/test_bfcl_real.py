"""Every BFCL v4 question file that bfcl-eval ships, through ``lamstudio convert --from bfcl``.

Every row is read; the only rejects are the genuine inconsistencies of BFCL's own data listed
in ``KNOWN_REJECTS`` (each is a question BFCL's checker can fail every model on); every kept
tool schema is valid JSON Schema; the records dump back to BFCL's rows and answers exactly.
"""

import importlib.util
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema.validators import validator_for

from lamstudio.schema import Trajectory
from lamstudio.sources import bfcl
from lamstudio.sources._bfcl_data import CLASS_DOC_FILES, HOLDOUT_USER_PROMPT
from lamstudio.sources._convert import convert

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None,
    reason="bfcl-eval is not installed (make test installs it: pip install --no-deps bfcl-eval)")

KNOWN_REJECTS = {
    # "record" requires every intent list; the answer gives `[]` (no acceptable value) where
    # it means "an empty list" (`[[]]`), so no call can pass BFCL's checker.
    "live_simple_106-63-0": "answer_no_value",
    "live_simple_112-68-0": "answer_no_value",
    # origin_airport is required, yet its only acceptable value is "" ("may be omitted"):
    # the question says "from LA" and the answer forgot it.
    "live_multiple_507-149-4": "answer_missing_required",
    # Trains_1_FindTrains has no journey_start_time parameter, yet the answer requires one
    # (it belongs to Trains_1_GetTrainTickets).
    "live_multiple_862-181-3": "answer_unknown_param",
    # transfer_to_human_agent declares "statement" (required); the answer passes "question".
    "live_multiple_964-207-0": "answer_missing_required",
}


def lines(path: Path) -> int:
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Any]:
    data = bfcl.bfcl_data_dir()
    files = [data / f"BFCL_v4_{c}.json" for c in bfcl.CATEGORIES]
    out = tmp_path_factory.mktemp("bfcl") / "bfcl.jsonl"
    tally = convert(files, "bfcl", out)  # what `lamstudio convert --from bfcl` runs
    rejects = [json.loads(x) for x in out.with_name("bfcl.rejects.jsonl").read_text().splitlines()]
    records = [json.loads(x) for x in out.read_text().splitlines()]
    return {"files": files, "tally": tally, "rejects": rejects, "records": records}


def test_categories_are_the_installed_question_files():
    data = bfcl.bfcl_data_dir()
    on_disk = {p.name[len("BFCL_v4_"):-len(".json")] for p in data.glob("BFCL_v4_*.json")}
    assert on_disk - set(bfcl.CATEGORIES) == {"format_sensitivity"}  # not a question file
    assert set(bfcl.CATEGORIES) <= on_disk
    for name, has_answers in bfcl.CATEGORIES.items():
        assert (data / "possible_answer" / f"BFCL_v4_{name}.json").exists() == has_answers


def test_bfcl_constants_copied_here_match_the_package():
    from bfcl_eval.constants.default_prompts import (
        DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC,
    )
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    assert CLASS_DOC_FILES == MULTI_TURN_FUNC_DOC_FILE_MAPPING
    assert HOLDOUT_USER_PROMPT == DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC


def test_every_row_is_read_and_only_bfcls_own_inconsistencies_are_rejected(converted):
    tally = converted["tally"]
    assert tally.balanced and tally.read == tally.kept + tally.rejected
    rejected_per_file = Counter(r["file"] for r in converted["rejects"])
    kept_per_category = Counter(r["meta"]["category"] for r in converted["records"])
    for path in converted["files"]:
        category = path.name[len("BFCL_v4_"):-len(".json")]
        assert tally.files[str(path)] == lines(path), path.name
        assert kept_per_category[category] == lines(path) - rejected_per_file[str(path)]
    assert {r["id"]: r["code"] for r in converted["rejects"]} == KNOWN_REJECTS
    assert len(converted["rejects"]) == len(KNOWN_REJECTS)
    assert tally.warnings == Counter()  # e.g. no call to a tool the record does not offer


def test_no_answer_lacks_its_question():
    data = bfcl.bfcl_data_dir()
    for name, has_answers in bfcl.CATEGORIES.items():
        if has_answers:
            report = bfcl.JoinReport()
            for _ in bfcl.iter_raw(data / f"BFCL_v4_{name}.json", report=report):
                pass
            assert report.answers > 0 and report.orphan_answers == [], name


def test_every_kept_tool_schema_is_valid_json_schema(converted):
    schemas = {json.dumps(t["function"]["parameters"], sort_keys=True)
               for r in converted["records"] for t in r["tools"]}
    assert len(schemas) > 3000
    for text in schemas:  # ~3,300 distinct schemas: about 10 s
        schema = json.loads(text)
        validator_for(schema).check_schema(schema)


def test_records_dump_back_to_bfcls_rows_and_answers(converted):
    data = bfcl.bfcl_data_dir()
    questions: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    for path in converted["files"]:
        questions.update((r["id"], r) for r in map(json.loads, path.open()))
        apath = data / "possible_answer" / path.name
        if apath.exists():
            answers.update((r["id"], r) for r in map(json.loads, apath.open()))
    for raw in converted["records"]:
        t = Trajectory.model_validate(raw)
        assert bfcl.to_row(t) == questions[t.id], t.id
        assert bfcl.answer_row(t) == answers.get(t.id), t.id


def test_record_shapes_per_check(converted):
    by_check: dict[str, list[dict[str, Any]]] = {}
    for r in converted["records"]:
        by_check.setdefault(r["meta"]["bfcl"]["check"], []).append(r)
    assert {k: len(v) for k, v in by_check.items()} == {
        "ast": 1150 + 1351 - len(KNOWN_REJECTS), "irrelevance": 240 + 884, "relevance": 16,
        "multi_turn": 800, "agentic": 255}
    for r in by_check["ast"]:
        assert r["messages"][-1]["role"] == "assistant" and r["messages"][-1]["tool_calls"]
    for name in ("irrelevance", "relevance", "agentic"):
        assert all(m["role"] != "assistant" or "tool_calls" not in m
                   for r in by_check[name] for m in r["messages"])
    for r in by_check["multi_turn"]:
        replies = [m for m in r["messages"] if m["role"] == "assistant"]
        assert len(replies) == len(r["meta"]["bfcl"]["ground_truth"])
        assert sum(len(m.get("tool_calls") or []) for m in replies) == sum(
            map(len, r["meta"]["bfcl"]["ground_truth"]))
    java = [r for r in by_check["ast"] if r["meta"]["category"] == "simple_java"]
    assert len(java) == 100 and all(r["meta"]["bfcl"]["language"] == "java" for r in java)


def test_bfcl_functions_match_bfcls_own_loader(converted, tmp_path, monkeypatch):
    monkeypatch.setenv("BFCL_PROJECT_ROOT", str(tmp_path))  # bfcl_eval writes lock files there
    from bfcl_eval.utils import populate_test_cases_with_predefined_functions

    data = bfcl.bfcl_data_dir()
    entries = {r["id"]: r for r in map(json.loads,
                                       (data / "BFCL_v4_multi_turn_miss_func.json").open())}
    populated = {e["id"]: e for e in populate_test_cases_with_predefined_functions(
        list(entries.values()))}
    for raw in converted["records"]:
        if raw["meta"]["category"] != "multi_turn_miss_func":
            continue
        t = Trajectory.model_validate(raw)
        entry = populated[t.id]
        assert bfcl.bfcl_functions(t) == entry["function"]
        last = len(t.meta["bfcl"]["ground_truth"]) - 1
        held = [d for docs in entry["missed_function"].values() for d in docs]
        assert bfcl.bfcl_functions(t, last) == entry["function"] + held


def test_format_sensitivity_is_refused_with_a_reason():
    from lamstudio.io import InputError

    with pytest.raises(InputError, match="holds no questions"):
        list(bfcl.load(bfcl.bfcl_data_dir() / "BFCL_v4_format_sensitivity.json"))


def test_load_category():
    records = list(bfcl.load_category("simple_javascript"))
    assert len(records) == 50 and records[0].meta["bfcl"]["language"] == "javascript"
    with pytest.raises(KeyError, match="unknown BFCL category"):
        bfcl.load_category("simple_cobol")
