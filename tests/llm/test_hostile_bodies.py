"""The OpenAI-compatible client on hostile response bodies and unwritable request values:
it never crashes, and what it hands back can always be written."""

from __future__ import annotations

import pytest
from tests.support.hostile import HUGE_INT_TEXT, LONE_SURROGATE, deep_json
from tests.support.scripted_server import Raw, Reply, ScriptedServer

from lamstudio.io import check_value
from lamstudio.llm import LLMUnavailable, OpenAIBackend, ResponseCache, complete_sync

MSGS = [{"role": "user", "content": "hi"}]


def backend(srv: ScriptedServer, **kw) -> OpenAIBackend:
    return OpenAIBackend(srv.base_url, srv.model, api_key_env=None, backoff_s=0.01, **kw)


def _body(content_json: str) -> str:
    return ('{"choices": [{"message": {"role": "assistant", "content": ' + content_json
            + '}, "finish_reason": "stop"}], "model": "m"}')


def test_a_lone_surrogate_in_a_reply_becomes_the_replacement_character(tmp_path):
    with ScriptedServer([Reply(LONE_SURROGATE)]) as srv:
        res = complete_sync(backend(srv, cache_dir=tmp_path), MSGS)
    assert res.content == LONE_SURROGATE.replace("\ud800", "\ufffd")
    assert res.replaced_surrogates == 1
    check_value(res.raw)
    assert len(ResponseCache(tmp_path)) == 1  # and the cache could write it


def test_a_body_nested_past_the_recursion_limit_is_retried_then_unavailable():
    body = '{"choices": [{"message": {"role": "assistant", "content": "x"}, "x": ' \
        + deep_json(100_000) + "}]}"
    with ScriptedServer([Raw(body)] * 3) as srv, pytest.raises(LLMUnavailable) as exc:
        complete_sync(backend(srv, max_retries=2), MSGS)
    assert "cannot be read" in str(exc.value)


def test_values_a_record_refuses_are_handed_on_for_the_caller_to_reject():
    # A huge integer in the body is not the client's to judge: the caller's record refuses
    # it per item (io.check_value), the client does not stop the run.
    body = _body('"ok"').replace('"model": "m"', '"model": "m", "n": ' + HUGE_INT_TEXT[:4000])
    with ScriptedServer([Raw(body)]) as srv:
        res = complete_sync(backend(srv), MSGS)
    assert res.content == "ok"


def test_a_lone_surrogate_in_a_request_is_sent_escaped_not_a_crash(tmp_path):
    msgs = [{"role": "user", "content": "tool said \udc00"}]
    with ScriptedServer([Reply("fine")]) as srv:
        res = complete_sync(backend(srv, cache_dir=tmp_path), msgs)
    assert res.content == "fine"
    assert srv.requests[0]["messages"] == msgs


@pytest.mark.parametrize("calls", ['{"function": {"name": "f"}}', '"get_weather"'],
                         ids=["dict", "string"])
def test_tool_calls_that_are_not_a_list_stay_one_entry_for_the_caller_to_refuse(calls):
    body = ('{"choices": [{"message": {"role": "assistant", "content": null, "tool_calls": '
            + calls + '}, "finish_reason": "tool_calls"}]}')
    with ScriptedServer([Raw(body)]) as srv:
        res = complete_sync(backend(srv), MSGS)
    assert len(res.tool_calls) == 1  # not the dict's keys, not the string's characters


def test_a_message_that_is_not_an_object_is_no_answer():
    with ScriptedServer([Raw('{"choices": [{"message": "hi"}]}')] * 2) as srv, \
            pytest.raises(LLMUnavailable):
        complete_sync(backend(srv, max_retries=1), MSGS)
