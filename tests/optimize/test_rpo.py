"""RPO learns action principles: scripted agent, reflector and optimizer behind real HTTP
servers on 127.0.0.1 (``rpo_helpers``). The agent only acts when its system prompt holds
the principle, so the validation reward rises exactly when RPO has found it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rpo_helpers import (
    PRINCIPLE,
    Fail,
    Reply,
    backend,
    optimizer,
    read_jsonl,
    servers,
    texts,
)

from lamstudio.agent import principles_block
from lamstudio.optimize import (
    ResumeError,
    RPOConfig,
    RPOConfigError,
    SplitError,
    read_principles,
    run_rpo,
)

# store_1 needs writes, store_2 only a read (the plain agent passes it); validation on
# store_0, which needs writes: the plain agent's validation reward is 0.
BASE = {"env": "store", "train_split": "1:3", "val_split": "0:1", "batch": 2}


def _rpo(out: Path, a, r, o, **cfg: Any):
    return run_rpo(RPOConfig(**{**BASE, **cfg}), out, agent=backend(a), reflector=backend(r),
                   optimizer=backend(o))


def test_rpo_finds_the_principle_and_raises_the_validation_reward(tmp_path: Path) -> None:
    with servers() as (a, r, o):
        res = _rpo(tmp_path, a, r, o, rounds=2)
    h = res.history
    assert [x["round"] for x in h] == [0, 1, 2]
    assert h[0]["principles"] == [] and h[0]["val_reward"] == 0.0  # the plain agent
    assert h[1]["train_reward"] == 0.5 and h[1]["principles"] == [PRINCIPLE]
    assert h[1]["val_reward"] == 1.0 and h[2]["train_reward"] == 1.0
    assert res.best["principles"] == [PRINCIPLE] and res.best["round"] == 1
    assert res.best["baseline_val_reward"] == 0.0
    best = json.loads((tmp_path / "best.json").read_text())
    assert best == res.best and read_principles(tmp_path / "best.json") == (PRINCIPLE,)
    # The agent saw the block; the records say what it saw.
    val = read_jsonl(tmp_path / "rounds" / "001" / "val.jsonl")
    assert principles_block([PRINCIPLE]) in val[0]["system"]
    assert val[0]["meta"]["agent"]["principles"] == [PRINCIPLE]


def test_every_round_is_written_and_costs_are_counted_per_role(tmp_path: Path) -> None:
    with servers() as (a, r, o):
        res = _rpo(tmp_path, a, r, o, rounds=2)
        agent_calls = len(a.requests)
    d = tmp_path / "rounds"
    assert sorted(p.name for p in (d / "000").iterdir()) == \
        ["principles.json", "report.json", "val.jsonl"]
    for n in ("001", "002"):
        names = {p.name for p in (d / n).iterdir()}
        assert {"train.jsonl", "reflections.jsonl", "principles.json", "report.json"} <= names
    assert len(read_jsonl(d / "001" / "train.jsonl")) == 2
    assert [x["round"] for x in read_jsonl(tmp_path / "history.jsonl")] == [0, 1, 2]
    refl = read_jsonl(d / "001" / "reflections.jsonl")
    assert [x["task_id"] for x in refl] == ["store_1", "store_2"]
    assert PRINCIPLE in refl[0]["reflection"]
    # Round 2 keeps the principles of round 1: validated once, reused.
    assert res.history[2]["val_from_round"] == 1 and not (d / "002" / "val.jsonl").exists()
    costs = res.costs
    assert costs["reflector"]["calls"] == 4 and costs["optimizer"]["calls"] == 2
    assert costs["agent"]["calls"] == agent_calls and costs["user"]["calls"] == 0
    assert all(x["llm"]["reflector"]["seconds"] >= 0 for x in res.history)


def test_a_useless_principle_leaves_the_plain_agent_best(tmp_path: Path) -> None:
    with servers(opt=optimizer(["Be polite."])) as (a, r, o):
        res = _rpo(tmp_path, a, r, o, rounds=1)
    assert res.history[1]["principles"] == ["Be polite."]
    assert res.history[1]["val_reward"] == 0.0
    assert res.best["principles"] == [] and res.best["round"] == 0


def test_reward_rpo_shows_the_reward_self_rpo_never_does(tmp_path: Path) -> None:
    with servers() as (a, r, o):
        _rpo(tmp_path / "reward", a, r, o, rounds=1, mode="reward")
        by_task = {t.split("Trajectory of task ")[1].split(":")[0]: t for t in texts(r)}
        (update,) = texts(o)
    assert "reward 0" in by_task["store_1"] and "reward 1" in by_task["store_2"]
    assert "### Task store_1 (reward 0)" in update
    with servers() as (a, r, o):
        res = _rpo(tmp_path / "self", a, r, o, rounds=2, mode="self", schedule="traj")
        seen = texts(r) + texts(o)
    assert len(seen) == 8  # 4 reflections, 4 updates
    for text in seen:
        assert "reward" not in text.lower() and "score" not in text.lower()
    assert res.best["principles"] == [PRINCIPLE]  # it still learns, from reflection alone


def test_traj_updates_after_each_trajectory_batch_once_per_batch(tmp_path: Path) -> None:
    with servers() as (a, r, o):
        res = _rpo(tmp_path / "traj", a, r, o, rounds=1, schedule="traj")
        assert len(o.requests) == 2
    train = read_jsonl(tmp_path / "traj" / "rounds" / "001" / "train.jsonl")
    # The second task is played with what the first one's update learned.
    assert "principles" not in train[0]["meta"]["agent"]
    assert train[1]["meta"]["agent"]["principles"] == [PRINCIPLE]
    assert [u["after"] for u in res.history[1]["updates"]] == [["store_1"], ["store_2"]]
    with servers() as (a, r, o):
        res = _rpo(tmp_path / "batch", a, r, o, rounds=1, schedule="batch")
        (prompt,) = texts(o)  # one update, from both reflections
    assert "### Task store_1" in prompt and "### Task store_2" in prompt
    assert res.history[1]["updates"][0]["after"] == ["store_1", "store_2"]


def test_unusable_replies_are_counted_and_the_principles_kept(tmp_path: Path) -> None:
    good = "The agent should act before answering."
    refl = ["", Fail(500)] + [good] * 8
    opt = ["no JSON here", '["ok", 3]', json.dumps([f"p{i}" for i in range(9)]), "[]",
           '["a", 1e999]', '{"x": 1}', json.dumps(["x" * 400]), Fail(500)]
    with servers(refl=refl, opt=opt) as (a, r, o):
        res = _rpo(tmp_path, a, r, o, rounds=1, schedule="traj", batch=10, train_split="0:3")
    report = res.history[1]
    assert report["unusable"] == {
        "reflector_empty": 1, "reflector_error": 1, "optimizer_no_json": 1,
        "optimizer_not_strings": 1, "optimizer_too_many": 1, "optimizer_empty_list": 1,
        "optimizer_bad_json": 1, "optimizer_not_a_list": 1, "optimizer_too_long": 1,
        "optimizer_error": 1}
    assert report["principles"] == [] and report["llm"]["optimizer"]["failed"] == 1
    reasons = [u["reason"] for u in report["updates"]]
    assert reasons[:3] == ["no_usable_reflection", "no_usable_reflection",
                           "optimizer_no_json"]
    refl_rows = read_jsonl(tmp_path / "rounds" / "001" / "reflections.jsonl")
    assert refl_rows[0]["problem"] == "reflector_empty"


def test_a_rerun_continues_after_the_last_finished_round(tmp_path: Path) -> None:
    state = {"broken": True}

    def flaky_optimizer(body: dict[str, Any]) -> Reply | Fail:
        if state["broken"] and "Be brief." in texts_of(body):
            return Fail(401, "key refused")  # a fault of the whole run, in round 2
        return Reply(json.dumps(["Be brief."]))

    with servers(opt=flaky_optimizer) as (a, r, o):
        with pytest.raises(Exception, match="401"):
            _rpo(tmp_path, a, r, o, rounds=3)
        assert (tmp_path / "rounds" / "001" / "report.json").exists()
        assert not (tmp_path / "rounds" / "002" / "report.json").exists()
        state["broken"] = False
        before = episodes(a)
        res = _rpo(tmp_path, a, r, o, rounds=3)
        # Round 0's and round 1's episodes are not played again: rounds 2 and 3 only
        # (2 train episodes each; their principles were validated in round 1).
        assert episodes(a) - before == 4
    assert [x["round"] for x in res.history] == [0, 1, 2, 3]
    assert [x["round"] for x in read_jsonl(tmp_path / "history.jsonl")] == [0, 1, 2, 3]
    with servers() as (a, r, o):  # nothing left to do: nothing is played
        _rpo(tmp_path, a, r, o, rounds=3)
        assert a.requests == []


def episodes(srv) -> int:
    """Episodes the agent server saw begin (a request with no assistant turn yet)."""
    return sum(all(m["role"] != "assistant" for m in b["messages"]) for b in srv.requests)


def texts_of(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body["messages"])


def test_a_rerun_with_other_settings_is_refused(tmp_path: Path) -> None:
    with servers() as (a, r, o):
        _rpo(tmp_path, a, r, o, rounds=0)
        with pytest.raises(ResumeError, match="mode was 'reward', now 'self'"):
            _rpo(tmp_path, a, r, o, rounds=1, mode="self")


@pytest.mark.parametrize(("cfg", "error"), [
    ({"mode": "both"}, RPOConfigError), ({"schedule": "epoch"}, RPOConfigError),
    ({"batch": 0}, RPOConfigError), ({"train_split": "5:9"}, SplitError),
    ({"val_split": "test"}, SplitError), ({"env": "nowhere"}, SplitError),
    ({"train_split": "a:b"}, SplitError)])
def test_bad_settings_fail_before_anything_runs(tmp_path: Path, cfg, error) -> None:
    with servers() as (a, r, o):
        with pytest.raises(error):
            _rpo(tmp_path, a, r, o, **cfg)
        assert a.requests == [] and not (tmp_path / "config.json").exists()


def test_tasks_from_a_file_and_splits_by_task_ids(tmp_path: Path) -> None:
    from lamstudio.envs import TASKS

    rows = [{**t, "id": f"mine-{t['id']}"} for t in TASKS if t["env"] == "store"]
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ids = tmp_path / "val.json"
    ids.write_text('["mine-store_0"]')
    with servers() as (a, r, o):
        res = _rpo(tmp_path / "out", a, r, o, rounds=1, tasks_file=str(tasks),
                   val_split=str(ids))
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["train_tasks"] == ["mine-store_1", "mine-store_2"]
    assert config["val_tasks"] == ["mine-store_0"] and res.best["val_reward"] == 1.0
    no_truth = tmp_path / "no_truth.jsonl"
    no_truth.write_text(json.dumps({"id": "x", "env": "store", "turns": ["hi"]}) + "\n")
    with servers() as (a, r, o), pytest.raises(SplitError, match="no ground_truth"):
        _rpo(tmp_path / "o2", a, r, o, tasks_file=str(no_truth))
    ids.write_text('["mine-store_9"]')
    with servers() as (a, r, o), pytest.raises(SplitError, match="no such task id"):
        _rpo(tmp_path / "o3", a, r, o, tasks_file=str(tasks), val_split=str(ids))


def test_tau2_splits_are_tau2s_own_or_ranges_of_the_domain() -> None:
    from lamstudio.envs import load_tasks
    from lamstudio.optimize._rpo_tasks import ArenaSettings, Tau2Arena, pick

    arena = Tau2Arena("tau2:retail", object(), object(), ArenaSettings(max_steps=1))
    train = [t["id"] for t in load_tasks("retail", "train")]
    assert [t.id for t in pick(arena.tasks, "train:0:3", arena.named)] == train[:3]
    assert len(pick(arena.tasks, "test", arena.named)) == len(load_tasks("retail", "test"))
    assert [t.id for t in pick(arena.tasks, "0:2", arena.named)] == \
        [t["id"] for t in load_tasks("retail")[:2]]
    with pytest.raises(SplitError, match="its splits: train, test, base"):
        pick(arena.tasks, "dev", arena.named)
