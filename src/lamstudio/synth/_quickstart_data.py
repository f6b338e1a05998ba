"""The quickstart's data: verified single-turn tool-calling records from bundled tools.

Five categories, named as in BFCL: ``simple`` (one tool offered, one call), ``multiple``
(several offered, one call), ``parallel`` (one tool, several calls), ``parallel_multiple``
(several tools, several calls) and ``irrelevance`` (no offered tool fits; the assistant
answers in text). The held-out split uses phrasings, multi-call separators, irrelevant
questions and tool combinations that training never sees, and slot values of which about
half are unseen (see ``_templates``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lamstudio.io import JsonlWriter, Reject, RejectWriter, Tally
from lamstudio.synth._check import record_issues
from lamstudio.synth._templates import (
    Pools,
    Split,
    ToolKit,
    fill_slots,
    invented_word,
    load_toolkits,
    load_values,
    stable_bucket,
)

CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance")
TRAIN_WEIGHTS = {"simple": 0.2, "multiple": 0.3, "parallel": 0.15,
                 "parallel_multiple": 0.2, "irrelevance": 0.15}
SOURCE = "lamstudio-quickstart"
# Tools close enough that one could be mistaken for an answer to the other's query:
# never offered as the "irrelevant" alternative to each other.
RELATED = [{"get_weather", "get_forecast"}]
# Share of queries that get a greeting in front and, independently, a sign-off after.
FRAME_RATE = 0.4
# One combination in five is reserved for the held-out split.
HELDOUT_COMBO_BUCKETS = 5
# Share of training phrasings (and, separately, of multi-call separators) in which words
# outside the slots are replaced by, or joined with, invented words (``noisy_text``).
NOISE_RATE = 0.3


def combo_key(category: str, offered: list[str], called: list[str]) -> str | None:
    """What "tool combination" means per category (None: category has no combinations)."""
    if category == "multiple":
        return "multiple:" + ",".join(sorted(offered))
    if category == "parallel":
        return f"parallel:{called[0]}x{len(called)}"
    if category == "parallel_multiple":
        return "parallel_multiple:" + ",".join(sorted(called))
    return None


def combo_split(key: str) -> Split:
    return "heldout" if stable_bucket(key, HELDOUT_COMBO_BUCKETS) == 0 else "train"


@dataclass
class _Gen:
    split: Split
    rng: random.Random
    kits: tuple[ToolKit, ...]
    pools: Pools

    def call(self, kit: ToolKit) -> tuple[str, dict[str, Any], str, list[str]]:
        template = self.rng.choice(kit.templates[self.split])
        template = replace(template, text=self.noise(template.text))
        text, args, novel = fill_slots(kit, template, self.pools, self.split, self.rng)
        return text, args, template.id, novel

    def noisy(self) -> bool:
        """Whether to add word noise here: at ``NOISE_RATE`` in training, never held out."""
        return self.split == "train" and self.rng.random() < NOISE_RATE

    def noise(self, text: str) -> str:
        return noisy_text(text, self.rng) if self.noisy() else text

    def separator(self) -> str:
        if self.noisy():
            return f" {invented_word(self.rng, (1, 3)).capitalize()}: "
        return self.rng.choice(self.pools.values[f"separator_{self.split}"])

    def frame(self, query: str) -> str:
        """Greetings and sign-offs around a request, so that where a value sits in the query
        varies and the position of a slot in a template is not enough to find it."""
        rng, split = self.rng, self.split
        if rng.random() < FRAME_RATE:
            query = rng.choice(self.pools.values[f"prefix_{split}"]) + query
        if rng.random() < FRAME_RATE:
            query += rng.choice(self.pools.values[f"suffix_{split}"])
        return query

    def others(self, exclude: set[str], k: int) -> list[ToolKit]:
        pool = [t for t in self.kits if t.name not in exclude]
        return self.rng.sample(pool, k)

    def sample(self, category: str) -> dict[str, Any] | None:
        """One record of ``category``, or None when the draw hit the other split's combo."""
        called, offered = self._plan(category)
        if category == "irrelevance":
            return self._irrelevance(offered)
        names = [k.name for k in offered]
        key = combo_key(category, names, [k.name for k in called])
        if key is not None and combo_split(key) != self.split:
            return None
        parts = [self.call(kit) for kit in called]
        if len({tuple(sorted(p[1].items())) for p in parts}) < len(parts):
            return None  # two identical calls in one turn are not a parallel request
        sep = self.separator()
        calls = [{"type": "function", "function": {"name": kit.name, "arguments": p[1]}}
                 for kit, p in zip(called, parts, strict=True)]
        return _record(category, names, offered, self.frame(sep.join(p[0] for p in parts)),
                       {"role": "assistant", "tool_calls": calls},
                       {"template_id": "+".join(p[2] for p in parts), "combo": key,
                        "novel_slots": [s for p in parts for s in p[3]]})

    def _plan(self, category: str) -> tuple[list[ToolKit], list[ToolKit]]:
        rng = self.rng
        if category == "simple":
            kit = rng.choice(self.kits)
            return [kit], [kit]
        if category == "multiple":
            kit = rng.choice(self.kits)
            offered = [kit, *self.others({kit.name}, rng.randint(1, 3))]
            rng.shuffle(offered)
            return [kit], offered
        if category == "parallel":
            kit = rng.choice(self.kits)
            return [kit] * rng.randint(2, 3), [kit]
        if category == "parallel_multiple":
            distinct = rng.sample(self.kits, rng.choice([2, 2, 3]))
            called = distinct + ([rng.choice(distinct)] if len(distinct) == 2
                                 and rng.random() < 0.3 else [])
            rng.shuffle(called)
            offered = distinct + self.others({k.name for k in distinct}, rng.randint(0, 2))
            rng.shuffle(offered)
            return called, offered
        return [], self.others(set(), rng.randint(1, 3))

    def _irrelevance(self, offered: list[ToolKit]) -> dict[str, Any]:
        rng = self.rng
        names = [k.name for k in offered]
        if rng.random() < 0.5:
            # Noisy too: else unknown words would teach "a tool call", never "no tool fits".
            query = self.noise(self.pools.draw_split("irrelevant", self.split, rng))
            template_id = "irrelevant/general"
        else:  # a real request for a tool that is not offered
            blocked = set(names).union(*(g for g in RELATED if g & set(names)))
            kit = self.others(blocked, 1)[0]
            query, _, template_id, _ = self.call(kit)
        query = self.frame(query)
        answer = rng.choice(self.pools.values["refusal"])
        return _record("irrelevance", names, offered, query,
                       {"role": "assistant", "content": answer},
                       {"template_id": template_id, "combo": None, "novel_slots": []})


