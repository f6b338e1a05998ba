"""``synth apigen`` with one hostile generation in the middle of a run (real HTTP on
127.0.0.1): the bad reply is one reject with its reason code, every other generation is
kept, generated = kept + rejected, and the rejects file is written (and readable with the
strict parser) whatever the reply held: lone surrogates, 100k-deep nesting, 5000-digit
integers, NaN, 2 MB of ``{``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support.hostile import (
    ARGUMENT_STRINGS,
    BAD_CONTENT,
    HUGE_INT_TEXT,
    REPLY_TEXTS,
    deep_json,
)

sys.path.insert(0, str(Path(__file__).parent))
from synth_helpers import TOOLS, Reply, ScriptedServer, answer, judge, offered  # noqa: E402
from tests.support.scripted_server import Raw  # noqa: E402

from lamstudio.io import parse_json  # noqa: E402
from lamstudio.llm import ChatResult, OpenAIBackend  # noqa: E402
from lamstudio.synth import ApigenConfig, BackendConfig, apigen  # noqa: E402
from lamstudio.synth._parse import parse_reply  # noqa: E402

N, BAD = 7, 4  # chunks of 3: the bad generation sits in the middle of the second chunk

# What the whole reply (the message content) says, as the catalogue has it.
REPLY_CODES = {
    "lone_surrogate": "no_json",
    "nested_100k": "no_json",  # a list, not an object: no candidate start
    "huge_int": "number_too_large",
    "nan_argument": "non_finite_number",
    "open_braces_2mb": "no_json",
    "role_forgery": "no_json",
}
# An otherwise good reply whose arguments are given as a string holding these.
ARGUMENT_CODES = {
    "huge_int": "number_too_large",
    "nested_500": "too_deep",
    "nan": "non_finite_number",
    "lone_surrogate": "bad_encoding",
    "not_json": "invalid_json",
    "not_object": "bad_shape",
}


def _reply_with(query: str, arguments: Any = None, raw_arguments: str | None = None):
    """A reply builder: the good answer with its query and/or first arguments replaced.
    ``raw_arguments`` (and a query of ``"@RAW@..."``) is spliced into the JSON text as it
    is: a value ``json.dumps`` cannot make."""
    def build(body: dict[str, Any]) -> str:
        tool = offered(body)[0]["name"]
        args: Any = {} if arguments is None else arguments
        text = json.dumps({"query": query, "answers": [{"name": tool, "arguments": args}]})
        if query.startswith("@RAW@"):
            text = text.replace(json.dumps(query), query.removeprefix("@RAW@"))
        return text.replace('"@ARGS@"', raw_arguments) if raw_arguments else text
    return build


def _deep_args(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


IN_SHAPE = {
    # (reply builder, expected code)
    "query_surrogate_escaped": (_reply_with('@RAW@"bad \\ud800 query"'), "bad_encoding"),
    "query_surrogate_raw": (_reply_with("bad \ud800 query"), "bad_encoding"),
    "answers_nested_100k": (lambda body: '{"query": "q", "answers": ' + deep_json(100_000)
                            + "}", "too_deep"),
    "arguments_huge_int": (_reply_with("q", "@ARGS@", '{"a": ' + HUGE_INT_TEXT + "}"),
                           "number_too_large"),
    "arguments_nested_500": (_reply_with("q", "@ARGS@", _deep_args(500)), "too_deep"),
    "arguments_1e999": (_reply_with("q", "@ARGS@", '{"a": 1e999}'), "non_finite_number"),
    "arguments_surrogate_key": (_reply_with("q", "@ARGS@", '{"\\udc00": 1}'),
                                "bad_encoding"),
}


def _completion(content: Any) -> str:
    """A chat completion whose message content is not a string (the scripted server's
    replies are text)."""
    return json.dumps({"id": "c", "object": "chat.completion", "model": "scripted-model",
                       "choices": [{"index": 0, "finish_reason": "stop", "message": {
                           "role": "assistant", "content": content}}]})


def _run(tmp_path: Path, bad: Any) -> tuple[Any, list[dict], list[dict], float]:
    """Run N simple generations, the BAD-th answered by ``bad(body)`` (text)."""
    def script(body: dict[str, Any]) -> Reply:
        if body["messages"][0]["content"].startswith("You review training data"):
            return judge(body)
        index = int(body["seed"])
        if index != BAD:
            return answer(body, "good", index)
        content = bad(body)
        return Reply(content) if isinstance(content, str) else Raw(_completion(content))

    with ScriptedServer(script) as srv:
        backend = BackendConfig("openai", srv.model, srv.base_url, key_env=None)
        cfg = ApigenConfig(output=str(tmp_path / "out.jsonl"), generator=backend,
                           judge=backend, builtin_tools=False, tool_modules=(TOOLS,),
                           n=N, chunk_size=3, styles={"simple": 1.0},
                           stages=("format", "semantic", "dedup"))
        started = time.perf_counter()
        result = apigen(cfg)
        seconds = time.perf_counter() - started
    # Both files must be readable by the strict reader: nothing unwritable got written.
    kept = [parse_json(line) for line in result.output.read_text("utf-8").splitlines()]
    rejects = [parse_json(line) for line in result.rejects.read_text("utf-8").splitlines()]
    return result, kept, rejects, seconds


def _one_reject(result: Any, kept: list[dict], rejects: list[dict], code: str) -> dict:
    assert result.tally.generated == N == len(kept) + len(rejects)
    assert result.tally.balanced() and result.tally.kept == len(kept) == N - 1
    [reject] = rejects
    assert reject["task"] == BAD and (reject["stage"], reject["code"]) == ("parse", code), \
        reject["message"]
    assert isinstance(reject["output"], str) and len(reject["output"]) <= 4_000
    assert result.tally.to_dict()["rejected_by_reason"] == {f"parse/{code}": 1}
    return reject


@pytest.mark.timeout(120)  # the 2 MB reply of "{" did not finish in 400 s before
@pytest.mark.parametrize("name", sorted(REPLY_CODES))
def test_a_hostile_reply_is_one_reject(tmp_path, name):
    result, kept, rejects, seconds = _run(tmp_path, lambda body: REPLY_TEXTS[name])
    reject = _one_reject(result, kept, rejects, REPLY_CODES[name])
    if name == "lone_surrogate":  # written, the surrogate replaced, the rest kept
        assert reject["output"].startswith("bad ") and reject["output"].endswith(" text")
    if name == "open_braces_2mb":
        assert seconds < 30 and reject["output_chars"] == 2_000_000


@pytest.mark.parametrize("name", sorted(ARGUMENT_CODES))
def test_hostile_argument_strings_are_one_reject(tmp_path, name):
    bad = _reply_with("q", ARGUMENT_STRINGS[name])
    result, kept, rejects, _ = _run(tmp_path, bad)
    reject = _one_reject(result, kept, rejects, ARGUMENT_CODES[name])
    assert "answers[0].arguments" in reject["message"]


@pytest.mark.parametrize("name", sorted(IN_SHAPE))
def test_hostile_values_inside_a_good_reply_are_one_reject(tmp_path, name):
    bad, code = IN_SHAPE[name]
    result, kept, rejects, _ = _run(tmp_path, bad)
    _one_reject(result, kept, rejects, code)


@pytest.mark.parametrize("name", sorted(BAD_CONTENT))
def test_content_that_is_not_text_is_one_reject(tmp_path, name):
    result, kept, rejects, _ = _run(tmp_path, lambda body: BAD_CONTENT[name])
    reject = _one_reject(result, kept, rejects, "not_text")
    assert reject["output"] == json.dumps(BAD_CONTENT[name], separators=(",", ":"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", ["{" * 2_000_000, '{"' * 1_000_000, "x{" * 1_000_000,
                                  '{"query": "' + "a" * 2_000_000])
def test_the_object_finder_is_linear_on_megabytes(text):
    started = time.perf_counter()
    verdict = parse_reply(ChatResult(content=text, finish_reason="stop"))
    assert time.perf_counter() - started < 5
    assert verdict.code in ("no_json", "invalid_json")


class _Buggy:
    """The real HTTP backend, except that the requests ``bad`` picks raise what a buggy
    backend or check might (not an ``LLMError``: nothing says the endpoint is at fault)."""

    def __init__(self, srv: ScriptedServer, bad: Any) -> None:
        self.inner = OpenAIBackend(srv.base_url, srv.model, api_key_env=None)
        self.model, self.bad = srv.model, bad

    async def complete(self, messages, tools=None, **params):
        if self.bad(messages, params):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return await self.inner.complete(messages, tools, **params)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("where", ["generator", "judge"])
def test_an_exception_for_one_generation_is_its_internal_error(tmp_path, where):
    def script(body: dict[str, Any]) -> Reply:
        if body["messages"][0]["content"].startswith("You review training data"):
            return judge(body)
        return answer(body, "good", int(body["seed"]))

    def bad(messages, params):
        if where == "generator":
            return params.get("seed") == BAD
        return f"Task {BAD}:" in messages[-1]["content"]

    with ScriptedServer(script) as srv:
        backend = BackendConfig("openai", srv.model, srv.base_url, key_env=None)
        cfg = ApigenConfig(output=str(tmp_path / "out.jsonl"), generator=backend,
                           builtin_tools=False, tool_modules=(TOOLS,), n=N, chunk_size=3,
                           styles={"simple": 1.0}, stages=("format", "semantic", "dedup"))
        buggy = _Buggy(srv, bad)
        result = apigen(cfg, generator=buggy if where == "generator" else None,
                        judge=buggy if where == "judge" else
                        OpenAIBackend(srv.base_url, srv.model, api_key_env=None))
    rejects = [parse_json(line) for line in result.rejects.read_text("utf-8").splitlines()]
    assert result.tally.generated == N and result.tally.kept == N - 1
    [reject] = rejects
    stage = "parse" if where == "generator" else "semantic"
    assert (reject["task"], reject["stage"], reject["code"]) == (BAD, stage, "internal_error")
    assert reject["message"].startswith("UnicodeEncodeError")
    assert reject["details"] == {"exception": "UnicodeEncodeError"}
