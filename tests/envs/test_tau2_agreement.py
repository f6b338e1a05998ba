"""lamstudio's tau2 domains agree with tau2-bench's own environments: replaying every
retail and airline task's ground-truth actions (plus, for some tasks, the same actions
without their last write) gives the same final database, the same failing calls with the
same messages, and the agent sees tau2's own tool schemas.

tau2 runs in ``.venv-tau2`` (built once; its replays are cached there, keyed by the job)."""

from __future__ import annotations

from typing import Any

import pytest

from lamstudio.envs import (
    EnvRunner,
    ground_truth,
    load_tasks,
    make_env,
    run_tau2_reference,
    write_tools,
)
from lamstudio.envs._tau2_data import tool_schemas
from lamstudio.eval import Call

DOMAINS = ("retail", "airline")
PERTURBED = 12  # tasks per domain also replayed without their last write


def _last_write(calls: list[dict[str, Any]], writes: frozenset[str]) -> int | None:
    return max((i for i, a in enumerate(calls) if a["name"] in writes), default=None)


def _jobs() -> dict[str, list[list[dict[str, Any]]]]:
    jobs: dict[str, list[list[dict[str, Any]]]] = {}
    for domain in DOMAINS:
        writes = write_tools(make_env(f"tau2:{domain}"))
        calls = [ground_truth(t) for t in load_tasks(domain)]
        dropped = []
        for c in calls[:PERTURBED]:
            last = _last_write(c, writes)
            if last is not None:
                dropped.append(c[:last] + c[last + 1:])
        jobs[domain] = calls + dropped
    return jobs


def _ours(domain: str, calls: list[dict[str, Any]]) -> tuple[str, list[str | None]]:
    runner = EnvRunner(make_env(f"tau2:{domain}"))
    errors: list[str | None] = []
    for c in calls:
        out = runner.run(Call(c["name"], c["arguments"]))
        errors.append(out.removeprefix("Error during execution: ")
                      if out.startswith("Error during execution: ") else None)
    return runner.state_hash(), errors


@pytest.fixture(scope="module")
def agreement(tau2_reference) -> dict[str, Any]:
    jobs = _jobs()
    ref = run_tau2_reference(tau2_reference, jobs)
    return {"jobs": jobs, "ref": ref.domains}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_replay_ends_in_the_same_database(agreement, domain: str) -> None:
    jobs, ref = agreement["jobs"][domain], agreement["ref"][domain]["results"]
    initial = make_env(f"tau2:{domain}")._state_hash()
    same, changed = 0, 0
    for calls, theirs in zip(jobs, ref, strict=True):
        ours, _ = _ours(domain, calls)
        same += ours == theirs["hash"]
        changed += ours != initial
    assert same == len(jobs), f"{len(jobs) - same} of {len(jobs)} replays disagree"
    # The comparison can fail: most replays change the database, and the replays without
    # their last write end elsewhere than the full ones.
    assert changed > len(jobs) // 2
    writes = write_tools(make_env(f"tau2:{domain}"))
    dropped = iter(ref[len(load_tasks(domain)):])
    for calls, theirs in zip(jobs[:PERTURBED], ref, strict=False):
        last = _last_write(calls, writes)
        if last is not None:
            without = next(dropped)
            assert (without["hash"] == theirs["hash"]) == (theirs["errors"][last] is not None)


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_same_calls_fail_with_the_same_message(agreement, domain: str) -> None:
    jobs, ref = agreement["jobs"][domain], agreement["ref"][domain]["results"]
    failing = 0
    for calls, theirs in zip(jobs, ref, strict=True):
        _, ours = _ours(domain, calls)
        expected = [e.removeprefix("ValueError: ") if e else None for e in theirs["errors"]]
        assert ours == expected, calls
        failing += sum(e is not None for e in ours)
    if domain == "retail":
        # The 23 ground-truth calls that raise in tau2 are the user's wrong details, item
        # ids given as product ids, or a write tau2's own data refuses (FIELD_NOTES).
        full = len(load_tasks(domain))
        assert sum(e is not None for r in ref[:full] for e in r["errors"]) == 23
        assert failing >= 23  # so the message comparison above did compare messages


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_agent_sees_tau2s_own_tool_schemas(agreement, domain: str) -> None:
    assert list(tool_schemas(domain)) == agreement["ref"][domain]["schemas"]
