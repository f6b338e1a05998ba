"""Assistant-only labels: what is trained, what is not, and the options that change it."""

from __future__ import annotations

import pytest

from lamstudio.render import IGNORE_INDEX, Renderer, RenderError

from .conftest import weather_record


def _trained_text(tok, enc) -> list[str]:
    """Decoded runs of consecutive trained tokens."""
    runs, cur = [], []
    for i, lab in zip(enc.input_ids, enc.labels, strict=True):
        if lab != IGNORE_INDEX:
            assert lab == i
            cur.append(i)
        elif cur:
            runs.append(tok.decode(cur)); cur = []  # noqa: E702
    if cur:
        runs.append(tok.decode(cur))
    return runs


def test_only_assistant_output_and_end_of_turn_are_trained(tokenizer):
    enc = Renderer(tokenizer).encode(weather_record())
    assert _trained_text(tokenizer, enc) == [
        '[TOOL_CALLS][{"name":"get_weather","arguments":{"city":"Paris"}}]<|end|>',
        "It is 11 C in Paris.<|end|>",
        'Checking both.[TOOL_CALLS][{"name":"get_weather","arguments":{"city":"Tokyo",'
        '"units":"imperial"}},{"name":"get_weather","arguments":{"city":"London",'
        '"units":"imperial"}}]<|end|>',
        "Tokyo is 60 F and London 52 F.<|end|>"]
    assert enc.n_trained == sum(lab != IGNORE_INDEX for lab in enc.labels)
    assert (enc.id, enc.source) == ("weather-1", "test")


def test_hermes_template_labels_come_from_prefix_renders(hermes_tokenizer):
    enc = Renderer(hermes_tokenizer).encode(weather_record())
    runs = _trained_text(hermes_tokenizer, enc)
    assert runs[0] == ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
                       "</tool_call><|im_end|>")
    assert runs[1] == "It is 11 C in Paris.<|im_end|>"
    assert len(runs) == 4
    # Role headers, tool responses and the newline after <|im_end|> are never trained.
    assert not any("<|im_start|>" in r or "tool_response" in r for r in runs)


def test_train_false_and_last_turn_only(tokenizer):
    t = weather_record()
    t.messages[3].train = False
    renderer = Renderer(tokenizer)
    runs = _trained_text(tokenizer, renderer.encode(t))
    assert len(runs) == 3 and not any("11 C" in r for r in runs)
    last = _trained_text(tokenizer, renderer.encode(weather_record(), last_turn_only=True))
    assert last == ["Tokyo is 60 F and London 52 F.<|end|>"]


def test_message_weight_gives_per_token_weights(tokenizer):
    t = weather_record()
    t.messages[3].weight = 0.5
    t.messages[8].weight = 0.0  # weight 0 is the same as train: false
    enc = Renderer(tokenizer).encode(t)
    assert enc.weights is not None
    trained_weights = {w for w, lab in zip(enc.weights, enc.labels, strict=True)
                       if lab != IGNORE_INDEX}
    assert trained_weights == {0.5, 1.0}
    assert len(_trained_text(tokenizer, enc)) == 3
    assert Renderer(tokenizer).encode(weather_record()).weights is None


def test_max_len_truncates_and_says_so(tokenizer):
    full = Renderer(tokenizer).encode(weather_record())
    cut = Renderer(tokenizer).encode(weather_record(), max_len=100)
    assert cut.truncated and not full.truncated
    assert cut.input_ids == full.input_ids[:100] and cut.labels == full.labels[:100]
    assert cut.n_trained < full.n_trained


def test_batch_encoding_equals_one_by_one(tokenizer):
    renderer = Renderer(tokenizer)
    records = [weather_record(), weather_record(id="b", system=None, tools=[])]
    batch = renderer.encode_batch(records)
    for r, e in zip(records, batch, strict=True):
        one = renderer.encode(r)
        assert (one.input_ids, one.labels) == (e.input_ids, e.labels)


def test_user_text_that_imitates_markers_is_not_trained(tokenizer):
    """Labels come from rendered spans, not a text search: an assistant-looking string in a
    user turn stays masked."""
    t = weather_record()
    t.messages[0].content = 'It is 11 C in Paris.<|end|> [TOOL_CALLS][{"name":"x"}]'
    runs = _trained_text(tokenizer, Renderer(tokenizer).encode(t))
    assert len(runs) == 4 and runs[1] == "It is 11 C in Paris.<|end|>"


def test_template_that_is_not_prefix_stable_is_rejected(tokenizer):
    # Drops the content of every assistant turn but the last (like templates that strip
    # earlier reasoning): the training text would not match the inference prompt.
    template = ("{% for m in messages %}{{ '<|' + m.role + '|>' }}"
                "{% if m.role != 'assistant' or loop.last %}{{ m.content }}{% endif %}"
                "{% for c in m.tool_calls or [] %}{{ c.function.name }}{% endfor %}"
                "{{ '<|end|>' }}{% endfor %}"
                "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}")
    with pytest.raises(RenderError) as err:
        Renderer(tokenizer, template=template).encode(weather_record())
    assert err.value.code == "not_prefix_stable"


def test_template_errors_become_render_errors(tokenizer):
    bad = "{% if tools %}{{ raise_exception('tools are not supported') }}{% endif %}"
    with pytest.raises(RenderError) as err:
        Renderer(tokenizer, template=bad).encode(weather_record())
    assert err.value.code == "template_error" and "not supported" in str(err.value)
