"""load(dump(t)) == t: generated records for openai and ShareGPT (restricted to what each
format holds), and the shipped samples for every format. Real files, real load and dump."""

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamstudio.schema import Trajectory, check
from lamstudio.sources import get_format

NAMES = ["get_weather", "search", "book_flight", "calc", "Market Trends API", "f.v2"]
TEXT = st.text(max_size=40)
SOME_TEXT = st.text(min_size=1, max_size=40)
KEYS = st.text(max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8)
ARGS = st.dictionaries(KEYS, JSON, max_size=4)


@st.composite
def tool_specs(draw) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
    specs = []
    for name in names:
        props = draw(st.dictionaries(KEYS, st.fixed_dictionaries(
            {"type": st.sampled_from(["string", "integer", "number", "boolean", "array"])},
            optional={"description": TEXT, "default": JSON}), max_size=3))
        fn = {"name": name, "description": draw(TEXT),
              "parameters": {"type": "object", "properties": props,
                             "required": draw(st.lists(st.sampled_from(sorted(props)),
                                                       unique=True)) if props else []}}
        if draw(st.booleans()):  # tool schemas in the wild carry extra keys
            fn["strict"] = draw(st.booleans())
        specs.append({"type": "function", "function": fn})
    return specs


@st.composite
def trajectories(draw, fmt: str) -> Trajectory:
    """A valid record that ``fmt`` can hold; see each module's docstring for the limits."""
    sharegpt = fmt == "sharegpt"
    thought = st.none() | (SOME_TEXT if sharegpt else TEXT)
    messages: list[dict[str, Any]] = [{"role": "user", "content": draw(TEXT)}]
    n_ids = 0
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["user", "text", "calls", "system"]))
        prev = messages[-1]
        if kind == "user":
            messages.append({"role": "user", "content": draw(TEXT)})
        elif kind == "system":
            messages.append({"role": "system", "content": draw(TEXT)})
        elif kind == "text":
            messages.append({"role": "assistant", "content": draw(TEXT)})
        else:
            content = draw(thought)
            if sharegpt and content is None and prev["role"] == "assistant" \
                    and not prev.get("tool_calls"):
                content = draw(SOME_TEXT)  # else the text before would read as this thought
            calls = []
            for _ in range(draw(st.integers(1, 3))):
                call = {"function": {"name": draw(st.sampled_from(NAMES)),
                                     "arguments": draw(ARGS)}}
                if not sharegpt and draw(st.booleans()):
                    n_ids += 1
                    call["id"] = f"id-{n_ids}"
                calls.append(call)
            messages.append({"role": "assistant", "content": content, "tool_calls": calls})
            messages += draw(_results(calls, sharegpt))
        _maybe_loss_flags(draw, messages[-1])  # ShareGPT too: train/weight ride on turns
    system = draw(st.none() | (SOME_TEXT if sharegpt else TEXT))
    raw = {"id": draw(SOME_TEXT), "source": draw(TEXT), "tools": draw(tool_specs()),
           "messages": messages, "meta": draw(st.dictionaries(KEYS, JSON, max_size=3))}
    if system is not None:
        raw["system"] = system
    t = Trajectory.model_validate(raw)
    assert check(t).ok, check(t).issues
    return t


@st.composite
def _results(draw, calls: list[dict[str, Any]], sharegpt: bool) -> list[dict[str, Any]]:
    """Results for some of the calls: in order for ShareGPT (it links by order), in any
    order with explicit ids for openai."""
    n = draw(st.integers(0, len(calls)))
    if sharegpt:
        return [{"role": "tool", "content": draw(TEXT)} for _ in range(n)]
    picked = draw(st.permutations(range(len(calls))))[:n]
    out = []
    for k in picked:
        msg: dict[str, Any] = {"role": "tool", "content": draw(TEXT)}
        if "id" in calls[k]:
            msg["tool_call_id"] = calls[k]["id"]
            if draw(st.booleans()):
                msg["name"] = calls[k]["function"]["name"]
        out.append(msg)
    return out


def _maybe_loss_flags(draw, message: dict[str, Any]) -> None:
    if draw(st.booleans()):
        message["train"] = draw(st.booleans())
    if draw(st.booleans()):
        message["weight"] = draw(st.floats(0, 2))


def roundtrip(fmt: str, records: list[Trajectory], suffix: str = ".jsonl") -> list[Trajectory]:
    module = get_format(fmt)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{fmt}{suffix}"
        assert module.dump(records, path) == len(records)
        rejects: list = []
        back = list(module.load(path, on_reject=rejects.append))
    assert rejects == []
    return back


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(trajectories("openai"))
def test_openai_roundtrip_is_lossless(t):
    assert roundtrip("openai", [t]) == [t]


@SETTINGS
@given(trajectories("sharegpt"))
def test_sharegpt_roundtrip_is_lossless(t):
    assert roundtrip("sharegpt", [t]) == [t]


@pytest.mark.parametrize("fmt", ["lamstudio", "apigen", "openai", "sharegpt", "actionstudio",
                                 "react"])
def test_samples_roundtrip(samples, fmt):
    module = get_format(fmt)
    rejects: list = []
    first = list(module.load(samples / f"{fmt}.jsonl", on_reject=rejects.append))
    assert rejects == [] and len(first) >= 5
    assert roundtrip(fmt, first) == first


def test_actionstudio_json_array_roundtrip(samples):
    first = list(get_format("actionstudio").load(samples / "actionstudio.jsonl"))
    assert roundtrip("actionstudio", first, suffix=".json") == first


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "actionstudio", "react"])
def test_every_sample_survives_a_trip_through_other_chat_formats(samples, fmt):
    """lamstudio -> fmt -> lamstudio keeps what fmt holds: the calls, results and texts."""
    for t in get_format("lamstudio").load(samples / "lamstudio.jsonl"):
        if fmt == "react" and any(m.role == "system" for m in t.messages):
            continue
        (back,) = roundtrip(fmt, [t])
        assert [c.model_dump() for c in back.calls()] == [c.model_dump() for c in t.calls()]
        assert [m.role for m in back.messages] == [m.role for m in t.messages]
        assert [m.content or "" for m in back.messages] == [m.content or "" for m in t.messages]
        assert back.tools == t.tools and back.system == t.system
