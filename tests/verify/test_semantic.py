"""The LLM judge, against a real scripted OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest
from tests.support.scripted_server import Fail, Raw, Reply, ScriptedServer
from tests.verify.conftest import traj

from lamstudio.llm import LLMError, LLMUnavailable, OpenAIBackend
from lamstudio.verify import JudgeOptions, SemanticJudge, judge_prompt, parse_judgement

PASS = '{"pass": true, "reason": "calls match the request"}'
FAIL = '{"pass": false, "reason": "the city is invented"}'


def judge(srv, k=1, **kw):
    backend = OpenAIBackend(srv.base_url, srv.model, api_key_env=None, backoff_s=0.01, **kw)
    return SemanticJudge(backend, JudgeOptions(k=k))


def test_single_judge_pass_and_fail():
    # Requests run concurrently: the server answers by content, not by arrival order.
    def script(body):
        return Reply(FAIL if "Oslo" in body["messages"][1]["content"] else PASS)

    with ScriptedServer(script) as srv:
        v1, v2 = judge(srv).judge_many([traj(rid="a"), traj(rid="b", query="Weather in Oslo?")])
    assert v1.passed and v1.stage == "semantic"
    assert not v2.passed and v2.code == "judge_fail" and "invented" in v2.message
    # Both records call get_weather(city="Paris"): pick the request by its query, since
    # the two arrive in either order.
    prompt = next(r["messages"] for r in srv.requests
                  if "Weather in Paris?" in r["messages"][1]["content"])
    assert prompt[0]["role"] == "system" and "Oslo" not in prompt[1]["content"]
    assert srv.requests[0]["temperature"] == 0.0


def test_judge_sees_query_calls_and_results():
    text = judge_prompt(traj(results=['{"temp_c": 11}']))[1]["content"]
    assert "get_weather" in text and '{"city": "Paris"}' in text and '{"temp_c": 11}' in text


def test_committee_majority_vote_with_distinct_samples():
    with ScriptedServer([Reply(PASS), Reply(FAIL), Reply(PASS)]) as srv:
        [v] = judge(srv, k=3).judge_many([traj()])
    assert v.passed and len(v.details["votes"]) == 3
    seeds = sorted(r["seed"] for r in srv.requests)
    assert seeds == [0, 1, 2] and all(r["temperature"] > 0 for r in srv.requests)
    with ScriptedServer([Reply(PASS), Reply(FAIL), Reply("I think it is fine")]) as srv:
        [v] = judge(srv, k=3).judge_many([traj()])
    assert not v.passed and v.code == "judge_fail", "a malformed vote counts against"


def test_only_the_judges_verdict_rejects_a_record():
    with ScriptedServer([Reply("yes, looks good")]) as srv:
        [v] = judge(srv).judge_many([traj()])
    assert v.code == "judge_malformed"
    # a proxy's error page with a 200 is a fault of the judge, asked again
    with ScriptedServer([Raw("<html>bad gateway</html>"), Reply(PASS)]) as srv:
        [v] = judge(srv).judge_many([traj()])
    assert v.passed and len(srv.requests) == 2
    # a refused key stops the run: no verdict for any record
    with ScriptedServer([], api_key="sk-right") as srv, pytest.raises(LLMError, match="401") \
            as info:
        judge(srv).judge_many([traj(rid=str(i)) for i in range(5)])
    assert not isinstance(info.value, LLMUnavailable)


def test_transient_errors_are_retried_and_a_dead_judge_stops_the_run():
    with ScriptedServer([Fail(429, retry_after=0.05), Fail(500), Reply(PASS)]) as srv:
        [v] = judge(srv).judge_many([traj()])
    assert v.passed and len(srv.requests) == 3
    with ScriptedServer([Fail(503)] * 3) as srv, pytest.raises(LLMUnavailable):
        judge(srv, max_retries=2).judge_many([traj()])


@pytest.mark.parametrize("text, expected", [
    (PASS, (True, "calls match the request")),
    ("```json\n" + FAIL + "\n```", (False, "the city is invented")),
    ("Verdict: " + json.dumps({"pass": True, "reason": "ok"}) + " done", (True, "ok")),
    ('{"pass": "yes"}', None), ("", None), ("not json", None),
])
def test_parse_judgement(text, expected):
    assert parse_judgement(text) == expected
