"""The prompt ``synth apigen`` sends a generator: the offered tools, the names it may call,
the reply's shape over those tools, and seed examples that cannot pass for offered tools.

A small generator copies what its prompt shows: Qwen2.5-Coder-0.5B, given few-shot
examples over other tools, called those tools in 6 of 8 generations (docs/flywheel.md)."""

from __future__ import annotations

import json
import re

import pytest

from lamstudio.synth._prompts import (
    STYLES,
    PromptTemplate,
    SeedExample,
    build_messages,
    reply_shape,
)


def tool(name: str, **props: dict) -> dict:
    return {"type": "function", "function": {
        "name": name, "description": f"{name} does things.",
        "parameters": {"type": "object", "properties": props, "required": list(props)}}}


WEATHER = tool("get_weather", city={"type": "string"},
               unit={"type": "string", "enum": ["celsius", "fahrenheit"]})
PRIME = tool("is_prime", n={"type": "integer"})
SEED = SeedExample("seed-x", "simple", "Is 7 prime?",
                   [{"name": "other_tool", "arguments": {"x": 1}}])


def user_text(template: str, tools: list[dict], style: str = "simple", n_calls: int = 1,
              examples: tuple[SeedExample, ...] = ()) -> str:
    t = PromptTemplate("t", "system", template)
    return build_messages(t, tools, style, n_calls, list(examples))[1]["content"]


def test_names_are_the_offered_tools_and_nothing_else():
    text = user_text("{tools}\nCall only: {names}", [WEATHER, PRIME])
    assert text.splitlines()[-1] == "Call only: get_weather, is_prime"


def filled(shape: str) -> dict:
    """The shape with every ``<...>`` hole filled in: then it is the reply's JSON."""
    return json.loads(re.sub(r'"?<[^<>]*>"?', '"v"', shape))


@pytest.mark.parametrize("style", STYLES)
def test_the_reply_shape_calls_only_offered_tools_as_the_style_asks(style):
    offered = [WEATHER, PRIME] if style in ("multiple", "parallel_multiple") else [WEATHER]
    n_calls = {"parallel": 3, "parallel_multiple": 3}.get(style, 1)
    shape = reply_shape(offered, style, n_calls)
    if style == "multiple":  # which function fits is the generator's choice
        assert "<one of: get_weather, is_prime>" in shape
        return
    reply = filled(shape)
    assert set(reply) == {"query", "answers"}
    names = [a["name"] for a in reply["answers"]]
    want = {"simple": ["get_weather"], "parallel": ["get_weather"] * 3,
            "parallel_multiple": ["get_weather", "is_prime", "get_weather"],
            "irrelevance": []}[style]
    assert names == want
    for a in reply["answers"]:  # every required parameter, nothing else
        spec = next(t for t in offered if t["function"]["name"] == a["name"])
        assert list(a["arguments"]) == spec["function"]["parameters"]["required"]


def test_the_reply_shape_shows_types_and_enums():
    shape = reply_shape([WEATHER, PRIME], "parallel_multiple", 2)
    assert '"city": <string>' in shape and '"unit": <"celsius" | "fahrenheit">' in shape
    assert '"n": <integer>' in shape


def test_a_tool_name_that_is_not_plain_text_is_quoted_in_the_shape():
    odd = tool('say "hi" {now}', text={"type": "string"})
    reply = filled(reply_shape([odd], "simple", 1))
    assert reply["answers"][0]["name"] == 'say "hi" {now}'


@pytest.mark.parametrize("placeholder", ["{examples}", "{style}", "{n_calls}", "{names}",
                                         "{shape}", "{tools}"])
def test_placeholders_inside_tools_and_examples_are_shown_as_written(placeholder):
    """Outside text (a tool file's description, a seed query) is never filled in: a
    description that says ``{examples}`` reaches the generator as that word."""
    sly = tool("sly", q={"type": "string"})
    sly["function"]["description"] = f"Takes {placeholder} literally."
    seed = SeedExample("seed-y", "simple", f"What does {placeholder} mean?", [])
    text = user_text("{tools}\n---\n{examples}\n---\n{style} ({n_calls}) {names}", [sly],
                     examples=(seed,))
    assert f"Takes {placeholder} literally." in text
    assert f"What does {placeholder} mean?" in text
    assert text.count(placeholder) == 2
