"""The commands: ``optimize rpo`` end to end, and ``--principles`` on ``agent run`` and
``eval`` (tau2) putting what it learned in front of the model; a tau2 domain as RPO's
environment. Every model is a scripted server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rpo_helpers import PRINCIPLE, Reply, ScriptedServer, backend, read_jsonl, servers
from tests.support.scripted_agents import agent_script, user_script
from typer.testing import CliRunner

from lamstudio.agent import principles_block
from lamstudio.envs import ground_truth, load_tasks
from lamstudio.optimize import RPOConfig, run_rpo


def cli(*args: Any, code: int = 0) -> Any:
    from lamstudio.cli import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == code, f"{args}\n{res.output}\n{res.exception!r}"
    return res


def _system(body: dict[str, Any]) -> str:
    first = body["messages"][0]
    return first["content"] if first["role"] == "system" else ""


def test_optimize_rpo_then_agent_run_with_what_it_learned(tmp_path: Path) -> None:
    out = tmp_path / "rpo"
    with servers() as (a, r, o):
        res = cli("optimize", "rpo", "--env", "store", "--train-split", "1:3",
                  "--val-split", "0:1", "--rounds", 1, "--batch", 2, "--schedule", "traj",
                  "--agent-model", a.model, "--agent-base-url", a.base_url,
                  "--reflector-model", r.model, "--reflector-base-url", r.base_url,
                  "--optimizer-model", o.model, "--optimizer-base-url", o.base_url,
                  "-o", out)
        assert "best: round 1, val 1.000 (plain agent 0.000)" in res.output
        assert "reflector" in res.output and "optimizer" in res.output  # the cost table
        assert json.loads((out / "best.json").read_text())["principles"] == [PRINCIPLE]
        a.requests.clear()
        episodes = tmp_path / "episodes.jsonl"
        cli("agent", "run", "--model", a.model, "--base-url", a.base_url, "--env", "store",
            "--limit", 1, "--principles", out / "best.json", "-o", episodes)
    assert _system(a.requests[0]) == principles_block([PRINCIPLE])
    (episode,) = read_jsonl(episodes)
    assert episode["meta"]["agent"]["principles"] == [PRINCIPLE]
    assert episode["meta"]["agent"]["reward"] == 1.0  # store_0, done as the principle says


def test_eval_tau2_with_principles_puts_them_after_the_policy(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(["Authenticate the user before any write."]))
    with ScriptedServer(lambda body: Reply("Sorry, I cannot help."), model="agent") as a, \
            ScriptedServer(user_script(), model="user") as u:
        cli("eval", "run", "--model", a.model, "--backend", "openai", "--base-url", a.base_url,
            "--suite", "tau2:retail", "--limit", 1, "--user-model", u.model,
            "--user-base-url", u.base_url, "--principles", rules, "-o", tmp_path / "eval")
    system = _system(a.requests[0])
    assert "policy" in system.lower()
    assert system.endswith("\n\n" + principles_block(["Authenticate the user before any "
                                                      "write."]))


def test_eval_env_suite_with_reflect_and_principles_puts_both_blocks_in(tmp_path: Path
                                                                         ) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([PRINCIPLE]))
    with ScriptedServer(lambda body: Reply("Done."), model="agent") as a:
        cli("eval", "run", "--model", a.model, "--backend", "openai", "--base-url", a.base_url,
            "--suite", "env:store", "--limit", 1, "--trials", 2, "--reflect",
            "--principles", rules, "-o", tmp_path / "eval")
    agent_calls = [b for b in a.requests if b.get("tools")]  # the reflector gets no tools
    assert all(_system(b).startswith(principles_block([PRINCIPLE])) for b in agent_calls)
    # trial 1 without a reflection, trial 2 (after the reflector's turn) with one
    assert "# Reflections on earlier attempts" not in _system(agent_calls[0])
    assert "# Reflections on earlier attempts" in _system(agent_calls[-1])
    cli("eval", "run", "--suite", "env:store", "--committee", tmp_path / "c.yaml",
        "--principles", rules, "-o", tmp_path / "c", code=2)


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "not JSON"),
    ('{"rules": []}', "no 'principles' field"),
    ('{"principles": "be nice"}', "principles must be a list of strings, got str"),
    ('{"principles": ["ok", 3]}', "principles[1] must be a string, got int"),
    ('["ok", null]', "[1] must be a string, got NoneType"),
])
def test_a_bad_principles_file_is_one_line_with_its_path_and_field(
        tmp_path: Path, content: str, says: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    res = cli("agent", "run", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
              "--env", "store", "--principles", bad, "-o", tmp_path / "e.jsonl", code=2)
    text = " ".join(res.output.split())
    assert str(bad) in text and says in text
    missing = cli("eval", "run", "--model", "m", "--backend", "openai", "--base-url",
                  "http://127.0.0.1:9/v1", "--suite", "tau2:retail", "--user-model", "u",
                  "--principles", tmp_path / "nope.json", code=2)
    assert "nope.json" in missing.output and "cannot read it" in missing.output


def test_principles_on_a_single_turn_suite_are_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text('["x"]')
    res = cli("eval", "run", "--model", "m", "--backend", "openai", "--base-url",
              "http://127.0.0.1:9/v1", "--suite", "bfcl:simple_python", "--principles",
              rules, code=2)
    assert "tau2 suites" in res.output


def test_optimize_rpo_refuses_bad_settings_in_one_line(tmp_path: Path) -> None:
    common = ["optimize", "rpo", "--agent-model", "m", "--base-url", "http://127.0.0.1:9/v1",
              "-o", tmp_path / "o"]
    res = cli(*common, "--env", "store", "--train-split", "0:2", "--val-split", "2:3",
              "--mode", "oracle", code=2)
    assert "mode 'oracle'" in res.output
    res = cli(*common, "--env", "tau2:retail", "--train-split", "train",
              "--val-split", "test", code=2)
    assert "--user-model" in res.output
    res = cli(*common, "--env", "store", "--train-split", "9:12", "--val-split", "0:1",
              code=2)
    assert "selects no task" in res.output


def transcript_user(body: dict[str, Any]) -> Reply:
    """A customer that reads the conversation only as a transcript (``--user-style
    transcript``): asks once, then stops."""
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    said = "Customer:" in body["messages"][1]["content"]
    return Reply("###STOP###" if said else "Hi, I want to change the payment of my order.")


@pytest.mark.parametrize(("style", "user"), [("roles", user_script()),
                                             ("transcript", transcript_user)])
def test_rpo_on_a_tau2_domain_with_a_simulated_user(tmp_path: Path, style: str,
                                                    user: Any) -> None:
    calls = ground_truth(next(t for t in load_tasks("retail") if t["id"] == "40"))
    acts = agent_script(calls, "Done: 60 dollars refunded, paid with Mastercard.")

    def agent(body: dict[str, Any]) -> Reply:
        return acts(body) if PRINCIPLE in _system(body) else Reply("Anything else?")

    ids = tmp_path / "ids.txt"
    ids.write_text("40\n")
    cfg = RPOConfig(env="tau2:retail", train_split=str(ids), val_split=str(ids), rounds=1,
                    batch=1, user_style=style)
    with servers(agent=agent) as (a, r, o), ScriptedServer(user, model="u") as u:
        res = run_rpo(cfg, tmp_path / "rpo", agent=backend(a), reflector=backend(r),
                      optimizer=backend(o), user=backend(u))
    assert [x["val_reward"] for x in res.history] == [0.0, 1.0]
    assert res.best["principles"] == [PRINCIPLE] and res.costs["user"]["calls"] >= 4
    (val,) = read_jsonl(tmp_path / "rpo" / "rounds" / "001" / "val.jsonl")
    assert val["meta"]["tau2"]["reward"] == 1.0 and "policy" in val["system"].lower()


def test_readme_commands_against_a_server_that_answers_everything_alike(tmp_path: Path) -> None:
    """README's block, as tests/test_readme.py serves it: one server for every role that
    always answers a judge's JSON object. The optimizer's replies are unusable (counted),
    the run still finishes and its best.json applies."""
    out = tmp_path / "rpo"
    with ScriptedServer(lambda body: Reply('{"pass": true, "reason": "fine"}')) as srv:
        res = cli("optimize", "rpo", "--env", "store", "--train-split", "1:3",
                  "--val-split", "0:1", "--rounds", 1, "--batch", 2, "--agent-model",
                  "my-model", "--base-url", srv.base_url, "-o", out)
        assert "optimizer_not_a_list" in res.output
        cli("agent", "run", "--model", "my-model", "--base-url", srv.base_url, "--env",
            "store", "--principles", out / "best.json", "-o", tmp_path / "episodes.jsonl")
    report = json.loads((out / "rounds" / "001" / "report.json").read_text())
    assert report["unusable"] == {"optimizer_not_a_list": 1} and report["principles"] == []
    assert json.loads((out / "best.json").read_text())["principles"] == []
