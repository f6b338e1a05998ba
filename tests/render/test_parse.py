"""The tool-call parser reads what templates write and never crashes on what models write."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamstudio.render import parse_output, render_calls
from lamstudio.render._parse import _parse
from lamstudio.schema import FunctionCall


def fc(name: str, **arguments) -> FunctionCall:
    return FunctionCall(name=name, arguments=arguments)


@pytest.mark.parametrize("text, calls, content", [
    ('[TOOL_CALLS][{"name":"f","arguments":{"a":1}}]', [fc("f", a=1)], ""),
    ('Let me check.[TOOL_CALLS][{"name":"f","arguments":{}},{"name":"g","arguments":{"b":"x"}}]'
     "<|end|>", [fc("f"), fc("g", b="x")], "Let me check."),
    # Mistral: a single object, the marker repeated per call, and the v11 [ARGS] form.
    ('[TOOL_CALLS]{"name":"f","arguments":{"a":1}}', [fc("f", a=1)], ""),
    ('[TOOL_CALLS][{"name":"f","arguments":{}}][TOOL_CALLS][{"name":"g","arguments":{}}]',
     [fc("f"), fc("g")], ""),
    ('[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}', [fc("get_weather", city="Paris")], ""),
    # Hermes / Qwen tags, several, with text around.
    ('Sure.\n<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>\n'
     '<tool_call>\n{"name": "g", "arguments": {}}\n</tool_call><|im_end|>',
     [fc("f", a=1), fc("g")], "Sure."),
    # OpenAI shape, arguments as a JSON string, Llama-style "parameters".
    ('<tool_call>{"type": "function", "function": {"name": "f", "arguments": "{\\"a\\": 2}"}}'
     "</tool_call>", [fc("f", a=2)], ""),
    ('{"name": "f", "parameters": {"a": 3}}', [fc("f", a=3)], ""),
    # Bare xLAM JSON list, and JSON objects one per line.
    ('[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]',
     [fc("f", a=1), fc("g")], ""),
    ('{"name": "f", "arguments": {}}\n{"name": "g", "arguments": {}}', [fc("f"), fc("g")], ""),
    # Code fences: calls are taken out, other code stays content.
    ('Calling:\n```json\n[{"name": "f", "arguments": {"a": 1}}]\n```', [fc("f", a=1)],
     "Calling:"),
    ('Here is code:\n```python\nprint(1)\n```', [], "Here is code:\n```python\nprint(1)\n```"),
    ('The config is\n```json\n{"debug": true}\n```', [],
     'The config is\n```json\n{"debug": true}\n```'),
    # Plain content, JSON that is an answer, not a call.
    ("It is 11 C in Paris.", [], "It is 11 C in Paris."),
    ('{"temperature": 11}', [], '{"temperature": 11}'),
    ("[1, 2, 3]", [], "[1, 2, 3]"),
])
def test_formats_templates_write(text, calls, content):
    out = parse_output(text)
    assert out.ok, out.error
    assert (out.calls, out.content) == (calls, content)


def test_think_blocks_become_reasoning():
    out = parse_output('<think>The user wants Paris.</think>[TOOL_CALLS][{"name":"f",'
                       '"arguments":{}}]')
    assert out.reasoning == "The user wants Paris." and out.calls == [fc("f")]
    # Qwen3 / R1: the prompt opened <think>, so output starts inside it.
    out = parse_output("plan: call f</think>\n\nDone.")
    assert (out.reasoning, out.content) == ("plan: call f", "Done.")
    out = parse_output("<think>still thinking")
    assert out.error_code == "unclosed_tag" and out.reasoning == "still thinking"


@pytest.mark.parametrize("text, code", [
    ("", "empty"),
    ("   <|end|>", "empty"),
    ("<think>only thoughts</think>", "empty"),
    ('[TOOL_CALLS][{"name":"f","arguments":{"a":1', "invalid_json"),
    ("[TOOL_CALLS]", "invalid_json"),
    ('[{"name": "f", "arguments": {"a": 1}', "invalid_json"),
    ('<tool_call>{"name": "f", "arguments": {"a": 1}}', "unclosed_tag"),
    ('<tool_call>{"name": "f", "arguments": "{not json"}</tool_call>', "invalid_json"),
    ('[TOOL_CALLS][{"name":"f","arguments":[1,2]}]', "bad_call_shape"),
    ('[TOOL_CALLS][{"name":"f","arguments":"[1]"}]', "bad_call_shape"),
    ('[TOOL_CALLS][{"arguments":{}}]', "bad_call_shape"),
    ('[TOOL_CALLS][{"name":42,"arguments":{}}]', "bad_call_shape"),
    ("[TOOL_CALLS][1, 2]", "bad_call_shape"),
    ('[TOOL_CALLS][{"name":"f","arguments":{}}] and then some words', "trailing_text"),
    (12345, "not_text"),
])
def test_malformed_output_gets_an_error_code(text, code):
    out = parse_output(text)
    assert out.error_code == code, out
    assert not out.ok and out.error


def test_good_calls_survive_next_to_a_bad_one():
    out = parse_output('<tool_call>{"name": "f", "arguments": {}}</tool_call>'
                       '<tool_call>{"name": "g", "arguments": {</tool_call>')
    assert out.calls == [fc("f")] and out.error_code == "invalid_json"


@pytest.mark.parametrize("junk", [
    "x" * 1_000_000,
    "[" * 1_000_000,
    "{" * 200_000 + "}",
    "[TOOL_CALLS]" + "[" * 100_000,
    "<tool_call>" * 50_000,
    "```" * 100_000,
    "\ufffd" * 500_000 + '[TOOL_CALLS][{"name":"f"}]',
    b"\xff\xfe[TOOL_CALLS][{\"name\":\"f\",\"arguments\":{}}]",
    "<think>" * 10_000 + "</think>" * 10_000,
])
def test_junk_never_crashes(junk):
    out = _parse(junk)  # the inner function: no safety net hides an exception here
    assert out.error_code != "parser_error"
    assert isinstance(out.content, str)


def test_non_utf8_bytes_are_decoded_with_replacement():
    out = parse_output(b'\xff[TOOL_CALLS][{"name":"f","arguments":{}}]')
    assert out.calls == [fc("f")] and out.content == "\ufffd"


# Strings that mean something to the parser, to be found inside argument keys and values.
_tricky = st.sampled_from(["[TOOL_CALLS]", "[ARGS]", "<think>", "</think>", "<tool_call>",
                           "</tool_call>", "```json\n", "<|end|>", "{\"name\": \"x\"}", "\\"])
_strings = st.text(max_size=20) | _tricky | st.lists(_tricky | st.text(max_size=3)).map("".join)
_json_scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
                 | st.floats(allow_nan=False, allow_infinity=False) | _strings)
_json = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(_strings, inner, max_size=4), max_leaves=12)
_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,30}", fullmatch=True)
_calls = st.lists(st.builds(FunctionCall, name=_names,
                            arguments=st.dictionaries(_strings, _json, max_size=5)),
                  max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=_calls, content=st.text(max_size=40).map(str.strip))
def test_parse_inverts_the_default_template(calls, content):
    if "[TOOL_CALLS]" in content or "<think>" in content or "</think>" in content:
        return
    text = render_calls(calls, content)
    out = _parse(text)
    assert out.calls == calls
    if calls:
        assert out.content == content and out.ok


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_any_text_parses_without_exceptions(text):
    out = _parse(text)
    assert out.error_code != "parser_error"


@settings(max_examples=100, deadline=None)
@given(calls=_calls.filter(bool), cut=st.integers(min_value=1, max_value=400))
def test_truncated_output_is_an_error_not_a_wrong_call(calls, cut):
    text = render_calls(calls)
    truncated = text[: max(len("[TOOL_CALLS]") + 1, len(text) - cut)]
    out = _parse(truncated)
    if truncated != text:
        assert not out.ok
        assert out.calls == [] or out.calls == calls[: len(out.calls)]


def test_to_message_is_openai_shaped():
    msg = parse_output('<think>r</think>ok[TOOL_CALLS][{"name":"f","arguments":{"a":1}}]'
                       ).to_message()
    assert msg["content"] == "ok" and msg["reasoning_content"] == "r"
    assert msg["tool_calls"][0]["function"] == {"name": "f", "arguments": json.dumps({"a": 1})}
