"""The AST checker's rules, one by one (BFCL semantics; see test_bfcl_agreement for the
exhaustive comparison with BFCL's own checker)."""

from __future__ import annotations

from lamstudio.eval import Call, check, compile_case, java_value, js_value, standardize

DOC = {"name": "book", "parameters": {"type": "dict", "required": ["city", "nights"],
                                      "properties": {
    "city": {"type": "string"}, "nights": {"type": "integer"},
    "price": {"type": "float"}, "tags": {"type": "array", "items": {"type": "string"}},
    "breakfast": {"type": "boolean"}}}}
ANSWER = [{"book": {"city": ["New York, NY"], "nights": [2], "price": [99.0, ""],
                    "tags": [["quiet", "high floor"], ""], "breakfast": [""]}}]
CASE = compile_case("t", "simple_python", [DOC], ANSWER)


def verdict(**args):
    return check(CASE, [Call("book", args)])


def test_exact_call_passes_and_optional_arguments_may_be_omitted() -> None:
    assert verdict(city="New York, NY", nights=2).valid
    assert verdict(city="New York, NY", nights=2, price=99.0, tags=["quiet", "high floor"]).valid


def test_strings_compare_after_bfcl_normalisation() -> None:
    assert standardize("New York, NY") == standardize("new york ny") == "newyorkny"
    assert verdict(city="NEW-YORK NY.", nights=2).valid
    v = verdict(city="New York!", nights=2)
    assert (v.valid, v.code, v.pattern) == (False, "value_string", "IAV")


def test_types_are_strict_except_int_for_float() -> None:
    assert verdict(city="New York, NY", nights=2, price=99).valid
    v = verdict(city="New York, NY", nights=2.0)
    assert (v.code, v.pattern) == ("type_error", "IAT")
    assert verdict(city="New York, NY", nights=True).code == "type_error"  # bool is not int


def test_argument_names_must_be_known_and_required_present() -> None:
    assert verdict(city="New York, NY").code == "missing_required"
    v = verdict(city="New York, NY", nights=2, pets=1)
    assert (v.code, v.pattern) == ("unexpected_param", "IAN")
    # In the doc but not in the answer: BFCL rejects it too.
    assert verdict(city="New York, NY", nights=2, breakfast=True).code == "value_other"


def test_lists_are_order_sensitive() -> None:
    v = verdict(city="New York, NY", nights=2, tags=["high floor", "quiet"])
    assert v.code == "value_list"


def test_counts_and_names() -> None:
    assert check(CASE, []).pattern == "IAC"
    two = [Call("book", {"city": "New York, NY", "nights": 2})] * 2
    assert (check(CASE, two).code, check(CASE, two).pattern) == ("wrong_count", "RAC")
    assert check(CASE, [Call("boook", {})]).pattern == "IFN"
    assert check(CASE, [Call("book", '{"city": ')]).pattern == "IFE"


def test_parallel_matches_in_any_order() -> None:
    answer = [{"book": {"city": ["Paris"], "nights": [1]}},
              {"book": {"city": ["Rome"], "nights": [3]}}]
    case = compile_case("p", "parallel", [DOC], answer)
    rome, paris = Call("book", {"city": "Rome", "nights": 3}), Call("book", {"city": "Paris",
                                                                            "nights": 1})
    assert check(case, [rome, paris]).valid
    v = check(case, [rome, rome])
    assert (v.code, v.sub_code, v.pattern) == ("no_match", "value_string", "IAV")


def test_java_and_javascript_values_are_typed_source_literals() -> None:
    assert java_value("42L", "long") == 42 and java_value("42", "long") == "42"
    assert java_value("1.5f", "float") == 1.5
    assert java_value('new ArrayList<>(Arrays.asList("a", "b"))', "ArrayList", "String") == [
        "a", "b"]
    assert java_value('new HashMap<String, Object>() {{ put("k", 5); }}', "HashMap") == {
        "k": 5}
    assert js_value("[1, 2]", "array", "integer") == [1, 2]
    assert js_value("{a: 'x', b: [1]}", "dict") == {"a": "x", "b": [1]}
    doc = {"name": "f", "parameters": {"properties": {"n": {"type": "long"}},
                                       "required": ["n"]}}
    case = compile_case("j", "simple_java", [doc], [{"f": {"n": [42]}}])
    assert check(case, [Call("f", {"n": "42L"})]).valid
    assert check(case, [Call("f", {"n": 42})]).code == "type_error_java"


def test_a_broken_entry_is_a_verdict_not_a_crash() -> None:
    doc = {"name": "f", "parameters": {"properties": {"x": {"type": "mystery"}}}}
    case = compile_case("b", "simple_python", [doc], [{"f": {"x": [1]}}])
    v = check(case, [Call("f", {"x": 1})])
    assert (v.valid, v.code) == (False, "bad_doc")
