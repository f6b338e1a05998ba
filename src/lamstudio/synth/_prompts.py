"""Prompt templates, query styles, refusal texts and few-shot seed examples of
``synth apigen``: data files under ``lamstudio/data/synth/`` (or the user's own), loaded
here and filled in for one task."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lamstudio.io import InputError, JsonValueError, parse_json

_DATA = resources.files("lamstudio") / "data" / "synth"
STYLES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance")


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
    """The chat request for one generation."""
    lines = [json.dumps({"name": t["function"]["name"],
                         "description": t["function"].get("description", ""),
                         "parameters": t["function"].get("parameters", {})},
                        ensure_ascii=False) for t in tools]
    instruction = style_instructions()[style].replace("{n_calls}", str(n_calls))
    fill = {"{tools}": "\n".join(lines), "{examples}": "\n".join(e.render() for e in examples),
            "{style}": instruction, "{n_calls}": str(n_calls)}
    user = template.user
    for key, value in fill.items():  # str.replace: JSON braces in templates stay as they are
        user = user.replace(key, value)
    return [{"role": "system", "content": template.system}, {"role": "user", "content": user}]
