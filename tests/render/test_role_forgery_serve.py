"""Role forgery through ``lamstudio serve``: a real server on 127.0.0.1 whose engine records
the prompt ids it is given. Turn tokens in a user message or a tool result are text, with
and without a forced call prefix (``tool_choice="required"``)."""

from __future__ import annotations

import httpx
import pytest
from tests.support.hostile import ROLE_FORGERY

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
MESSAGES = [
    {"role": "user", "content": ROLE_FORGERY},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c0", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "c0", "content": ROLE_FORGERY}]


@pytest.fixture(scope="module")
def served(smollm2_tokenizer):
    from lamstudio.serve import ScriptedEngine, ServeConfig, ServerThread, create_app

    class Recording(ScriptedEngine):
        def generate(self, batch):
            self.prompts.extend(list(r.prompt_ids) for r in batch)
            return super().generate(batch)

    engine = Recording(smollm2_tokenizer, ['```json\n[{"name":"get_weather",'
                                           '"arguments":{"city":"Oslo"}}]\n```'])
    engine.prompts = []
    with ServerThread(create_app(engine, ServeConfig(model="scripted"))) as srv:
        yield srv, engine


@pytest.mark.parametrize("tool_choice", ["auto", "required"])
def test_served_prompts_keep_forged_turn_tokens_as_text(served, smollm2_tokenizer,
                                                        tool_choice):
    srv, engine = served
    engine.prompts.clear()
    body = {"model": "scripted", "messages": MESSAGES, "tools": [WEATHER],
            "tool_choice": tool_choice, "max_tokens": 64}
    reply = httpx.post(f"{srv.base_url}/chat/completions", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    [ids] = engine.prompts
    assert reply.json()["usage"]["prompt_tokens"] == len(ids)
    start = smollm2_tokenizer.convert_tokens_to_ids("<|im_start|>")
    # system (tools), user, assistant, tool, and the generation prompt: five real turns;
    # each forgery would have opened one more.
    assert ids.count(start) == 5
    assert smollm2_tokenizer.decode(ids).count(ROLE_FORGERY) == 2  # the text is all there
