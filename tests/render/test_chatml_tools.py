"""``chatml_tools``: lamstudio's tool format inside a ChatML base's own turns, on the real
SmolLM2-135M-Instruct tokenizer (its own template is ChatML without tools).

Measured here (500 quickstart training records, seed 0, SmolLM2 tokens per record): compact
signatures mean 225.3 / max 585; the same template with one JSON line per tool 319.6 / 771.
Both include the ~30-token call-format line of the system turn. ``test_compact_signatures_
cost_far_fewer_tokens_than_json_lines`` re-measures and pins the gap loosely.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import statistics

import pytest

from lamstudio.render import (
    CHATML_TOOLS_TEMPLATE,
    IGNORE_INDEX,
    Renderer,
    chat_of,
    check_record,
    parse_output,
    render_calls,
)
from lamstudio.render._templates import render_template
from lamstudio.schema import Trajectory
from lamstudio.synth import generate

from .conftest import HERMES_TEMPLATE, weather_record
from .test_identity import _records

BFCL_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")


@pytest.fixture(scope="module")
def smol(smollm2_tokenizer) -> Renderer:
    return Renderer(smollm2_tokenizer)


@pytest.fixture(scope="module")
def quickstart() -> list[Trajectory]:
    return [Trajectory.model_validate(r) for r in generate("train", 400, seed=0)]


@pytest.fixture(scope="module")
def bfcl_sample() -> list[Trajectory]:
    if importlib.util.find_spec("bfcl_eval") is None:
        pytest.skip("bfcl-eval is not installed (pip install --no-deps bfcl-eval)")
    from lamstudio.sources import bfcl

    return [t for c in BFCL_CATEGORIES for t in itertools.islice(bfcl.load_category(c), 40)]


def test_layout_compact_signatures_fenced_calls_tool_turns():
    tools = [{"type": "function", "function": {
        "name": "f", "description": "Does f.\nTwice.",
        "parameters": {"type": "object", "required": ["city", "tags"], "properties": {
            "city": {"type": "string", "description": "not shown"},
            "days": {"type": "integer", "default": 3},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "modes": {"type": "array", "items": {"enum": ["a", "b"]}},
            "where": {"type": "object", "required": ["lat"], "properties": {
                "lat": {"type": "number"}, "lon": {"type": "number"}}},
            "maybe": {"type": ["string", "null"]}, "any": {}}}}},
        {"type": "function", "function": {"name": "g", "parameters": {}}}]
    msgs = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "On it.", "tool_calls": [
                {"function": {"name": "f", "arguments": {"city": "Zürich", "tags": []}}},
                {"function": {"name": "g", "arguments": {}}}]},
            {"role": "tool", "content": "1"}, {"role": "tool", "content": "2"},
            {"role": "assistant", "content": "Done."}]
    text = render_template(CHATML_TOOLS_TEMPLATE, msgs, tools, add_generation_prompt=False)
    assert text == (
        "<|im_start|>system\nBe brief.\n\nTools (? = optional):\n"
        'f(city: string, days?: integer = 3, unit?: "c"|"f", tags: string[], '
        'modes?: ("a"|"b")[], where?: {lat: number, lon?: number}, maybe?: string|null, '
        "any?: any) - Does f. Twice.\n"
        "g()\n"
        'To call tools, reply with ```json\n[{"name":"tool","arguments":{...}}]\n```'
        "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nOn it.\n```json\n"
        '[{"name":"f","arguments":{"city":"Zürich","tags":[]}},{"name":"g","arguments":{}}]'
        "\n```<|im_end|>\n"
        "<|im_start|>tool\n1<|im_end|>\n<|im_start|>tool\n2<|im_end|>\n"
        "<|im_start|>assistant\nDone.<|im_end|>\n")
    # No system and no tools: no system turn (the template adds no words of its own).
    bare = render_template(CHATML_TOOLS_TEMPLATE, msgs[1:2], None, add_generation_prompt=True)
    assert bare == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_template_writes_calls_exactly_as_render_calls(smol):
    assert smol.call_style == "fence"
    t = weather_record()
    msgs, tools = chat_of(t)
    text = render_template(CHATML_TOOLS_TEMPLATE, msgs, tools, add_generation_prompt=False)
    for m in t.messages:
        if m.role == "assistant":
            out = smol.render_calls(m.tool_calls or [], m.content or "")
            assert out == render_calls(m.tool_calls or [], m.content or "", style="fence")
            assert f"<|im_start|>assistant\n{out}<|im_end|>\n" in text


def test_rendering_equals_transformers_apply_chat_template(smollm2_tokenizer):
    msgs, tools = chat_of(weather_record())
    for gen, upto in [(False, None), (True, 3), (True, 7)]:
        ours = render_template(CHATML_TOOLS_TEMPLATE, msgs[:upto], tools,
                               add_generation_prompt=gen)
        theirs = smollm2_tokenizer.apply_chat_template(
            msgs[:upto], tools=tools, chat_template=CHATML_TOOLS_TEMPLATE, tokenize=False,
            add_generation_prompt=gen)
        assert ours == theirs


def test_chatml_base_without_tools_gets_chatml_tools_automatically(
        smollm2_tokenizer, tokenizer, hermes_tokenizer):
    assert "tools" not in smollm2_tokenizer.chat_template  # the premise: SmolLM2 knows none
    r = Renderer(smollm2_tokenizer)
    assert (r.template_name, r.template) == ("chatml_tools", CHATML_TOOLS_TEMPLATE)
    assert r.missing_special_tokens == []
    assert r.stop_token_ids == [smollm2_tokenizer.convert_tokens_to_ids("<|im_end|>")]
    # Explicit choices still win.
    with pytest.warns(UserWarning, match="not in this tokenizer's vocabulary"):
        assert Renderer(smollm2_tokenizer, use_model_template=False).template_name == "default"
    with pytest.raises(ValueError, match="no chat template that renders tools"):
        Renderer(smollm2_tokenizer, use_model_template=True)
    assert Renderer(smollm2_tokenizer, template=HERMES_TEMPLATE).template_name == "custom"
    with pytest.warns(UserWarning, match=r"chatml_tools template's tokens \['<\|im_start"):
        assert Renderer(tokenizer, template="chatml_tools").template_name == "chatml_tools"
    assert Renderer(smollm2_tokenizer, template=CHATML_TOOLS_TEMPLATE).template_name == \
        "chatml_tools"
    # A ChatML template that renders tools stays the model's; no ChatML tokens: the default.
    assert Renderer(hermes_tokenizer).template_name == "model"
    assert Renderer(tokenizer).template_name == "default"
    hermes_tokenizer.chat_template = None  # ChatML tokens, no template at all
    try:
        assert Renderer(hermes_tokenizer).template_name == "chatml_tools"
    finally:
        hermes_tokenizer.chat_template = HERMES_TEMPLATE


def _turns(renderer: Renderer, t: Trajectory):
    """(message index, prompt ids, trained ids of that turn) for each assistant turn."""
    enc = renderer.encode(t)
    for k, m in enumerate(t.messages):
        if m.role != "assistant":
            continue
        prompt = renderer.prompt_ids(t, upto=k)
        assert enc.input_ids[: len(prompt)] == prompt, (t.id, k)
        end = len(prompt)
        while end < len(enc.labels) and enc.labels[end] != IGNORE_INDEX:
            end += 1
        yield k, prompt, enc, enc.input_ids[len(prompt):end]


def test_training_render_is_inference_prompt_plus_generated_text(smol):
    checked = 0
    for t in _records():
        for _, prompt, enc, turn in _turns(smol, t):
            assert enc.labels[len(prompt) - 1] == IGNORE_INDEX  # "assistant\n" not trained
            assert turn and turn[-1] == smol.stop_token_ids[0]  # ends with <|im_end|>
            checked += 1
    assert checked == 15


def test_only_assistant_output_and_its_end_token_are_trained(smol):
    t = weather_record()
    enc = smol.encode(t)
    trained = [i if lab != IGNORE_INDEX else None for i, lab in zip(enc.input_ids, enc.labels,
                                                                     strict=True)]
    runs = [list(g) for ok, g in itertools.groupby(trained, key=lambda x: x is not None) if ok]
    wanted = [smol.render_calls(m.tool_calls or [], m.content or "") + "<|im_end|>"
              for m in t.messages if m.role == "assistant"]
    assert [smol.decode(r) for r in runs] == wanted
    text = smol.decode(enc.input_ids)
    untrained = smol.decode([i for i, lab in zip(enc.input_ids, enc.labels, strict=True)
                             if lab == IGNORE_INDEX])
    for piece in ("You are a helpful assistant.", "get_weather(city: string", '{"temp_f": 52}',
                  "What is the weather in Paris?", "<|im_start|>assistant\n"):
        assert piece in text and piece in untrained


def test_generated_turn_parses_back_to_the_record(smol):
    for t in _records():
        for k, _, _, turn in _turns(smol, t):
            m = t.messages[k]
            parsed = smol.parse(smol.decode(turn))
            assert parsed.ok, parsed.error
            assert parsed.calls == [c.function for c in m.tool_calls or []]
            assert parsed.content == (m.content or "").strip()


def test_many_records_check_clean_and_round_trip(smol, quickstart, bfcl_sample):
    """Quickstart and BFCL records: the template checker finds nothing (labels, prompt
    identity, reparse), and render_calls -> parse_output gives every call back."""
    records = quickstart + bfcl_sample
    failures = [str(f) for t in records for f in check_record(smol, t)]
    assert failures == []
    kinds = {"parallel": 0, "irrelevance": 0}
    for t in records:
        for m in t.messages:
            if m.role != "assistant":
                continue
            out = smol.render_calls(m.tool_calls or [], m.content or "")
            parsed = parse_output(out + "<|im_end|>")
            assert parsed.ok, (t.id, parsed.error)
            assert parsed.calls == [c.function for c in m.tool_calls or []], t.id
            assert parsed.content == (m.content or "").strip()
            kinds["parallel"] += len(m.tool_calls or []) > 1
            kinds["irrelevance"] += not m.tool_calls
            if not m.tool_calls:
                assert "```" not in out  # irrelevance is a plain-text answer
    assert kinds["parallel"] > 50 and kinds["irrelevance"] > 50


def _xlam_read(output: str) -> list[dict] | None:
    """What vLLM's ``xlam`` tool parser does with a whole output (its first pattern, the
    ```json fence, then json.loads of a list of {"name","arguments"}); a faithful subset."""
    import re

    for body in re.findall(r"```(?:json)?\s*([\s\S]*?)```", output):
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            continue
        return [c for c in data if "name" in c and "arguments" in c] \
            if isinstance(data, list) else None
    return None


def test_call_block_is_what_vllms_xlam_parser_reads(smol):
    t = weather_record()
    m = t.messages[5]
    out = smol.render_calls(m.tool_calls or [], m.content or "")
    assert _xlam_read(out) == [{"name": c.function.name, "arguments": c.function.arguments}
                               for c in m.tool_calls or []]


@pytest.mark.parametrize("text, code, calls", [
    # Truncated mid-block (max_new_tokens): the fence never closes.
    ('```json\n[{"name":"f","arguments":{"a":1}}', "unclosed_tag", 0),
    ('Sure.\n```json\n[{"name":"f","arguments":{}},{"name":"g"', "unclosed_tag", 0),
    ('```json\n[{"name":"f","arguments":{"a":1}}]', "unclosed_tag", 1),
    # A ```json block that is not JSON, or JSON of the wrong shape.
    ('```json\n[{name: "f"}]\n```<|im_end|>', "invalid_json", 0),
    ('```json\n[{"name":"f","arguments":[1]}]\n```', "bad_call_shape", 0),
    ('```json\n[{"arguments":{}}]\n```', "bad_call_shape", 0),
    ('```json\n[{"name":"f","arguments":{}}] extra\n```', "trailing_text", 1),
])
def test_malformed_call_blocks_get_error_codes(text, code, calls):
    out = parse_output(text)
    assert out.error_code == code, out
    assert len(out.calls) == calls and out.error


def test_compact_signatures_cost_far_fewer_tokens_than_json_lines(smollm2_tokenizer, quickstart):
    start = CHATML_TOOLS_TEMPLATE.index("{%- for tool in tools -%}\n{%- set fn")
    stop = CHATML_TOOLS_TEMPLATE.index("{{- 'To call tools")
    json_lines = (CHATML_TOOLS_TEMPLATE[:start]
                  + "{%- for tool in tools -%}{{- tool.function | tojson(separators=(',', ':'))"
                    " ~ '\\n' -}}{%- endfor -%}" + CHATML_TOOLS_TEMPLATE[stop:])
    compact = [len(e) for e in Renderer(smollm2_tokenizer).encode_batch(quickstart)]
    verbose = [len(e) for e in Renderer(smollm2_tokenizer,
                                        template=json_lines).encode_batch(quickstart)]
    # 400 records here; 500 gave 225.3 vs 319.6 mean (module docstring).
    assert 200 < statistics.mean(compact) < 250 and max(compact) < 650
    assert statistics.mean(compact) < 0.75 * statistics.mean(verbose)
