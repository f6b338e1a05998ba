"""Bundled quickstart tools, query templates and slot-value pools.

Everything here is data from ``lamstudio/data/quickstart/``; this module only loads it and
draws slot values. Two kinds of hold-out make the quickstart's held-out split a real test
of generalisation rather than of memory:

* phrasings: each tool's ``heldout`` templates never appear in training;
* values: about a quarter of every string pool (cities, tickers, tasks, ...) is reserved, so
  a model that scores on held-out records must *copy* values it never saw as arguments.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

Split = Literal["train", "heldout"]
SLOT = re.compile(r"\{(\w+)\}")
# Share of every string pool reserved for the held-out split.
HELDOUT_VALUE_BUCKETS = 4


def stable_bucket(key: str, buckets: int) -> int:
    """A hash that does not change between processes (``hash()`` of a str is salted)."""
    return int(hashlib.md5(key.encode()).hexdigest()[:8], 16) % buckets


@dataclass(frozen=True)
class Template:
    id: str
    tool: str
    text: str
    split: Split

    @property
    def slots(self) -> list[str]:
        return SLOT.findall(self.text)


@dataclass(frozen=True)
class ToolKit:
    """One bundled tool: its OpenAI-style spec, slot sources and templates per split."""

    spec: dict[str, Any]
    slot_sources: dict[str, str]
    templates: dict[str, list[Template]]

    @property
    def name(self) -> str:
        return self.spec["name"]

    def param(self, slot: str) -> dict[str, Any]:
        return self.spec["parameters"]["properties"][slot]


# Syllables for invented names. Training draws some values from these so that a model
# cannot get by with memorising the bundled lists: copying from the query is the only
# strategy that works for a name it has never seen (the held-out split uses real values).
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr",
           "gr", "kr", "st", "tr", "sh", "ch", "th", "h", "j", "w"]
_VOWELS = ["a", "e", "i", "o", "u", "ia", "ea", "ou", "ai", "y"]
_CODAS = ["", "", "", "n", "r", "l", "s", "m", "rd", "nd", "st", "x", "k", "th"]
_PLACE_WORDS = ["Port", "San", "New", "Fort", "Lake", "North", "South", "Mount", "Saint", "Cape"]
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def invented_word(rng: random.Random, syllables: tuple[int, int] = (2, 3)) -> str:
    n = rng.randint(*syllables)
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(n)) + rng.choice(
        _CODAS)


def invent(pool: str, rng: random.Random) -> str | None:
    """An invented value for ``pool`` (None: the pool has no invented values)."""
    if pool == "city":
        name = invented_word(rng).capitalize()
        return f"{rng.choice(_PLACE_WORDS)} {name}" if rng.random() < 0.2 else name
    if pool == "ticker":
        return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(2, 4)))
    if pool in ("first_name", "last_name"):
        return invented_word(rng, (1, 2))
    return None


@dataclass
class Pools:
    """String pools split into train / held-out values (held-out values are drawn with
    probability ``novel_rate`` in the held-out split, never in training). In training, a
    share ``invented_rate`` of the values of some pools are invented (``invent``)."""

    values: dict[str, list[str]]
    novel_rate: float = 0.5
    invented_rate: float = 0.5
    _split: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def pool(self, name: str, split: Split) -> list[str]:
        key = (name, split)
        if key not in self._split:
            items = self.values[name]
            held = [v for v in items if stable_bucket(f"{name}:{v}", HELDOUT_VALUE_BUCKETS) == 0]
            self._split[key] = held if split == "heldout" else [v for v in items if v not in held]
        return self._split[key]

    def draw_split(self, name: str, split: Split, rng: random.Random) -> str:
        """A value from ``split``'s own part of the pool only."""
        return rng.choice(self.pool(name, split))

    def draw(self, name: str, split: Split, rng: random.Random) -> tuple[str, bool]:
        """A value and whether it is novel (never used in training)."""
        if split == "heldout" and rng.random() < self.novel_rate:
            return rng.choice(self.pool(name, "heldout")), True
        if split == "train" and rng.random() < self.invented_rate:
            value = invent(name, rng)
            if value is not None and value not in self.values[name]:
                return value, False
        return rng.choice(self.pool(name, "train")), False


