"""The augmentations (xLAM's recipe), each a pure function of a record dict and a seeded
``random.Random``: it returns the changed record and what it did, or None when it does not
apply (e.g. shuffling a single tool)."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from random import Random
from typing import Any

Record = dict[str, Any]
Applied = dict[str, Any]


@cache
def _pool() -> dict[str, list[str]]:
    path = resources.files("lamstudio") / "data" / "augment" / "system_prompts.json"
    return json.loads(path.read_text("utf-8"))


def _names(r: Record) -> list[str]:
    return [t["function"]["name"] for t in r.get("tools") or []]


def _called(r: Record) -> set[str]:
    return {c["function"]["name"] for m in r["messages"] for c in m.get("tool_calls") or []}


def shuffle_tools(r: Record, rng: Random) -> tuple[Record, Applied] | None:
    tools = list(r.get("tools") or [])
    if len(tools) < 2:
        return None
    before = _names(r)
    while _names({"tools": tools}) == before:
        rng.shuffle(tools)
    return {**r, "tools": tools}, {"op": "shuffle_tools", "order": _names({"tools": tools})}


def rephrase_system(r: Record, rng: Random) -> tuple[Record, Applied] | None:
    pool = _pool()
    k = rng.randrange(len(pool["system_prompts"]))
    phrase = rng.choice(pool["tool_phrases"])
    text = pool["system_prompts"][k].replace("{tools_phrase}", phrase)
    return {**r, "system": text}, {"op": "rephrase_system", "prompt": k}


def add_distractors(r: Record, rng: Random, pool: list[dict[str, Any]],
                    most: int) -> tuple[Record, Applied] | None:
    taken = set(_names(r))
    free = [t for t in pool if t["function"]["name"] not in taken]
    if not free or most < 1:
        return None
    extra = rng.sample(free, min(len(free), rng.randint(1, most)))
    tools = list(r.get("tools") or [])
    for t in extra:
        tools.insert(rng.randint(0, len(tools)), t)
    return {**r, "tools": tools}, {"op": "distractors",
                                   "added": [t["function"]["name"] for t in extra]}


def to_irrelevance(r: Record, rng: Random, refusals: tuple[str, ...],
                   pool: list[dict[str, Any]]) -> tuple[Record, Applied] | None:
    """Remove the tools the first call turn needs; that turn becomes a refusal and the
    conversation ends there. A record left without tools gets one unrelated tool."""
    turn = next((i for i, m in enumerate(r["messages"])
                 if m["role"] == "assistant" and m.get("tool_calls")), None)
    if turn is None:
        return None
    needed = _called(r)
    tools = [t for t in r.get("tools") or [] if t["function"]["name"] not in needed]
    if not tools:
        free = [t for t in pool if t["function"]["name"] not in needed]
        if not free:
            return None
        tools = [rng.choice(free)]
    messages = r["messages"][:turn] + [{"role": "assistant", "content": rng.choice(refusals)}]
    meta = {**r.get("meta", {}), "category": "irrelevance"}
    return ({**r, "tools": tools, "messages": messages, "meta": meta},
            {"op": "irrelevance", "removed": sorted(needed)})


_RENAMES = (lambda p: p + "_value", lambda p: "the_" + p, lambda p: p.upper(),
            lambda p: "".join(w.capitalize() if i else w for i, w in enumerate(p.split("_"))),
            lambda p: "arg_" + p)


def rename_parameters(r: Record, rng: Random) -> tuple[Record, Applied] | None:
    """Rename the parameters of one called tool, in its schema and in every call."""
    called = sorted(_called(r) & set(_names(r)))
    if not called:
        return None
    name = rng.choice(called)
    r = copy.deepcopy(r)
    spec = next(t for t in r["tools"] if t["function"]["name"] == name)["function"]
    props = spec.get("parameters", {}).get("properties") or {}
    rename = rng.choice(_RENAMES)
    mapping = {p: rename(p) for p in props}
    if not mapping or any(a == b for a, b in mapping.items()) \
            or len(set(mapping.values())) < len(mapping):
        return None
    params = spec["parameters"]
    params["properties"] = {mapping[p]: v for p, v in props.items()}
    if "required" in params:
        params["required"] = [mapping.get(p, p) for p in params["required"]]
    for m in r["messages"]:
        for c in m.get("tool_calls") or []:
            if c["function"]["name"] == name:
                args = c["function"].get("arguments") or {}
                c["function"]["arguments"] = {mapping.get(k, k): v for k, v in args.items()}
    return r, {"op": "rename_parameters", "tool": name, "mapping": mapping}
