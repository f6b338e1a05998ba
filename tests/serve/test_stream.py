"""What a generation turns into: ``settle`` (whole) and ``StreamParser`` (in pieces) agree,
and the vLLM plugin's parsing reads the same calls as lamstudio's parser."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamstudio.render import Renderer, parse_output, render_calls
from lamstudio.schema import FunctionCall
from lamstudio.serve import (
    PLUGIN_FILE,
    ServeConfig,
    StreamParser,
    call_prefixes,
    settle,
    vllm_command,
    vllm_extract,
)


def fc(name: str, **arguments) -> FunctionCall:
    return FunctionCall(name=name, arguments=arguments)


# The formats lamstudio's parser reads (tests/render/test_parse.py), plus broken output.
CASES = [
    '[TOOL_CALLS][{"name":"f","arguments":{"a":1}}]',
    'Let me check.[TOOL_CALLS][{"name":"f","arguments":{}},{"name":"g","arguments":{"b":"x"}}]',
    '[TOOL_CALLS]{"name":"f","arguments":{"a":1}}',
    '[TOOL_CALLS][{"name":"f","arguments":{}}][TOOL_CALLS][{"name":"g","arguments":{}}]',
    '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}',
    'Sure.\n<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>\n'
    '<tool_call>\n{"name": "g", "arguments": {}}\n</tool_call>',
    '<tool_call>{"type": "function", "function": {"name": "f", "arguments": "{\\"a\\": 2}"}}'
    "</tool_call>",
    '{"name": "f", "parameters": {"a": 3}}',
    '[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]',
    'Calling:\n```json\n[{"name": "f", "arguments": {"a": 1}}]\n```',
    'Calling:\n```json\n[{"name":"f","arguments":{"a":1}}]',    # fence never closed
    '```json\n[{"name":"f","arguments":{"a":',                    # truncated in a fence
    'Here is code:\n```python\nprint(1)\n```',
    "It is 11 C in Paris.",
    '{"temperature": 11}',
    '<think>The user wants Paris.</think>[TOOL_CALLS][{"name":"f","arguments":{}}]',
    '[TOOL_CALLS][{"name":"f","arguments":{"a":',       # truncated
    'Hello [TOOL_CALLS] not json',                       # broken
    '<tool_call>{"name": "f", "arguments": {}}',         # unclosed
    "", "   ", "a < b and [x] {y}",
]


@pytest.mark.parametrize("text", CASES)
def test_settle_keeps_parsed_calls_and_returns_broken_output_as_content(text):
    parsed, final = parse_output(text), settle(text)
    if parsed.calls:
        assert final.calls == parsed.calls and final.content == parsed.content
    elif parsed.error_code not in (None, "empty"):
        assert final.calls == [] and final.content == text.strip()
    else:
        assert final.content == parsed.content


@pytest.mark.parametrize("text", CASES)
def test_vllm_plugin_reads_what_lamstudio_reads(text):
    out = vllm_extract(text)
    final = settle(text)
    assert out["tools_called"] == bool(final.calls)
    assert [(c["name"], json.loads(c["arguments"])) for c in out["tool_calls"]] == \
        [(c.name, c.arguments) for c in final.calls]
    assert out["content"] == (final.content or None)


def _stream(text: str, cuts: list[int], emit_calls: bool = True, think_open: bool = False):
    parser = StreamParser(emit_calls, think_open)
    deltas, prev = [], 0
    for cut in sorted({c % (len(text) + 1) for c in cuts}) + [len(text)]:
        deltas += parser.feed(text[prev:cut])
        prev = cut
    rest, final = parser.finish()
    deltas += rest
    content = "".join(d.content for d in deltas if d.content)
    calls = [d.call for d in deltas if d.call is not None]
    return content, calls, final, parser


@pytest.mark.parametrize("text", CASES)
@pytest.mark.parametrize("emit_calls", [True, False])
def test_stream_adds_up_to_settle_for_every_format(text, emit_calls):
    for cuts in ([], list(range(len(text))), [3, 7, 11, 40]):
        content, calls, final, parser = _stream(text, cuts, emit_calls)
        assert parser.consistent
        assert (content, calls) == (final.content, final.calls)
        assert final == settle(text, emit_calls)


def test_content_streams_before_the_call_block_and_calls_come_whole():
    parser = StreamParser()
    assert [d.content for d in parser.feed("Checking the")] == ["Checking the"]
    assert [d.content for d in parser.feed(" weather [TOOL_")] == [" weather"]
    assert parser.sent == "Checking the weather"  # "[TOOL_" may start the marker: held
    out = parser.feed('CALLS][{"name":"f","arguments":{"a":1}}')
    assert out == []  # the list is not closed yet
    out = parser.feed("]")
    assert [(d.call, d.index) for d in out] == [(fc("f", a=1), 0)]


pieces = st.sampled_from([
    "Sure.", " ", "\n", "Paris", "[TOOL_CALLS]", "<tool_call>", "</tool_call>", "<think>",
    "</think>", "```json\n", "```", "{", "}", "[", "]", '"name"', ":", '"f"', ",",
    '"arguments"', "{}", '{"a": 1}', '{"name":"g","arguments":{"b":"x"}}', "<|end|>", "[TOOL",
    "_CALLS]", "<tool", "_call>"])


@settings(max_examples=400, deadline=None)
@given(st.lists(pieces, max_size=14), st.lists(st.integers(0, 400), max_size=6),
       st.booleans(), st.booleans())
def test_any_stream_adds_up_to_settle(parts, cuts, emit_calls, think_open):
    text = "".join(parts)
    content, calls, final, parser = _stream(text, cuts, emit_calls, think_open)
    assert parser.consistent, text
    assert (content, calls) == (final.content, final.calls), text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["f", "get_weather", "x_1"]),
                          st.dictionaries(st.sampled_from(["a", "city", "n"]),
                                          st.one_of(st.integers(), st.text(max_size=8)),
                                          max_size=3)), min_size=1, max_size=3),
       st.text(max_size=20).filter(lambda s: "[" not in s and "<" not in s and "`" not in s),
       st.lists(st.integers(0, 200), max_size=8), st.sampled_from(["marker", "fence"]))
def test_calls_lamstudio_templates_write_stream_exactly(calls, content, cuts, style):
    # marker: the default template; fence: chatml_tools (SmolLM2).
    text = render_calls([fc(n, **a) for n, a in calls], content, style=style)
    got_content, got_calls, final, parser = _stream(text, cuts)
    assert got_calls == [fc(n, **a) for n, a in calls]
    assert got_content == content.strip() == final.content


def test_forced_prefixes_come_from_the_template(tokenizer_dirs):
    default, hermes = tokenizer_dirs
    from lamstudio.render import CHATML_TOOLS_TEMPLATE

    c = call_prefixes(Renderer(hermes, CHATML_TOOLS_TEMPLATE))  # has the ChatML tokens
    assert c.required == '```json\n[{"name":"'
    assert c.named("f") == '```json\n[{"name":"f","arguments":{'
    p = call_prefixes(Renderer(default))
    assert p.required == '[TOOL_CALLS][{"name":"'
    assert p.named("get_weather") == '[TOOL_CALLS][{"name":"get_weather","arguments":{'
    h = call_prefixes(Renderer(hermes))
    assert h.required == '<tool_call>\n{"name": "'
    assert h.named("f") == '<tool_call>\n{"name": "f", "arguments": {'


def test_vllm_command_uses_the_plugin_and_keeps_the_key_off_the_command_line():
    cfg = ServeConfig(model="m", engine="vllm", port=9000, api_key_env="KEY", max_batch=16,
                      model_id="my-lam")
    cmd = vllm_command(cfg, "/models/m", "/tmp/t.jinja")
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    args = dict(zip(cmd[3::1], cmd[4::1], strict=False))
    assert args["--tool-parser-plugin"] == str(PLUGIN_FILE) and PLUGIN_FILE.is_file()
    assert args["--tool-call-parser"] == "lamstudio"
    assert args["--chat-template"] == "/tmp/t.jinja"
    assert args["--served-model-name"] == "my-lam" and args["--max-num-seqs"] == "16"
    assert "--enable-auto-tool-choice" in cmd and "--api-key" not in cmd
    with_adapter = vllm_command(ServeConfig(model="m", adapter="/a", model_id="lam"), "/m", "/t")
    assert "lam=/a" in with_adapter and "lam-base" in with_adapter


def test_plugin_file_registers_a_lamstudio_parser():
    source = PLUGIN_FILE.read_text()
    assert 'register_module("lamstudio")' in source
    assert "skip_special_tokens = False" in source
    assert "vllm_extract" in source and "StreamParser" in source
