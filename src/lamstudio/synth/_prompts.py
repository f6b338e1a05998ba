"""Prompt templates, query styles, refusal texts and few-shot seed examples of
``synth apigen``: data files under ``lamstudio/data/synth/`` (or the user's own), loaded
here and filled in for one task."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lamstudio.io import InputError, JsonValueError, parse_json

_DATA = resources.files("lamstudio") / "data" / "synth"
STYLES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance")
_PLACEHOLDER = re.compile(r"\{(?:tools|examples|names|shape|style|n_calls)\}")


@dataclass(frozen=True)
class PromptTemplate:
    id: str
    system: str
    user: str


@dataclass(frozen=True)
class SeedExample:
    id: str
    style: str
    query: str
    answers: list[dict[str, Any]]

    def render(self) -> str:
        return json.dumps({"query": self.query, "answers": self.answers}, ensure_ascii=False)


def _bundled(name: str) -> Any:
    return json.loads((_DATA / name).read_text("utf-8"))


def load_templates(path: str | Path | None = None) -> list[PromptTemplate]:
    """The prompt pool (``prompts.json``'s ``templates``): ids must be unique."""
    where = str(path or "prompts.json")
    try:
        data = parse_json(Path(path).read_bytes()) if path else _bundled("prompts.json")
    except JsonValueError as exc:
        raise InputError(f"{where}: not usable JSON ({exc.code}: {exc.message})") from None
    items = data.get("templates") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError(f"{where}: expected a non-empty 'templates' list")
    out: list[PromptTemplate] = []
    for i, t in enumerate(items):
        if not isinstance(t, dict):
            raise InputError(f"{where}: templates[{i}] is not an object")
        missing = [k for k in ("id", "system", "user") if not isinstance(t.get(k), str)]
        if missing:
            raise InputError(f"{where}: templates[{i}] lacks {', '.join(missing)}")
        if "{tools}" not in t["user"]:
            raise InputError(f"{where}: templates[{i}] ({t['id']}) never shows {{tools}}")
        out.append(PromptTemplate(t["id"], t["system"], t["user"]))
    ids = [t.id for t in out]
    if len(set(ids)) != len(ids):
        raise InputError(f"{where}: template ids are not unique: {ids}")
    return out


@cache
def style_instructions() -> dict[str, str]:
    return dict(_bundled("styles.json")["styles"])


@cache
def load_refusals() -> tuple[str, ...]:
    """Assistant answers for irrelevance cases (shared with ``lamstudio.augment``)."""
    return tuple(_bundled("refusals.json")["refusals"])


def bundled_seed_file() -> Path:
    return Path(str(_DATA / "seeds.jsonl"))


def load_seeds(path: str | Path | None = None) -> list[SeedExample]:
    """Few-shot examples from lamstudio records: the first user message is the query, the
    first assistant turn's calls the answers, ``meta.category`` the style."""
    from lamstudio.sources import get_format

    p = Path(path) if path else bundled_seed_file()
    if not p.is_file():
        raise InputError(f"{p}: no such seed file")
    bad: list[str] = []
    out = []
    for t in get_format("lamstudio").load(p, on_reject=lambda r: bad.append(str(r.code))):
        query = next((m.content for m in t.messages if m.role == "user" and m.content), None)
        turn = next((m for m in t.messages if m.role == "assistant"), None)
        if query is None or turn is None:
            bad.append(f"{t.id}: no user query or no assistant turn")
            continue
        answers = [{"name": c.function.name, "arguments": c.function.arguments}
                   for c in turn.tool_calls or []]
        style = str(t.meta.get("category") or ("irrelevance" if not answers else "simple"))
        out.append(SeedExample(t.id, style, query, answers))
    if bad:
        raise InputError(f"{p}: {len(bad)} seed record(s) unusable: {bad[:3]}")
    if not out:
        raise InputError(f"{p}: no seed examples")
    return out


def build_messages(template: PromptTemplate, tools: list[dict[str, Any]], style: str,
                   n_calls: int, examples: list[SeedExample]) -> list[dict[str, Any]]:
    """The chat request for one generation. Placeholders: ``{tools}`` (one JSON line per
    offered tool), ``{names}`` (the offered names, the only ones a call may use),
    ``{shape}`` (the reply's JSON over the offered tools, see ``reply_shape``),
    ``{examples}``, ``{style}``, ``{n_calls}``."""
    lines = [json.dumps({"name": t["function"]["name"],
                         "description": t["function"].get("description", ""),
                         "parameters": t["function"].get("parameters", {})},
                        ensure_ascii=False) for t in tools]
    instruction = style_instructions()[style].replace("{n_calls}", str(n_calls))
    fill = {"{tools}": "\n".join(lines), "{examples}": "\n".join(e.render() for e in examples),
            "{names}": ", ".join(t["function"]["name"] for t in tools),
            "{shape}": reply_shape(tools, style, n_calls),
            "{style}": instruction, "{n_calls}": str(n_calls)}
    # One pass over the template: a tool description or seed query that holds "{style}" or
    # "{examples}" is shown as written, never filled in; other braces (JSON) stay as they are.
    user = _PLACEHOLDER.sub(lambda m: fill[m.group(0)], template.user)
    return [{"role": "system", "content": template.system}, {"role": "user", "content": user}]


def reply_shape(tools: list[dict[str, Any]], style: str, n_calls: int) -> str:
    """The asked-for reply written out over the *offered* tools: the call names that fit
    the style and each call's required parameters, values left as ``<type>`` holes.

    A small generator copies what it is shown: few-shot examples over other tools made
    Qwen2.5-Coder-0.5B call those tools instead of the offered ones (docs/flywheel.md);
    a shape built from the offered tools shows the format without other names to copy."""
    if style == "irrelevance" or not tools:
        return '{"query": "<the user\'s request>", "answers": []}'
    names = [t["function"]["name"] for t in tools]
    by_name = {t["function"]["name"]: t["function"] for t in tools}
    if style == "parallel_multiple":  # at least two different functions
        picked = [names[k % len(names)] for k in range(max(n_calls, 2))]
    else:
        picked = [names[0]] * (n_calls if style == "parallel" else 1)
    if style == "multiple" and len(names) > 1:  # which one fits is the generator's choice
        calls = ['{"name": "<one of: ' + ", ".join(names) + '>", "arguments": {<that '
                 'function\'s parameters and their values>}}']
    else:
        calls = [_call_shape(by_name[n], n) for n in picked]
    return '{"query": "<the user\'s request>", "answers": [' + ", ".join(calls) + "]}"


def _call_shape(fn: dict[str, Any], name: str) -> str:
    params = fn.get("parameters") or {}
    props = params.get("properties") or {}
    required = [p for p in params.get("required") or [] if p in props] or list(props)[:1]
    args = ", ".join(f"{json.dumps(p, ensure_ascii=False)}: <{_type_hole(props[p])}>"
                     for p in required)
    return f'{{"name": {json.dumps(name, ensure_ascii=False)}, "arguments": {{{args}}}}}'


def _type_hole(schema: Any) -> str:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(schema, dict) and isinstance(schema.get("enum"), list) and schema["enum"]:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"][:6])
    return str(kind or "value")
