from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lamstudio.schema import Trajectory

FIXTURE_TOOLS = str(Path(__file__).with_name("fixture_tools.py"))

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "minLength": 1},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "where": {"type": "object", "properties": {"lat": {"type": "number"}},
                  "required": ["lat"]},
        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}}},
        "required": ["city"]}}}


def spec(name: str, props: dict[str, Any], required: list[str] | None = None,
         **extra: Any) -> dict[str, Any]:
    params = {"type": "object", "properties": props, "required": required or [], **extra}
    return {"type": "function", "function": {"name": name, "description": name,
                                             "parameters": params}}


def call(name: str, args: dict[str, Any], cid: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": args}}
    if cid:
        out["id"] = cid
    return out


def record(query: str = "Weather in Paris?", calls: list[dict] | None = None,
           tools: list[dict] | None = None, rid: str = "r1", results: list[str] | None = None,
           category: str | None = None, final: str | None = "Done.") -> dict[str, Any]:
    """A raw record: user query, one assistant turn with ``calls``, optional results."""
    calls = copy.deepcopy(calls if calls is not None else [call("get_weather",
                                                                 {"city": "Paris"})])
    for i, c in enumerate(calls):
        c.setdefault("id", f"c{i}")
    msgs: list[dict[str, Any]] = [{"role": "user", "content": query}]
    if calls:
        msgs.append({"role": "assistant", "content": None, "tool_calls": calls})
        for c, res in zip(calls, results or [], strict=False):
            msgs.append({"role": "tool", "tool_call_id": c["id"], "content": res})
    if final is not None:
        msgs.append({"role": "assistant", "content": final})
    rec = {"id": rid, "source": "test", "tools": tools if tools is not None else [WEATHER],
           "messages": msgs, "meta": {}}
    if category:
        rec["meta"]["category"] = category
    return rec


def traj(**kw: Any) -> Trajectory:
    return Trajectory.model_validate(record(**kw))


@pytest.fixture
def fixture_tools() -> str:
    return FIXTURE_TOOLS


CITIES = ["Paris", "Oslo", "Lima", "Kyoto", "Quito", "Cairo", "Perth", "Dakar", "Hanoi", "Turin",
          "Lyon", "Porto", "Bern", "Riga", "Baku", "Doha"]
PHRASES = ["What is the weather like in {c} today?", "Tell me the forecast for {c}, please.",
           "Is it raining in {c} right now?", "How warm will it be in {c} this weekend?"]
ADD = spec("add", {"a": {"type": "number"}, "b": {"type": "number"}}, ["a", "b"])


def dataset_rows(n: int) -> list[str]:
    """JSONL lines mixing good records with every kind of failure, deterministically."""
    import json

    lines: list[str] = []
    for i in range(n):
        city, phrase = CITIES[i % len(CITIES)], PHRASES[(i // len(CITIES)) % len(PHRASES)]
        q = phrase.format(c=city) + f" (ref {i // (len(CITIES) * len(PHRASES))})"
        kind = i % 10
        if kind == 3:
            rec = record(q, [call("get_wether", {"city": city})], rid=f"r{i}")     # IFN
        elif kind == 5 and i > 10:
            rec = record(PHRASES[0].format(c=CITIES[0]) + " (ref 0)", rid=f"r{i}")  # duplicate
        elif kind == 7:
            rec = record(f"add {i} and 1", [call("add", {"a": i, "b": 1})], [ADD],
                         rid=f"r{i}")                                              # executable
        else:
            rec = record(q, [call("get_weather", {"city": city})], rid=f"r{i}")
        lines.append(json.dumps(rec))
    if n > 20:
        lines[9] = '{"id": "broken", "messages": ['                                 # bad JSON
        lines[19] = lines[18].replace('"r18"', '"r1"')                              # dup id
    return lines


def write_dataset(path: Path, n: int) -> Path:
    path.write_text("\n".join(dataset_rows(n)) + "\n")
    return path