def _read(name: str) -> Any:
    path = resources.files("lamstudio") / "data" / "quickstart" / name
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def load_toolkits() -> tuple[ToolKit, ...]:
    specs = {t["name"]: t for t in _read("tools.json")}
    kits = []
    for name, entry in _read("templates.json").items():
        templates = {
            split: [Template(f"{name}/{split[0]}{i}", name, text, split)
                    for i, text in enumerate(entry[split])]
            for split in ("train", "heldout")
        }
        kits.append(ToolKit(specs[name], entry["slots"], templates))
    return tuple(kits)


@cache
def load_values() -> dict[str, list[str]]:
    return _read("values.json")


# Units that can be converted into each other (convert_units draws one pair per call).
UNIT_PAIRS = [("kilometers", "miles"), ("meters", "feet"), ("centimeters", "inches"),
              ("kilograms", "pounds"), ("liters", "gallons")]


def _number(source: str, rng: random.Random) -> int | float:
    if source.startswith("int:"):
        _, lo, hi = source.split(":")
        return rng.randint(int(lo), int(hi))
    if source == "percent":
        return rng.choice([5, 8, 10, 12, 15, 18, 20, 22, 25, 30])
    if source == "amount":
        return rng.randint(2, 5000) if rng.random() < 0.6 else round(rng.uniform(1, 900), 2)
    if source == "quantity":
        return rng.randint(1, 1000) if rng.random() < 0.7 else round(rng.uniform(0.5, 99), 1)
    raise KeyError(source)


def fill_slots(kit: ToolKit, template: Template, pools: Pools, split: Split,
               rng: random.Random) -> tuple[str, dict[str, Any], list[str]]:
    """Render ``template``: returns (query text, arguments in mention order, names of slots
    with novel values).

    Values drawn from the same source within one call differ (origin != destination,
    from_currency != to_currency)."""
    values: dict[str, Any] = {}
    novel: list[str] = []
    pair = rng.choice(UNIT_PAIRS)
    pair = pair if rng.random() < 0.5 else pair[::-1]
    for slot in template.slots:
        source = kit.slot_sources[slot]
        for _ in range(50):
            value, is_novel = _draw(kit, slot, source, pools, split, rng, pair)
            if value not in values.values():
                break
        values[slot] = value
        if is_novel:
            novel.append(slot)
    text = SLOT.sub(lambda m: _as_text(values[m.group(1)]), template.text)
    # Arguments in the order the query mentions them (a JSON object has no order, so this
    # is free to choose): the model then copies values left to right through the query.
    return text, {k: values[k] for k in template.slots}, novel


def _draw(kit: ToolKit, slot: str, source: str, pools: Pools, split: Split,
          rng: random.Random, pair: tuple[str, str]) -> tuple[Any, bool]:
    if source == "enum":
        return rng.choice(kit.param(slot)["enum"]), False
    if source.startswith("unit_pair."):
        return pair[int(source[-1])], False
    if source == "date":
        year, month, day = rng.choice([2026, 2027]), rng.randint(1, 12), rng.randint(1, 28)
        return f"{year}-{month:02d}-{day:02d}", False
    if source == "time":
        return f"{rng.randint(6, 22):02d}:{rng.choice(range(0, 60, 5)):02d}", False
    if source == "email":
        first, novel = pools.draw("first_name", split, rng)
        # Last names are not split train/held-out (the first name carries novelty), but
        # training invents them at the pools' rate like every other name.
        invented = split == "train" and rng.random() < pools.invented_rate
        last = invent("last_name", rng) if invented else rng.choice(pools.values["last_name"])
        return f"{first}.{last}@{rng.choice(pools.values['domain'])}", novel
    if source in pools.values:
        return pools.draw(source, split, rng)
    return _number(source, rng), False


def _as_text(value: Any) -> str:
    return str(value)
