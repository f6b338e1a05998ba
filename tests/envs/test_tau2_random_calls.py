"""lamstudio's tau2 domains agree with tau2-bench's own environments on the calls a small
model gets wrong, not only on the tasks' ground truth: seeded random sequences (each a
task's calls with arguments of the wrong type, None, numbers as strings, strings as
numbers, fractional counts, missing or extra fields, unknown ids; ``tau2_calls.py``) are
replayed in both, and every call must succeed or fail alike and every replay must end in
the same database.

tau2 checks arguments only where a tool builds one of its pydantic models from them (and
converts them there: ``"100"`` -> 100); a difference makes a model's score differ from
tau2's. tau2 runs in ``.venv-tau2``; its replays are cached there, keyed by the job."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from tests.envs.tau2_calls import random_sequences, replay_ours

from lamstudio.envs import make_env, run_tau2_reference, write_tools

DOMAINS = ("retail", "airline")
SEQUENCES, SEED = 100, 0
# Where tau2 builds a model from arguments: each must refuse some of the random calls.
VALIDATING_MODELS = {"retail": ("UserAddress",),
                     "airline": ("Passenger", "Payment", "Reservation", "Certificate")}


@pytest.fixture(scope="module")
def random_agreement(tau2_reference) -> dict[str, Any]:
    jobs = {d: random_sequences(d, SEQUENCES, SEED) for d in DOMAINS}
    ref = run_tau2_reference(tau2_reference, jobs, quick=True)
    return {"jobs": jobs, "ref": ref.domains, "venv": tau2_reference}


def _first_parting(venv: Any, domain: str, calls: list[dict[str, Any]]) -> str:
    """Where two replays that end apart first part: tau2 replays them again, hashing its
    database after every call."""
    theirs = run_tau2_reference(venv, {domain: [calls]}, trace=True, quick=True)
    theirs_hashes = theirs.domains[domain]["results"][0]["hashes"]
    _, _, ours = replay_ours(domain, calls, trace=True)
    at = next(i for i, (a, b) in enumerate(zip(ours, theirs_hashes, strict=True)) if a != b)
    return f"the databases part at call {at}: {calls[at]}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_random_calls_with_wrong_types_end_as_in_tau2(random_agreement, domain: str) -> None:
    jobs, ref = random_agreement["jobs"][domain], random_agreement["ref"][domain]["results"]
    outcome: Counter[str] = Counter()
    parted: list[list[dict[str, Any]]] = []
    examples: list[str] = []
    for calls, theirs in zip(jobs, ref, strict=True):
        ours_hash, ours_errors, _ = replay_ours(domain, calls)
        for call, a, b in zip(calls, ours_errors, theirs["errors"], strict=True):
            if (a is None) != (b is None):
                outcome[call["name"]] += 1
                examples.append(f"{call}: lamstudio {a or 'ok'} / tau2 {b or 'ok'}")
        if ours_hash != theirs["hash"]:
            parted.append(calls)
    if parted:
        examples.append(_first_parting(random_agreement["venv"], domain, parted[0]))
    assert not outcome and not parted, (
        f"calls that succeed in one and fail in the other, per tool: {dict(outcome)}; "
        f"{len(parted)} of {len(jobs)} replays end in another database; first: "
        + "\n".join(examples[:3] + examples[-1:]))


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_random_calls_reach_every_check_tau2_makes(random_agreement, domain: str) -> None:
    """The comparison above can fail: the sequences reach each model tau2 validates
    arguments with, and many write calls fail in tau2 while many succeed."""
    jobs, ref = random_agreement["jobs"][domain], random_agreement["ref"][domain]["results"]
    errors = [e for r in ref for e in r["errors"] if e]
    for model in VALIDATING_MODELS[domain]:
        assert any(f"validation error for {model}\n" in e for e in errors), model
    writes = write_tools(make_env(f"tau2:{domain}"))
    outcomes = [e is None for calls, r in zip(jobs, ref, strict=True)
                for c, e in zip(calls, r["errors"], strict=True) if c["name"] in writes]
    assert 0.2 < sum(outcomes) / len(outcomes) < 0.8
