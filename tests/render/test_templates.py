"""Chat templates: the default one, choosing between it and a model's own, rendering parity."""

from __future__ import annotations

import json

import pytest

from lamstudio.render import (
    DEFAULT_SPECIAL_TOKENS,
    DEFAULT_TEMPLATE,
    Renderer,
    chat_of,
    render_calls,
    template_renders_tools,
)
from lamstudio.render._templates import render_template

from .conftest import HERMES_TEMPLATE, weather_record


def test_default_template_layout_is_compact_and_readable():
    msgs, tools = chat_of(weather_record())
    text = render_template(DEFAULT_TEMPLATE, msgs[:4], tools, add_generation_prompt=False)
    assert text == (
        "<|system|>You are a helpful assistant.\nTools:["
        '{"name":"get_weather","description":"Current weather for a city.","parameters":'
        '{"type":"object","properties":{"city":{"type":"string"},"units":{"type":"string"}},'
        '"required":["city"]}},'
        '{"name":"convert_currency","description":"Convert money.","parameters":'
        '{"type":"object","properties":{"amount":{"type":"number"},"to":{"type":"string"}}}}]'
        "<|end|><|user|>What is the weather in Paris?<|end|>"
        '<|assistant|>[TOOL_CALLS][{"name":"get_weather","arguments":{"city":"Paris"}}]<|end|>'
        '<|tool|>{"temp_c": 11}<|end|>')
    assert "\n" not in text.split("<|end|>", 1)[1]  # no newlines spent between turns


def test_default_template_writes_calls_exactly_as_render_calls():
    t = weather_record()
    msgs, tools = chat_of(t)
    text = render_template(DEFAULT_TEMPLATE, msgs, tools, add_generation_prompt=False)
    for m in t.messages:
        if m.role == "assistant":
            assert f"<|assistant|>{render_calls(m.tool_calls or [], m.content or '')}<|end|>" \
                in text


def test_non_ascii_arguments_are_written_as_is():
    msgs = [{"role": "user", "content": "x"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "f", "arguments": {"city": "Zürich", "t": "°C"}}}]}]
    text = render_template(DEFAULT_TEMPLATE, msgs, None, add_generation_prompt=False)
    assert '{"city":"Zürich","t":"°C"}' in text


@pytest.mark.parametrize("template", [DEFAULT_TEMPLATE, HERMES_TEMPLATE])
def test_rendering_equals_transformers_apply_chat_template(hermes_tokenizer, template):
    msgs, tools = chat_of(weather_record())
    for gen, upto in [(False, None), (True, 3), (True, 7)]:
        ours = render_template(template, msgs[:upto], tools, add_generation_prompt=gen,
                               extra=dict(hermes_tokenizer.special_tokens_map))
        theirs = hermes_tokenizer.apply_chat_template(
            msgs[:upto], tools=tools, chat_template=template, tokenize=False,
            add_generation_prompt=gen)
        assert ours == theirs


def test_template_tool_support_is_detected():
    assert template_renders_tools(DEFAULT_TEMPLATE)
    assert template_renders_tools(HERMES_TEMPLATE)
    # A plain chat template that ignores tools and tool calls.
    plain = ("{% for m in messages %}{{ '<|' + m.role + '|>' + m.content + '<|end|>' }}"
             "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}")
    assert not template_renders_tools(plain)
    assert not template_renders_tools("{{ raise_exception('no') }}")


def test_renderer_picks_model_template_only_when_it_renders_tools(tokenizer, hermes_tokenizer):
    assert Renderer(hermes_tokenizer).template_name == "model"
    with pytest.warns(UserWarning):
        assert Renderer(hermes_tokenizer, use_model_template=False).template_name == "default"
    assert Renderer(tokenizer).template_name == "default"  # it has no template of its own
    with pytest.raises(ValueError, match="no chat template that renders tools"):
        Renderer(tokenizer, use_model_template=True)
    assert Renderer(tokenizer, template=HERMES_TEMPLATE).template_name == "custom"
    tokenizer.chat_template = DEFAULT_TEMPLATE  # what a tokenizer trained by lamstudio ships
    try:
        assert Renderer(tokenizer).template_name == "default"
    finally:
        tokenizer.chat_template = None


def test_default_special_tokens_are_single_tokens(tokenizer):
    for tok in DEFAULT_SPECIAL_TOKENS:
        assert len(tokenizer(tok, add_special_tokens=False)["input_ids"]) == 1
    r = Renderer(tokenizer)
    assert r.missing_special_tokens == []
    assert r.stop_token_ids == [tokenizer.convert_tokens_to_ids("<|end|>")]


def test_default_template_with_a_foreign_tokenizer_warns(hermes_tokenizer):
    with pytest.warns(UserWarning, match="not in this tokenizer's vocabulary"):
        r = Renderer(hermes_tokenizer, use_model_template=False)
    assert "[TOOL_CALLS]" in r.missing_special_tokens


def test_arguments_given_as_json_string_render_like_dicts():
    call = {"function": {"name": "f", "arguments": json.dumps({"a": 1}, separators=(",", ":"))}}
    msgs = [{"role": "user", "content": "x"},
            {"role": "assistant", "content": "", "tool_calls": [call]}]
    text = render_template(DEFAULT_TEMPLATE, msgs, None, add_generation_prompt=False)
    assert '[TOOL_CALLS][{"name":"f","arguments":{"a":1}}]' in text
