"""Train/inference identity: the tokens before every assistant turn in a training render are
exactly the tokens of the inference prompt for that turn (the generation prompt included),
and the turn's trained tokens start right after it."""

from __future__ import annotations

import pytest

from lamstudio.render import IGNORE_INDEX, Renderer, chat_of
from lamstudio.schema import Trajectory

from .conftest import weather_record


def _records() -> list[Trajectory]:
    base = weather_record()
    return [
        base,
        weather_record(id="no-system", system=None),
        weather_record(id="no-tools", tools=[]),
        weather_record(id="unicode", messages=[
            {"role": "user", "content": "Température à Zürich ? 🌧"},
            {"role": "assistant", "content": "Je regarde.", "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]},
            {"role": "tool", "content": "{\"temp_c\": -3.5}"},
            {"role": "assistant", "content": " -3.5 °C, avec de la pluie.  "}]),
        weather_record(id="text-only", messages=[
            {"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi!"}]),
    ]


@pytest.mark.parametrize("which", ["default", "hermes"])
def test_prompt_ids_match_training_prefix_for_every_assistant_turn(
        which, tokenizer, hermes_tokenizer):
    tok = tokenizer if which == "default" else hermes_tokenizer
    renderer = Renderer(tok)
    checked = 0
    for t in _records():
        enc = renderer.encode(t)
        for k, m in enumerate(t.messages):
            if m.role != "assistant":
                continue
            prompt = renderer.prompt_ids(t, upto=k)
            assert enc.input_ids[: len(prompt)] == prompt, (t.id, k)
            assert enc.labels[len(prompt) - 1] == IGNORE_INDEX  # the header is not trained
            assert enc.labels[len(prompt)] != IGNORE_INDEX      # the answer starts here
            checked += 1
    assert checked == 15


def test_prompt_ids_equal_what_transformers_gives_an_inference_server(hermes_tokenizer):
    renderer = Renderer(hermes_tokenizer)
    for t in _records():
        for k, m in enumerate(t.messages):
            if m.role == "assistant":
                msgs, tools = chat_of(t, upto=k)
                hf = hermes_tokenizer.apply_chat_template(
                    msgs, tools=tools or None, add_generation_prompt=True, tokenize=True,
                    return_dict=True)["input_ids"]
                assert renderer.prompt_ids(t, upto=k) == list(hf)


def test_generated_turn_decodes_and_parses_back_to_the_record(tokenizer, hermes_tokenizer):
    """What the model is trained to emit after the prompt, decoded and parsed, gives back
    the record's calls and content (the loop the evaluator and server run)."""
    for tok in (tokenizer, hermes_tokenizer):
        renderer = Renderer(tok)
        t = weather_record()
        enc = renderer.encode(t)
        for k, m in enumerate(t.messages):
            if m.role != "assistant":
                continue
            start = len(renderer.prompt_ids(t, upto=k))
            end = start
            while end < len(enc.labels) and enc.labels[end] != IGNORE_INDEX:
                end += 1
            parsed = renderer.parse(renderer.decode(enc.input_ids[start:end]))
            assert parsed.ok, parsed.error
            assert parsed.calls == [c.function for c in m.tool_calls or []]
            assert parsed.content == (m.content or "").strip()
