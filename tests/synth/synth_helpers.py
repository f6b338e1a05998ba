"""A scripted generator and judge for the synth tests: real HTTP on 127.0.0.1.

The generator reads the offered tools from the prompt and the task index from the request's
``seed`` (``seed * 1_000_003 + index``), and answers as ``behaviour(index)`` says: a good
example or one of the ways a generator fails, so every stage's reject path is exercised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.scripted_server import Fail, Reply, ScriptedServer

__all__ = ["TOOLS", "Fail", "Reply", "ScriptedServer", "generator_script"]

TOOLS = str(Path(__file__).with_name("synth_tools.py"))
_SAMPLE = {"integer": 7, "number": 2.5, "string": "hello world", "boolean": True}


def offered(body: dict[str, Any]) -> list[dict[str, Any]]:
    user = body["messages"][-1]["content"]
    out = []
    for line in user.splitlines():
        if line.startswith('{"name"'):
            obj = json.loads(line)
            if "parameters" in obj:
                out.append(obj)
    return out


def good_call(tool: dict[str, Any], k: int = 0) -> dict[str, Any]:
    props = tool["parameters"].get("properties", {})
    args = {p: (f"hello {k}" if s.get("type") == "string" else 7 + k if s.get("type") == "integer"
                else _SAMPLE[s.get("type", "string")])
            for p, s in props.items()}
    return {"name": tool["name"], "arguments": args}


def style_of(body: dict[str, Any]) -> str:
    text = body["messages"][-1]["content"]
    for style, marker in (("irrelevance", "NONE of the functions"),
                          ("parallel_multiple", "at least two different functions"),
                          ("parallel", "of the same function"),
                          ("multiple", "the single function that fits")):
        if marker in text:
            return style
    return "simple"


def answer(body: dict[str, Any], behaviour: str, index: int) -> Reply:
    tools = offered(body)
    style = style_of(body)
    n = 3 if style.startswith("parallel") else 1
    if style == "irrelevance":
        calls: list[dict[str, Any]] = []
    elif style == "parallel_multiple":
        calls = [good_call(tools[k % len(tools)], k) for k in range(max(2, len(tools)))]
    else:
        calls = [good_call(tools[0], k) for k in range(n)]
    query = f"Task {index}: please do {style} with " + ", ".join(t["name"] for t in tools)
    if behaviour == "judge_fail":
        query += " [judge-fail]"
    if behaviour == "duplicate":
        query = "the same question every time"
    obj: Any = {"query": query, "answers": calls}
    return {
        "good": lambda: Reply("Here you go:\n```json\n" + json.dumps(obj) + "\n```"),
        "judge_fail": lambda: Reply(json.dumps(obj)),
        "duplicate": lambda: Reply(json.dumps(obj)),
        "empty": lambda: Reply(""),
        "prose": lambda: Reply("I think the user wants to add numbers."),
        "bad_json": lambda: Reply('{"query": "x", "answers": [oops]}'),
        "truncated": lambda: Reply('{"query": "add 1 and', finish_reason="length"),
        "bad_shape": lambda: Reply(json.dumps({"question": "no query key", "answers": []})),
        "wrong_name": lambda: Reply(json.dumps({"query": query, "answers": [
            {"name": "no_such_tool", "arguments": {}}]})),
        "bad_type": lambda: Reply(json.dumps({"query": query, "answers": [
            {**c, "arguments": {k: [1] for k in c["arguments"]}} for c in calls]})),
        "style_mismatch": lambda: Reply(json.dumps({"query": query, "answers": calls * 2
                                                    if calls else [good_call(tools[0])]})),
    }[behaviour]()


def generator_script(behaviour: Callable[[int], str], seed: int = 0
                     ) -> Callable[[dict[str, Any]], Reply]:
    def script(body: dict[str, Any]) -> Reply:
        if body["messages"][0]["content"].startswith("You review training data"):
            return judge(body)
        index = int(body["seed"]) - seed * 1_000_003
        return answer(body, behaviour(index), index)

    return script


def judge(body: dict[str, Any]) -> Reply:
    text = body["messages"][-1]["content"]
    if "[judge-fail]" in text:
        return Reply('{"pass": false, "reason": "the query asks for a failure"}')
    if re.search(r"\[judge-garbage\]", text):
        return Reply("I cannot decide")
    return Reply('{"pass": true, "reason": "fine"}')
