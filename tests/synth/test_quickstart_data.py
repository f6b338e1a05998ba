"""The quickstart generator: valid, deterministic, and a held-out split that is really new."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lamstudio.synth import (
    CATEGORIES,
    combo_split,
    generate,
    load_toolkits,
    load_values,
    record_issues,
    write_quickstart_data,
)

N_TRAIN, N_HELDOUT = 3000, 250


@pytest.fixture(scope="module")
def train() -> list[dict]:
    return list(generate("train", N_TRAIN, seed=0))


@pytest.fixture(scope="module")
def heldout() -> list[dict]:
    return list(generate("heldout", N_HELDOUT, seed=0))


def test_same_seed_same_records_other_seed_other_records() -> None:
    a = list(generate("train", 200, seed=7))
    assert a == list(generate("train", 200, seed=7))
    assert a != list(generate("train", 200, seed=8))


def test_every_record_passes_schema_and_argument_checks(train, heldout) -> None:
    bad = [(r["id"], [str(i) for i in record_issues(r)]) for r in train + heldout
           if record_issues(r)]
    assert bad == []


def test_all_categories_in_both_splits_and_heldout_is_balanced(train, heldout) -> None:
    assert set(Counter(r["meta"]["category"] for r in train)) == set(CATEGORIES)
    counts = Counter(r["meta"]["category"] for r in heldout)
    assert set(counts) == set(CATEGORIES)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_meta_names_category_split_and_template(train, heldout) -> None:
    for split, records in (("train", train), ("heldout", heldout)):
        for r in records:
            assert r["meta"]["split"] == split
            assert r["meta"]["template_id"]
            assert r["meta"]["category"] in CATEGORIES


def test_calls_match_their_category(train) -> None:
    for r in train:
        calls = r["messages"][1].get("tool_calls") or []
        names = {c["function"]["name"] for c in calls}
        offered = {t["function"]["name"] for t in r["tools"]}
        n = {"simple": (1, 1), "multiple": (1, 1), "parallel": (2, 3),
             "parallel_multiple": (2, 3), "irrelevance": (0, 0)}[r["meta"]["category"]]
        assert n[0] <= len(calls) <= n[1], r
        assert names <= offered
        if r["meta"]["category"] == "multiple":
            assert len(offered) >= 2
        if r["meta"]["category"] == "parallel_multiple":
            assert len(names) >= 2


def _templates(records: list[dict]) -> set[str]:
    # "irrelevant/general" names the pool of off-topic questions (checked separately).
    return {t for r in records for t in r["meta"]["template_id"].split("+")} - {
        "irrelevant/general"}


def test_heldout_phrasings_never_appear_in_training(train, heldout) -> None:
    train_t, held_t = _templates(train), _templates(heldout)
    assert not train_t & held_t
    assert all("/h" in t for t in held_t)
    # Every tool has held-out phrasings and they are used.
    assert {t.split("/")[0] for t in held_t} >= {k.name for k in load_toolkits()}
    # The template texts themselves are disjoint too.
    for kit in load_toolkits():
        texts = [t.text for t in kit.templates["train"]]
        assert not set(texts) & {t.text for t in kit.templates["heldout"]}


def test_heldout_irrelevant_questions_are_new(train, heldout) -> None:
    def general(records: list[dict]) -> set[str]:
        return {r["messages"][0]["content"] for r in records
                if r["meta"]["template_id"] == "irrelevant/general"}

    assert general(heldout) and not general(train) & general(heldout)


def test_heldout_tool_combinations_never_appear_in_training(train, heldout) -> None:
    train_c = {r["meta"]["combo"] for r in train if r["meta"]["combo"]}
    held_c = {r["meta"]["combo"] for r in heldout if r["meta"]["combo"]}
    assert held_c and not train_c & held_c
    assert all(combo_split(c) == "heldout" for c in held_c)
    assert all(combo_split(c) == "train" for c in train_c)


def test_novel_slot_values_never_occur_in_training(train, heldout) -> None:
    seen = {json.dumps(v) for r in train for c in r["messages"][1].get("tool_calls") or []
            for v in c["function"]["arguments"].values()}
    novel = 0
    for r in heldout:
        slots = set(r["meta"]["novel_slots"])
        for c in r["messages"][1].get("tool_calls") or []:
            for k, v in c["function"]["arguments"].items():
                if k in slots and k != "to":  # emails: only the first name is held out
                    novel += json.dumps(v) not in seen
    assert novel > 50


def _cities(records: list[dict]) -> set[str]:
    return {c["function"]["arguments"][k] for r in records
            for c in r["messages"][1].get("tool_calls") or []
            for k in ("city", "origin", "destination") if k in c["function"]["arguments"]}


def test_training_invents_names_and_heldout_uses_only_real_ones(train, heldout) -> None:
    real = set(load_values()["city"])
    invented = _cities(train) - real
    assert len(invented) > 100  # copying, not memorising the list, is what pays off
    assert _cities(heldout) <= real


def test_argument_values_are_copied_from_the_query(train) -> None:
    # What makes the task learnable: every argument value is spelled out in the query.
    for r in train:
        query = r["messages"][0]["content"]
        for c in r["messages"][1].get("tool_calls") or []:
            for v in c["function"]["arguments"].values():
                assert str(v) in query, (v, query)


def test_write_quickstart_data_keeps_every_record_and_balances(tmp_path) -> None:
    data = write_quickstart_data(tmp_path, n_train=300, n_heldout=50, seed=1)
    assert data.tally.balanced and data.tally.kept == 350 and data.tally.rejected == 0
    lines = data.train.read_text().splitlines()
    assert len(lines) == 300 and len(data.heldout.read_text().splitlines()) == 50
    assert data.rejects.exists() and data.rejects.read_text() == ""


def _record(args: dict, name: str = "get_weather", category: str = "simple") -> dict:
    kit = next(k for k in load_toolkits() if k.name == "get_weather")
    return {"id": "x", "tools": [{"type": "function", "function": kit.spec}],
            "messages": [{"role": "user", "content": "q"},
                         {"role": "assistant", "tool_calls": [
                             {"type": "function",
                              "function": {"name": name, "arguments": args}}]}],
            "meta": {"category": category}}


@pytest.mark.parametrize(("record", "code"), [
    (_record({"city": "Paris", "unit": "kelvin"}), "invalid_arguments"),
    (_record({"unit": "celsius"}), "invalid_arguments"),
    (_record({"city": 3}), "invalid_arguments"),
    (_record({"city": "Paris"}, name="get_time"), "undefined_tool"),
    (_record({"city": "Paris"}, category="irrelevance"), "category_mismatch"),
])
def test_record_issues_catch_bad_records(record: dict, code: str) -> None:
    assert code in [i.code for i in record_issues(record)]


@pytest.mark.parametrize("text", ["What's the weather like in {city}?", "weather {city}",
                                  "Convert {amount} {from_currency} to {to_currency}.",
                                  "{city} {days}"])
def test_noise_adds_invented_words_and_keeps_every_slot(text: str) -> None:
    import random
    import re

    from lamstudio.synth._quickstart_data import noisy_text

    rng = random.Random(0)
    slots = re.findall(r"\{\w+\}", text)
    words = set(text.split())
    for _ in range(50):
        noisy = noisy_text(text, rng)
        assert re.findall(r"\{\w+\}", noisy) == slots
        if any(c.isalpha() for w in words if "{" not in w for c in w):
            new = set(noisy.split()) - words
            assert new and all("{" not in w for w in new)
        else:
            assert noisy == text  # nothing but slots: nothing to put noise next to


def test_noise_is_in_training_only(monkeypatch: pytest.MonkeyPatch, heldout) -> None:
    """Every training query is noisy at rate 1 (none equals its clean twin); the held-out
    split (made at the default rate by the fixture) is the same at rate 1."""
    import lamstudio.synth._quickstart_data as qd

    def queries(rate: float) -> set[str]:
        monkeypatch.setattr(qd, "NOISE_RATE", rate)
        return {r["messages"][0]["content"] for r in generate("train", 300, seed=0)}

    assert not queries(0.0) & queries(1.0)
    assert list(generate("heldout", N_HELDOUT, seed=0)) == heldout
