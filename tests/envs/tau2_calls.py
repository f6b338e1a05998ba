"""Random tau2 call sequences with the mistakes a small model makes, for the agreement test.

A sequence starts from one task's ground truth (valid calls, in an order that makes sense),
plus a few calls of tools no ground truth uses, then mutates arguments: a wrong type, None,
a number as a string or a string as a number, a fractional count, a whole float, a missing
or extra field, an unknown id, a string where an object or a list belongs, one level down
too (a passenger's ``dob``, a payment's ``amount``). After a mutated call the valid one
follows half the time, as a model retries after an error. Seeded: the same seed gives the
same sequences, so tau2's replay of them is cached.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from lamstudio.envs import ground_truth, load_db, load_tasks, make_env, write_tools

Call = dict[str, Any]


def _number_text(value: str) -> int | float | None:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return None


def _wrong_str(value: str, rng: random.Random) -> Any:
    digits = "".join(c for c in value if c.isdigit())
    options: list[Any] = [None, "", value + "X", [value], 7, True]
    if digits:  # a zip, a date of birth, an id's number: written as a number
        options += [int(digits), int(digits), float(int(digits))]
    number = _number_text(value)
    if number is not None:
        options.append(number)
    return rng.choice(options)


def _wrong_number(value: int | float, rng: random.Random) -> Any:
    # + 0.5 and + 0.3: a fraction that a price of 50 per bag makes whole, and one it does not
    options: list[Any] = [str(value), str(value), None, True, value + 0.5, value + 0.3,
                          float(value), [value]]
    if isinstance(value, float):
        options += [int(value), f"{value:.2f}"]
    return rng.choice(options)


def _wrong_list(value: list[Any], rng: random.Random) -> Any:
    options: list[Any] = [None, "", [], {}]
    if value:
        first = value[0]
        text = " ".join(str(v) for v in first.values()) if isinstance(first, dict) else str(first)
        options += [first, text, [text], [*value, first], value[:-1] or [text],
                    [text if i == 0 else v for i, v in enumerate(value)]]
    return rng.choice(options)


def _wrong_dict(value: dict[str, Any], rng: random.Random) -> Any:
    options: list[Any] = [None, " ".join(str(v) for v in value.values()), [value],
                          {**value, "note": "extra"}]
    if value:
        drop = rng.choice(list(value))
        options.append({k: v for k, v in value.items() if k != drop})
    return rng.choice(options)


def wrong_value(value: Any, rng: random.Random) -> Any:
    """A value of the wrong type or shape, as a small model writes it."""
    if isinstance(value, bool) or value is None:
        return rng.choice(["yes", 1, None, "true"])
    if isinstance(value, str):
        return _wrong_str(value, rng)
    if isinstance(value, int | float):
        return _wrong_number(value, rng)
    if isinstance(value, list):
        return _wrong_list(value, rng)
    if isinstance(value, dict):
        return _wrong_dict(value, rng)
    return None


def _replace_somewhere(value: Any, rng: random.Random) -> Any:
    """``value`` with itself or, half the time, something inside it made wrong."""
    inside: list[Any] = list(value) if isinstance(value, dict) else \
        list(range(len(value))) if isinstance(value, list) else []
    if inside and rng.random() < 0.5:
        key = rng.choice(inside)
        value[key] = _replace_somewhere(value[key], rng)
        return value
    return wrong_value(value, rng)


def mutate(call: Call, rng: random.Random) -> Call:
    """The call with one argument wrong (at the top or inside a list or an object), or one
    argument dropped, or an extra one added."""
    args = copy.deepcopy(call["arguments"])
    roll = rng.random()
    if not args or roll < 0.06:
        args[rng.choice(["note", "user_id", "amount", "reason"])] = "extra"
    elif roll < 0.14:
        del args[rng.choice(list(args))]
    else:
        key = rng.choice(list(args))
        args[key] = _replace_somewhere(args[key], rng)
    return {"name": call["name"], "arguments": args}


def _extra_calls(domain: str, rng: random.Random, count: int) -> list[Call]:
    """Valid calls of the tools no ground truth uses, built from the database."""
    db = load_db(domain)
    if domain == "retail":
        return [{"name": "list_all_product_types", "arguments": {}}] * count
    calls: list[Call] = [{"name": "list_all_airports", "arguments": {}}]
    flights = sorted(db["flights"])
    while len(calls) < count:
        flight = db["flights"][rng.choice(flights)]
        date = rng.choice(sorted(flight["dates"]))
        calls.append(rng.choice([
            {"name": "get_flight_status",
             "arguments": {"flight_number": flight["flight_number"], "date": date}},
            {"name": "search_onestop_flight",
             "arguments": {"origin": flight["origin"],
                           "destination": rng.choice(["JFK", "SFO", "ORD", "LAX", "SEA"]),
                           "date": date}}]))
    return calls


def _sites(domain: str, rng: random.Random) -> dict[str, list[tuple[list[Call], int]]]:
    """Per tool, the places it is called: (a task's calls, the call's index)."""
    sites: dict[str, list[tuple[list[Call], int]]] = {}
    tasks = [c for c in (ground_truth(t) for t in load_tasks(domain)) if c]
    for calls in tasks:
        for i, call in enumerate(calls):
            sites.setdefault(call["name"], []).append((calls, i))
    for call in _extra_calls(domain, rng, 12):  # tools no ground truth uses, alone
        sites.setdefault(call["name"], []).append(([call], 0))
    return sites


def _segment(calls: list[Call], at: int, writes: frozenset[str],
             rng: random.Random) -> list[Call]:
    """A task's calls aimed at call ``at``: the calls before it, valid; 2-4 mutated
    versions of it; the valid call half the time; the rest, some of it mutated too."""
    out = copy.deepcopy(calls[:at])
    out += [mutate(calls[at], rng) for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.5:
        out.append(copy.deepcopy(calls[at]))
    for call in calls[at + 1:]:
        wrong = rng.random() < (0.3 if call["name"] in writes else 0.15)
        out.append(mutate(call, rng) if wrong else copy.deepcopy(call))
    return out


def random_sequences(domain: str, count: int, seed: int,
                     segments: int = 3) -> list[list[Call]]:
    """``count`` call sequences for ``tau2:<domain>``, each of ``segments`` task segments
    (one fresh environment serves several, as a replay's cost is mostly the environment).
    A segment aims at one tool, a write tool three times in four, every tool alike however
    rarely the tasks call it."""
    rng = random.Random(f"{domain}:{seed}")
    writes = write_tools(make_env(f"tau2:{domain}"))
    sites = _sites(domain, rng)
    write_names = sorted(n for n in sites if n in writes)
    read_names = sorted(n for n in sites if n not in writes)
    out = []
    for _ in range(count):
        sequence: list[Call] = []
        for _ in range(segments):
            name = rng.choice(write_names if rng.random() < 0.75 else read_names)
            calls, at = rng.choice(sites[name])
            sequence += _segment(calls, at, writes, rng)
        out.append(sequence)
    return out


def replay_ours(domain: str, calls: list[Call], trace: bool = False
                ) -> tuple[str, list[str | None], list[str]]:
    """lamstudio's replay: the final state hash, each call's error (None when it worked),
    and with ``trace`` the state hash after every call."""
    from lamstudio.envs import EnvRunner
    from lamstudio.eval import Call as EvalCall

    runner = EnvRunner(make_env(f"tau2:{domain}"))
    errors: list[str | None] = []
    hashes: list[str] = []
    prefix = "Error during execution: "
    for c in calls:
        out = runner.run(EvalCall(c["name"], c["arguments"]))
        errors.append(out.removeprefix(prefix) if out.startswith(prefix) else None)
        if trace:
            hashes.append(runner.state_hash())
    return runner.state_hash(), errors, hashes
