"""APIGen / xLAM rows: JSON-string fields, flat Python-typed tools -> JSON Schema, categories,
and a dump that gives back the very rows it read."""

import json

import pytest

from lamstudio.schema import Trajectory
from lamstudio.sources import apigen

WEATHER = {"name": "get_weather", "description": "Fetches the weather.",
           "parameters": {"city": {"description": "City name.", "type": "str", "default": "Paris"},
                          "days": {"description": "Forecast days.", "type": "List[int]"},
                          "units": {"description": "Units.", "type": "str, optional",
                                    "default": ""}}}
PRIME = {"name": "is_prime", "description": "Checks primality.",
         "parameters": {"num": {"description": "The number.", "type": "int"}}}


def row(answers, tools=(WEATHER,), **extra):
    return {"id": 7, "query": "Weather in Paris?", "answers": json.dumps(answers),
            "tools": json.dumps(list(tools)), **extra}


def test_row_becomes_the_exact_record(load_rows):
    answers = [{"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2]}}]
    records, rejects = load_rows(apigen, [row(answers)])
    assert rejects == []
    assert records == [Trajectory.model_validate({
        "id": "xlam60k-000007", "source": "xlam-function-calling-60k",
        "tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Fetches the weather.",
            "parameters": {"type": "object", "properties": {
                "city": {"type": "string", "description": "City name.", "default": "Paris"},
                "days": {"type": "array", "items": {"type": "integer"},
                         "description": "Forecast days."},
                "units": {"type": "string", "description": "Units.", "default": ""}},
                "required": ["days"]}}}],
        "messages": [{"role": "user", "content": "Weather in Paris?"},
                     {"role": "assistant", "tool_calls": [{"id": "call_1_0", "function": {
                         "name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2]}}}]}],
        "meta": {"category": "simple", "apigen_types": {
            "get_weather": {"city": "str", "days": "List[int]", "units": "str, optional"}}}})]


@pytest.mark.parametrize(("type_str", "schema", "optional"), [
    ("str", {"type": "string"}, False),
    ("int, optional", {"type": "integer"}, True),
    ("float", {"type": "number"}, False),
    ("bool, optional", {"type": "boolean"}, True),
    ("List[int]", {"type": "array", "items": {"type": "integer"}}, False),
    ("List[Dict[str, Any]], optional", {"type": "array", "items": {"type": "object"}}, True),
    ("List", {"type": "array"}, False),
    ("Dict", {"type": "object"}, False),
    ("Dict[str, int]", {"type": "object"}, False),
    ("Union[int, float]", {"type": ["integer", "number"]}, False),
    ("Optional[str]", {"type": "string"}, True),
    ("int, default=10", {"type": "integer"}, True),
    ("str or None", {"type": "string"}, False),
    ("Tuple[float, float]", {"type": "array", "items": {"type": "number"}}, False),
    ("Callable", {}, False),
    ("", {}, False),
])
def test_python_type_strings_map_to_json_schema(type_str, schema, optional):
    assert apigen.parse_type(type_str) == (schema, optional)


def test_parse_type_returns_a_fresh_dict_each_time():
    first, _ = apigen.parse_type("List[int]")
    first["items"]["type"] = "string"
    assert apigen.parse_type("List[int]")[0] == {"type": "array", "items": {"type": "integer"}}


@pytest.mark.parametrize(("answers", "tools", "category"), [
    ([], [WEATHER], "irrelevance"),
    ([("get_weather", {"city": "Rome"})], [WEATHER], "simple"),
    ([("is_prime", {"num": 7})], [WEATHER, PRIME], "multiple"),
    ([("is_prime", {"num": 7}), ("is_prime", {"num": 9})], [PRIME], "parallel"),
    ([("is_prime", {"num": 7}), ("is_prime", {"num": 9})], [WEATHER, PRIME], "parallel"),
    ([("is_prime", {"num": 7}), ("get_weather", {"city": "Rome"})], [WEATHER, PRIME],
     "parallel_multiple"),
])
def test_category_follows_calls_and_offered_tools(load_rows, answers, tools, category):
    calls = [{"name": n, "arguments": a} for n, a in answers]
    (record,), _ = load_rows(apigen, [row(calls, tools)])
    assert record.meta["category"] == category
    assert len(record.calls()) == len(answers)


def test_row_without_calls_keeps_an_assistant_turn_that_calls_nothing(load_rows):
    (record,), _ = load_rows(apigen, [row([])])
    assert [m.role for m in record.messages] == ["user", "assistant"]
    assert record.messages[1].tool_calls is None and record.messages[1].content is None


def test_row_naming_its_source_keeps_it_and_prefixes_ids_with_it(load_rows, tmp_path):
    (record,), _ = load_rows(apigen, [row([], source="xlam-irrelevance-7.5k")])
    assert (record.source, record.id) == ("xlam-irrelevance-7.5k", "xlam-irrelevance-7.5k-000007")
    assert apigen.to_row(record)["id"] == 7


@pytest.mark.parametrize(("bad", "code", "field"), [
    ({"tools": '[{"name": "f", "parameters": {'}, "bad_tools_json", "tools"),
    ({"answers": '[{"name": "f", "arguments": {"x": 1}'}, "bad_answers_json", "answers"),
    ({"query": None}, "missing_field", "query"),
    ({"query": 42}, "wrong_type", "query"),
    ({"tools": '{"name": "f"}'}, "wrong_type", "tools"),
    ({"answers": '{"name": "f"}'}, "wrong_type", "answers"),
    ({"answers": '[{"arguments": {"x": 1}}]'}, "bad_function_call", "answers[0].name"),
    ({"answers": '["f(x=1)"]'}, "bad_function_call", "answers[0]"),
    ({"tools": '[{"description": "no name"}]'}, "missing_field", "tools[0].name"),
    ({"tools": '[{"name": "f", "parameters": {"x": "int"}}]'}, "wrong_type",
     "tools[0].parameters.x"),
    ({"answers": '[{"name": "f", "arguments": [1, 2]}]'}, "wrong_type",
     "messages[1].tool_calls[0].function.arguments"),
])
def test_bad_rows_are_rejected_with_reason_and_field(reject_of, bad, code, field):
    good = row([{"name": "get_weather", "arguments": {"city": "Rome"}}])
    reject = reject_of(apigen, {**good, **bad})
    assert (reject.code, reject.field) == (code, field), reject.message
    assert reject.line == 1 and reject.message


def test_dump_gives_back_the_rows_it_read(samples, tmp_path):
    src = samples / "apigen.jsonl"
    out = tmp_path / "again.jsonl"
    records = list(apigen.load(src))
    assert apigen.dump(records, out) == len(records) > 0
    original = [json.loads(x) for x in src.read_text().splitlines()]
    again = [json.loads(x) for x in out.read_text().splitlines()]
    for a, b in zip(original, again, strict=True):
        assert b["id"] == a["id"] and b["query"] == a["query"]
        assert json.loads(b["tools"]) == json.loads(a["tools"])
        assert json.loads(b["answers"]) == json.loads(a["answers"])


def test_tools_from_another_format_get_python_type_strings():
    record = Trajectory.model_validate({
        "id": "oa-1", "tools": [{"type": "function", "function": {
            "name": "f", "description": "d", "parameters": {"type": "object", "properties": {
                "q": {"type": "string", "description": "query"},
                "n": {"type": "integer", "default": 3},
                "tags": {"type": "array", "items": {"type": "string"}}},
                "required": ["q"]}}}],
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "assistant", "tool_calls": [{"function": {
                         "name": "f", "arguments": {"q": "x"}}}]}]})
    out = apigen.to_row(record)
    assert out["id"] == "oa-1" and out["query"] == "hi"
    assert json.loads(out["answers"]) == [{"name": "f", "arguments": {"q": "x"}}]
    assert json.loads(out["tools"]) == [{"name": "f", "description": "d", "parameters": {
        "q": {"description": "query", "type": "str"},
        "n": {"type": "int", "default": 3},
        "tags": {"type": "List[str], optional"}}}]
    # ... and reading that back gives the same schema again.
    assert apigen.from_row({**out, "id": 1})["tools"][0]["function"]["parameters"] == \
        record.tools[0].function.parameters


def test_openai_shaped_tools_pass_through(load_rows):
    spec = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}}
    (record,), _ = load_rows(apigen, [row([{"name": "f", "arguments": {"x": 1}}], [spec])])
    assert record.tools[0].model_dump(exclude_none=True) == {**spec, "function": {
        **spec["function"], "description": ""}}
    assert "apigen_types" not in record.meta