def noisy_text(text: str, rng: random.Random) -> str:
    """``text`` with one or two invented words put in at word boundaries outside
    ``{slots}``, or (in phrasings with three or more such words) put in place of one.

    Why: a model trained from scratch on a few phrasings per tool keys on every word of
    them, and a phrasing with one word it never read (the held-out split's are full of
    them) throws it off. Words it cannot know, in training, teach it to find the request in
    the words it does know. The invented words come from ``invented_word``, never from the
    held-out split."""
    words = text.split(" ")
    free = [i for i, w in enumerate(words) if "{" not in w and any(c.isalpha() for c in w)]
    if not free:
        return text
    for i in sorted(rng.sample(free, min(len(free), rng.choice([1, 1, 2]))), reverse=True):
        old, new = words[i], invented_word(rng, (1, 3))
        if len(free) >= 3 and rng.random() < 0.5:
            tail = old[len(old.rstrip(".,;:?!")):]  # keep the punctuation
            words[i] = (new.capitalize() if old[0].isupper() else new) + tail
        elif i == 0 and old[0].isupper():
            words[i] = f"{new.capitalize()} {old[0].lower()}{old[1:]}"
        else:
            words[i] = f"{new} {old}"
    return " ".join(words)


def _record(category: str, names: list[str], offered: list[ToolKit], query: str,
            answer: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    return {"id": "", "source": SOURCE,
            "tools": [{"type": "function", "function": kit.spec} for kit in offered],
            "messages": [{"role": "user", "content": query}, answer],
            "meta": {"category": category, **meta}}


def generate(split: Split, n: int, seed: int = 0,
             categories: dict[str, float] | None = None) -> Iterator[dict[str, Any]]:
    """``n`` raw records of ``split`` (unchecked; ``write_quickstart_data`` checks them).

    Training draws categories with ``TRAIN_WEIGHTS``; the held-out split cycles through
    the categories so each gets the same count. Deterministic for (split, n, seed)."""
    rng = random.Random(f"lamstudio-quickstart:{seed}:{split}")
    gen = _Gen(split, rng, load_toolkits(), Pools(load_values()))
    weights = categories or TRAIN_WEIGHTS
    cats, probs = list(weights), list(weights.values())
    made = 0
    while made < n:
        category = (CATEGORIES[made % len(CATEGORIES)] if split == "heldout" and not categories
                    else rng.choices(cats, probs)[0])
        record = gen.sample(category)
        if record is None:
            continue
        record["id"] = f"qs-{split}-{made:06d}"
        record["meta"]["split"] = split
        made += 1
        yield record


@dataclass(frozen=True)
class QuickstartData:
    train: Path
    heldout: Path
    rejects: Path
    tally: Tally


def write_quickstart_data(out_dir: str | Path, n_train: int = 20000, n_heldout: int = 250,
                          seed: int = 0) -> QuickstartData:
    """Generate, check and write ``train.jsonl`` / ``heldout.jsonl`` (+ ``rejects.jsonl``).

    A record failing a check is a generator bug, but it still goes to the rejects file
    with its reason codes rather than vanishing: read = kept + rejected."""
    out = Path(out_dir)
    tally = Tally(stage="synth")
    paths = {s: out / f"{s}.jsonl" for s in ("train", "heldout")}
    with RejectWriter(out / "rejects.jsonl") as rejects:
        for split, n in (("train", n_train), ("heldout", n_heldout)):
            with JsonlWriter(paths[split]) as writer:
                for raw in generate(split, n, seed):
                    issues = record_issues(raw)
                    if issues:
                        first = issues[0]
                        tally.reject(first.code, split)
                        rejects.write(Reject(split, 0, first.code, first.message, first.path,
                                             raw["id"], "synth", raw))
                    else:
                        tally.keep(split)
                        writer.write(raw)
    return QuickstartData(paths["train"], paths["heldout"], out / "rejects.jsonl", tally)
