"""The ``bfcl`` format on small hand-written files (``data/samples/bfcl``): exact records,
call strings, and the reason code of every row it refuses. Real files, real ``load``."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema.validators import validator_for
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.io import InputError, Reject
from lamstudio.schema import FunctionCall, Trajectory
from lamstudio.sources import SourceError, bfcl
from lamstudio.sources.bfcl import (
    BfclDataWarning,
    JoinReport,
    bfcl_type_to_json_schema,
    json_schema_to_bfcl_type,
    parse_call_string,
)

Rows = list[dict[str, Any]]


@pytest.fixture
def bfcl_dir(samples: Path) -> Path:
    return samples / "bfcl"


def dump_record(t: Trajectory) -> dict[str, Any]:
    return t.model_dump(mode="json", exclude_none=True)


def one(path: Path) -> Trajectory:
    rejects: list[Reject] = []
    records = list(bfcl.load(path, on_reject=rejects.append))
    assert rejects == [] and len(records) >= 1
    return records[0]


# --- exact mapping of the samples ---------------------------------------------------------


def test_simple_record_holds_the_reference_call_and_bfcls_inputs(bfcl_dir):
    t = one(bfcl_dir / "BFCL_v4_simple_python.json")
    doc = json.loads((bfcl_dir / "BFCL_v4_simple_python.json").read_text().splitlines()[0])
    answer = json.loads(
        (bfcl_dir / "possible_answer/BFCL_v4_simple_python.json").read_text().splitlines()[0])
    assert dump_record(t) == {
        "id": "simple_python_0", "source": "bfcl",
        "tools": [{"type": "function", "function": {
            "name": "geometry.rectangle_area",
            "description": "Area of a rectangle from its two sides.",
            "parameters": {"type": "object", "properties": {
                "width": {"type": "integer", "description": "Length of one side."},
                "height": {"type": "integer", "description": "Length of the other side."},
                "unit": {"type": "string",
                         "description": "Unit of the sides; 'm' when not given."}},
                "required": ["width", "height"]}}}],
        "messages": [
            {"role": "user", "content": "What is the area of a rectangle 7 m wide and 3 m high?"},
            # "unit" accepts "" first: optional and left out of the reference call
            {"role": "assistant", "tool_calls": [{"id": "call_1_0", "type": "function",
             "function": {"name": "geometry.rectangle_area",
                          "arguments": {"width": 7, "height": 3}}}]}],
        "meta": {"category": "simple_python", "bfcl": {
            "check": "ast", "language": "python", "function": doc["function"],
            "ground_truth": answer["ground_truth"]}}}


def test_nested_dict_tuple_float_any_and_a_system_prompt(bfcl_dir):
    t = list(bfcl.load(bfcl_dir / "BFCL_v4_simple_python.json"))[1]
    assert t.system == "You book restaurant tables."
    assert [m.role for m in t.messages] == ["user", "assistant"]
    params = t.tools[0].function.parameters
    assert params["properties"]["party"]["type"] == "object"
    assert params["properties"]["party"]["properties"]["adults"] == {
        "type": "integer", "description": "Number of adults."}
    assert params["properties"]["time_window"]["type"] == "array"
    assert params["properties"]["time_window"]["x-bfcl-type"] == "tuple"
    assert params["properties"]["budget"]["type"] == "number"
    assert params["properties"]["note"] == {"x-bfcl-type": "any",
                                            "description": "Anything the restaurant should know."}
    # a dict parameter lists acceptable values per key: the first of each is taken
    assert t.calls() == [FunctionCall(name="book_table", arguments={
        "party": {"adults": 2, "children": 1}, "time_window": ["19:00", "21:00"],
        "budget": 80.5, "note": "birthday"})]


def test_parallel_calls_share_one_assistant_message(bfcl_dir):
    t = one(bfcl_dir / "BFCL_v4_parallel.json")
    assert [m.role for m in t.messages] == ["user", "assistant"]
    assert [c.model_dump() for c in t.calls()] == [
        {"name": "currency.convert", "arguments": {"amount": 10.0, "source": "USD",
                                                    "target": "EUR"}},
        {"name": "currency.convert", "arguments": {"amount": 25.0, "source": "GBP",
                                                    "target": "JPY"}}]
    assert [c.id for c in t.messages[1].tool_calls] == ["call_1_0", "call_1_1"]


def test_java_types_map_to_json_types_and_keep_their_names(bfcl_dir):
    t = one(bfcl_dir / "BFCL_v4_simple_java.json")
    assert t.tools[0].function.parameters == {"type": "object", "properties": {
        "region": {"type": "string", "x-bfcl-type": "String",
                   "description": "Name of the cache region."},
        "entries": {"type": "object", "x-bfcl-type": "HashMap",
                    "description": "Keys and values to store."},
        "ttlMillis": {"type": "integer", "x-bfcl-type": "long",
                      "description": "Time to live of each entry, in milliseconds."},
        "tags": {"type": "array", "x-bfcl-type": "ArrayList",
                 "items": {"type": "string", "x-bfcl-type": "String"},
                 "description": "Labels for the entries."},
        "overwrite": {"type": "boolean", "description": "Whether existing keys are replaced."},
        "separator": {"type": "string", "x-bfcl-type": "char",
                      "description": "Separator used in composite keys."},
        "listener": {"x-bfcl-type": "any",
                     "description": "Callback notified of each stored entry."}},
        "required": ["region", "entries", "ttlMillis"]}
    assert t.calls() == [FunctionCall(name="CacheManager.putAll", arguments={
        "region": "sessions", "entries": {"alice": "token-1", "bob": "token-2"},
        "ttlMillis": 60000, "tags": ["auth", "web"], "separator": ","})]
    assert t.meta["bfcl"]["language"] == "java"
    assert t.meta["bfcl"]["native_types"] == ["ArrayList", "HashMap", "String", "char", "long"]
    assert t.meta["bfcl"]["function"][0]["parameters"]["properties"]["ttlMillis"]["type"] == "long"


def test_multi_turn_record_one_reply_per_turn(bfcl_dir):
    t = one(bfcl_dir / "BFCL_v4_multi_turn_miss_func.json")
    assert t.id == "multi_turn_miss_func_0" and t.meta["category"] == "multi_turn_miss_func"
    # rm is in excluded_function; sort is withheld until turn 2 but offered in tools
    assert t.tool_names() == ["cd", "ls", "mkdir", "mv", "sort", "wc"]
    assert "response" not in t.tools[0].function.model_dump()
    out = [dump_record(m) for m in t.messages]
    assert [(m["role"], m.get("content")) for m in out] == [
        ("user", "In my notes folder, make a folder called drafts and move todo.txt into it."),
        ("assistant", None),
        ("user", "Now put the lines of todo.txt in drafts in alphabetical order."),
        ("assistant", None),  # sort is not offered yet: the right reply calls nothing
        ("user", "I have updated some more functions you can choose from. What about now?"),
        ("assistant", None),
        ("user", "How many lines does it have?"),
        ("assistant", None)]
    assert out[3] == {"role": "assistant", "train": False}
    calls = [[(c.function.name, c.function.arguments) for c in m.tool_calls or []]
             for m in t.messages if m.role == "assistant"]
    assert calls == [
        [("cd", {"folder": "notes"}), ("mkdir", {"dir_name": "drafts"}),
         ("mv", {"source": "todo.txt", "destination": "drafts"})],
        [],
        [("cd", {"folder": "drafts"}), ("sort", {"file_name": "todo.txt"})],  # cd('drafts')
        [("wc", {"file_name": "todo.txt", "mode": "l"})]]
    assert not any(m.role == "tool" for m in t.messages)  # BFCL has no results to copy
    b = t.meta["bfcl"]
    assert b["check"] == "multi_turn" and b["missed_function"] == {"2": ["sort"]}
    assert b["excluded_function"] == ["rm"] and b["involved_classes"] == ["GorillaFileSystem"]
    assert b["path"][0] == "GorillaFileSystem.cd" and "GorillaFileSystem" in b["initial_config"]
    assert b["ground_truth"][2] == ["cd('drafts')", "sort(file_name='todo.txt')"]


def test_bfcl_functions_follow_bfcls_holdout(bfcl_dir):
    t = one(bfcl_dir / "BFCL_v4_multi_turn_miss_func.json")
    names = [[d["name"] for d in bfcl.bfcl_functions(t, turn, bfcl_dir / "multi_turn_func_doc")]
             for turn in (0, 1, 2, 3)]
    # BFCL offers excluded_function (rm) and appends sort when turn 2 comes
    assert names[0] == names[1] == ["cd", "ls", "mkdir", "mv", "rm", "wc"]
    assert names[2] == names[3] == ["cd", "ls", "mkdir", "mv", "rm", "wc", "sort"]


def test_irrelevance_has_no_answer_file_and_no_reply(bfcl_dir):
    t = one(bfcl_dir / "BFCL_v4_irrelevance.json")
    assert [m.role for m in t.messages] == ["user"] and t.calls() == []
    assert t.meta["category"] == "irrelevance" and t.meta["bfcl"]["check"] == "irrelevance"
    assert t.tool_names() == ["currency.convert"]


def test_every_sample_tool_schema_is_valid_json_schema(bfcl_dir):
    for path in sorted(bfcl_dir.glob("BFCL_v4_*.json")):
        for t in bfcl.load(path):
            for tool in t.tools:
                schema = tool.function.parameters
                validator_for(schema).check_schema(schema)


def test_dump_and_dump_answers_give_back_bfcls_files(bfcl_dir, tmp_path):
    shutil.copytree(bfcl_dir / "multi_turn_func_doc", tmp_path / "multi_turn_func_doc")
    (tmp_path / "possible_answer").mkdir()
    for path in sorted(bfcl_dir.glob("BFCL_v4_*.json")):
        records = list(bfcl.load(path))
        out = tmp_path / path.name
        assert bfcl.dump(records, out) == len(records)
        answers = bfcl_dir / "possible_answer" / path.name
        n = bfcl.dump_answers(records, tmp_path / "possible_answer" / path.name)
        assert rows(out) == rows(path)
        if answers.exists():
            assert n == len(records) and rows(tmp_path / "possible_answer" / path.name) == rows(
                answers)
        else:
            assert n == 0
        assert list(bfcl.load(out)) == records


def test_answers_are_derived_from_calls_when_meta_has_none(bfcl_dir):
    for name in ("BFCL_v4_parallel.json", "BFCL_v4_multi_turn_miss_func.json"):
        t = one(bfcl_dir / name)
        bare = t.model_copy(update={"meta": {"bfcl": {
            k: v for k, v in t.meta["bfcl"].items() if k != "ground_truth"}}})
        row = bfcl.answer_row(bare)
        if name == "BFCL_v4_parallel.json":
            assert row == {"id": "parallel_0", "ground_truth": [
                {"currency.convert": {"amount": [10.0], "source": ["USD"], "target": ["EUR"]}},
                {"currency.convert": {"amount": [25.0], "source": ["GBP"], "target": ["JPY"]}}]}
        else:
            assert row["ground_truth"][2] == ["cd(folder='drafts')", "sort(file_name='todo.txt')"]
            assert row["ground_truth"][1] == []


def test_a_record_from_another_source_dumps_as_a_question(bfcl_dir):
    t = Trajectory.model_validate({
        "id": "x1", "system": "Be brief.",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"n": {"type": "number"}, "p": {
                "type": "array", "x-bfcl-type": "tuple", "items": {"type": "integer"}}}}}}],
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "assistant", "tool_calls": [
                         {"function": {"name": "f", "arguments": {"n": 1}}}]}]})
    assert bfcl.to_row(t) == {"id": "x1", "question": [[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]],
        "function": [{"name": "f", "description": "", "parameters": {
            "type": "dict", "properties": {"n": {"type": "float"}, "p": {
                "type": "tuple", "items": {"type": "integer"}}}}}]}
    assert bfcl.answer_row(t) == {"id": "x1", "ground_truth": [{"f": {"n": [1]}}]}


def test_convert_cli_reads_bfcl(bfcl_dir, tmp_path):
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["convert", str(bfcl_dir / "BFCL_v4_simple_java.json"),
                                   "--from", "bfcl", "-o", str(out)])
    assert res.exit_code == 0, res.output
    (line,) = out.read_text().splitlines()
    assert json.loads(line)["meta"]["bfcl"]["language"] == "java"


# --- types ---------------------------------------------------------------------------------


def test_type_mapping_round_trips_and_validates():
    schema = {"type": "dict", "properties": {
        "a": {"type": "float"}, "b": {"type": "tuple", "items": {"type": "integer"}},
        "c": {"type": "any"}, "d": {"type": "HashMap"}, "e": {"type": "Array",
                                                            "items": {"type": "long"}},
        "f": {"type": "dict", "properties": {"g": {"type": "Boolean"}, "h": {"type": ""}}},
        "i": {"type": "array", "items": {"type": "dict", "properties": {
            "j": {"type": "double"}}}}}, "required": ["a"]}
    mapped = bfcl_type_to_json_schema(schema)
    validator_for(mapped).check_schema(mapped)
    assert mapped["type"] == "object" and "x-bfcl-type" not in mapped
    assert mapped["properties"]["e"] == {"type": "array", "x-bfcl-type": "Array",
                                         "items": {"type": "integer", "x-bfcl-type": "long"}}
    assert mapped["properties"]["f"]["properties"]["h"] == {"x-bfcl-type": ""}
    assert mapped["properties"]["i"]["items"]["properties"]["j"]["type"] == "number"
    assert json_schema_to_bfcl_type(mapped) == schema
    assert schema["type"] == "dict"  # the input is left alone


# --- call strings ----------------------------------------------------------------------------

DOCS = {"mv": {"name": "mv", "parameters": {"type": "dict", "properties": {
    "source": {"type": "string"}, "destination": {"type": "string"}}}},
        "mean": {"name": "mean", "parameters": {"type": "dict", "properties": {
            "numbers": {"type": "array"}}}}}


@pytest.mark.parametrize("s, name, args", [
    ("mv(source='a.pdf', destination='temp')", "mv", {"source": "a.pdf", "destination": "temp"}),
    ("mv('a.pdf', 'temp')", "mv", {"source": "a.pdf", "destination": "temp"}),
    ("mv('a.pdf', destination='temp')", "mv", {"source": "a.pdf", "destination": "temp"}),
    ("mean([227.16,2.552, -3, -0.5e-3])", "mean", {"numbers": [227.16, 2.552, -3, -0.0005]}),
    ("GorillaFileSystem.mv(source='a', destination='b')", "mv",
     {"source": "a", "destination": "b"}),
    ("math.factorial(number=5)", "math.factorial", {"number": 5}),
    ("f(a=None, b=True, c=False, d=(1, 2), e={'k': [1, {'z': -1}]}, g='')", "f",
     {"a": None, "b": True, "c": False, "d": [1, 2], "e": {"k": [1, {"z": -1}]}, "g": ""}),
    ("  ls()  ", "ls", {}),
    ("q(**{'from': 1, 'to': 2}, x=3)", "q", {"from": 1, "to": 2, "x": 3}),
])
def test_parse_call_string(s, name, args):
    call = parse_call_string(s, DOCS)
    assert call == FunctionCall(name=name, arguments=args)
    assert parse_call_string(bfcl.format_call_string(call), DOCS) == call


@pytest.mark.parametrize("s, why", [
    ("mv(source='a'", "not valid Python"),
    ("mv", "expected a function call"),
    ("mv(source=path)", "is not a literal"),
    ("mv(source=open('x'))", "is not a literal"),
    ("mv('a', 'b', 'c')", "3 positional arguments"),
    ("cd('x')", "need the doc of 'cd'"),
    ("mv(source='a', source='b')", "given twice"),
    ("mv('a', source='b')", "given twice"),
    ("mv(**['a'])", "needs a literal dict"),
    ("mv(**x)", "is not a literal"),
    ("mv(**{'source': 1}, source=2)", "given twice"),
    ("mv(source=1e999)", "cannot be written as JSON"),
    ("mv(source=b'x')", "bytes value"),
    ("mv(source={1: 'a'})", "keys must be strings"),
    ("f()()", "not a (dotted) name"),
    (None, "expected a string"),
])
def test_bad_call_strings_are_refused(s, why):
    with pytest.raises(SourceError) as err:
        parse_call_string(s, DOCS)
    assert err.value.code == "bad_call_string" and why in err.value.message


# --- rejects ---------------------------------------------------------------------------------

FN = {"name": "f", "description": "", "parameters": {"type": "dict", "properties": {
    "a": {"type": "integer"}, "b": {"type": "string"}}, "required": ["a"]}}


def write_bfcl(folder: Path, category: str, questions: Rows, answers: Rows | None) -> Path:
    path = folder / f"BFCL_v4_{category}.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in questions))
    if answers is not None:
        (folder / "possible_answer").mkdir(exist_ok=True)
        (folder / "possible_answer" / path.name).write_text(
            "".join(json.dumps(r) + "\n" for r in answers))
    return path


def q(rid: str, fn: dict[str, Any] = FN) -> dict[str, Any]:
    return {"id": rid, "question": [[{"role": "user", "content": "go"}]], "function": [fn]}


def rejects_of(path: Path) -> list[tuple[Any, str]]:
    rejects: list[Reject] = []
    list(bfcl.load(path, on_reject=rejects.append))
    return [(r.id, r.code) for r in rejects]


@pytest.mark.parametrize("params, code", [
    ({"a": []}, "answer_no_value"),  # nothing acceptable: no call can pass
    ({"a": [""]}, "answer_missing_required"),  # required, yet "may be omitted"
    ({"b": ["x"]}, "answer_missing_required"),  # required a is absent
    ({"a": [1], "c": [2]}, "answer_unknown_param"),  # c is not declared
    ({"a": 1}, "bad_answer"),  # acceptable values must be a list
])
def test_unsatisfiable_ground_truth_is_rejected(tmp_path, params, code):
    path = write_bfcl(tmp_path, "simple_python", [q("simple_python_0")],
                      [{"id": "simple_python_0", "ground_truth": [{"f": params}]}])
    assert rejects_of(path) == [("simple_python_0", code)]


def test_undeclared_optional_param_is_left_out(tmp_path):
    path = write_bfcl(tmp_path, "simple_python", [q("simple_python_0")],
                      [{"id": "simple_python_0", "ground_truth": [{"f": {
                          "a": [1], "b": ["", "x"], "c": ["z", ""]}}]}])
    assert one(path).calls() == [FunctionCall(name="f", arguments={"a": 1})]


def test_answer_rows_are_checked(tmp_path):
    path = write_bfcl(tmp_path, "multiple", [q("multiple_0"), q("multiple_1"), q("multiple_2"),
                                             q("multiple_3")],
                      [{"id": "multiple_0", "ground_truth": [{"g": {"a": [1]}}]},
                       {"id": "multiple_1", "ground_truth": []},
                       {"id": "multiple_2", "ground_truth": [{"f": {"a": [1]}, "g": {}}]},
                       {"id": "multiple_3", "ground_truth": "f(a=1)"}])
    assert rejects_of(path) == [("multiple_0", "answer_unknown_function"),
                                ("multiple_1", "bad_answer"), ("multiple_2", "bad_answer"),
                                ("multiple_3", "bad_answer")]


def test_question_without_answer_and_answer_without_question(tmp_path):
    path = write_bfcl(tmp_path, "simple_python", [q("simple_python_0"), q("simple_python_1")],
                      [{"id": "simple_python_0", "ground_truth": [{"f": {"a": [1]}}]},
                       {"id": "simple_python_9", "ground_truth": [{"f": {"a": [2]}}]}])
    report = JoinReport()
    with pytest.warns(BfclDataWarning, match="1 answers have no question.*simple_python_9"):
        rows_ = list(bfcl.iter_raw(path, report=report))
    assert len(rows_) == 2 and report.orphan_answers == ["simple_python_9"]
    with pytest.warns(BfclDataWarning):
        assert rejects_of(path) == [("simple_python_1", "missing_answer")]


def test_bad_question_rows(tmp_path):
    rows_ = [{"id": "simple_python_0", "question": "hi", "function": [FN]},
             {"id": "simple_python_1", "question": [["hi"]], "function": [FN]},
             {"id": "simple_python_2", "question": [[{"role": "user", "content": "x"}]]},
             {"id": "simple_python_3", "question": [[{"role": "user", "content": "x"}]],
              "function": [{"description": "no name"}]},
             {"id": "simple_python_4", "question": [[{"role": "robot", "content": "x"}]],
              "function": [FN]},
             {"question": [[{"role": "user", "content": "x"}]], "function": [FN]},
             q("simple_python_5"), q("simple_python_5")]
    answers = [{"id": f"simple_python_{i}", "ground_truth": [{"f": {"a": [1]}}]}
               for i in range(6)]
    path = write_bfcl(tmp_path, "simple_python", rows_, answers)
    path.write_text(path.read_text() + "{not json\n")
    assert rejects_of(path) == [
        ("simple_python_0", "wrong_type"), ("simple_python_1", "bad_question"),
        ("simple_python_2", "missing_field"), ("simple_python_3", "bad_function"),
        ("simple_python_4", "invalid_role"), (None, "missing_field"),
        ("simple_python_5", "duplicate_id"), (None, "bad_json")]


def mt(rid: str, turns: int = 2, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "question": [[{"role": "user", "content": f"t{i}"}] for i in range(turns)],
            "initial_config": {}, "path": [], "involved_classes": ["GorillaFileSystem"], **extra}


def test_multi_turn_rejects(tmp_path, bfcl_dir):
    shutil.copytree(bfcl_dir / "multi_turn_func_doc", tmp_path / "multi_turn_func_doc")
    cases = [
        (mt("multi_turn_base_0"), [["ls()"]], "turn_count_mismatch"),
        (mt("multi_turn_base_1"), [["ls("], []], "bad_call_string"),
        (mt("multi_turn_base_2"), [["chmod(x=1)"], []], "answer_unknown_function"),
        (mt("multi_turn_base_3", excluded_function=["rm"]), [["rm(file_name='a')"], []],
         "answer_unknown_function"),
        (mt("multi_turn_base_4", involved_classes=["NoSuchAPI"]), [[], []], "unknown_class"),
        (mt("multi_turn_base_5", missed_function={"1": ["chmod"]}), [[], []],
         "unknown_missed_function"),
        (mt("multi_turn_base_6"), "ls()", "bad_answer"),
        (mt("multi_turn_base_7"), [["ls()"], "cd('x')"], "bad_answer"),
    ]
    path = write_bfcl(tmp_path, "multi_turn_base", [c[0] for c in cases],
                      [{"id": c[0]["id"], "ground_truth": c[1]} for c in cases])
    assert rejects_of(path) == [(c[0]["id"], c[2]) for c in cases]


def test_agentic_rows_keep_answers_in_meta(tmp_path):
    path = write_bfcl(tmp_path, "memory", [
        {"id": "memory_0-customer-0", "question": [[{"role": "user", "content": "My name?"}]],
         "involved_classes": ["MemoryAPI"], "scenario": "customer"}],
        [{"id": "memory_0-customer-0", "ground_truth": ["Ann"], "source": "I am Ann."}])
    t = one(path)
    assert t.tools == [] and [m.role for m in t.messages] == ["user"]
    assert t.meta["bfcl"]["ground_truth"] == ["Ann"] and t.meta["bfcl"]["check"] == "agentic"
    assert t.meta["bfcl"]["answer"] == {"source": "I am Ann."}
    assert t.meta["bfcl"]["memory_backends"] == ["MemoryAPI_kv", "MemoryAPI_vector",
                                                 "MemoryAPI_rec_sum"]
    assert t.meta["bfcl"]["scenario"] == "customer"
    assert bfcl.to_row(t) == json.loads(path.read_text())


def test_unreadable_inputs_fail_whole(tmp_path):
    path = write_bfcl(tmp_path, "simple_python", [q("simple_python_0")], None)
    with pytest.raises(InputError, match="no possible-answer file"):
        list(bfcl.load(path))
    (tmp_path / "possible_answer").mkdir()
    (tmp_path / "possible_answer" / path.name).write_text('{"id": "a"}\n{"id": "a"}\n')
    with pytest.raises(InputError, match="appears twice"):
        list(bfcl.load(path))
    (tmp_path / "possible_answer" / path.name).write_text('{"id": "a"}\n[oops\n')
    with pytest.raises(InputError, match=r"BFCL_v4_simple_python.json:2"):
        list(bfcl.load(path))
    fs = tmp_path / "BFCL_v4_format_sensitivity.json"
    fs.write_text('{"simple_python": ["simple_python_0"]}\n')
    with pytest.raises(InputError, match="holds no questions"):
        list(bfcl.load(fs))


def test_explicit_answer_path(tmp_path):
    path = write_bfcl(tmp_path, "parallel", [q("parallel_0")], None)
    answers = tmp_path / "elsewhere.jsonl"
    answers.write_text(json.dumps({"id": "parallel_0", "ground_truth": [{"f": {"a": [3]}}]}))
    (t,) = bfcl.load(path, answers=answers)
    assert t.calls() == [FunctionCall(name="f", arguments={"a": 3})]


def rows(path: Path) -> Rows:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
