"""``eval run --concurrency N``: how many episodes of a tau2 or ``env:`` suite play at once.
A local server keeps one cached prompt prefix, so interleaved episodes make it prefill the
whole prompt on every call; ``--concurrency 1`` plays them one after another."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support.scripted_agents import agent_script, user_script
from tests.support.scripted_server import Reply, ScriptedServer
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.envs import ground_truth, load_tasks


class InFlight:
    """Wraps a script; remembers the most requests it was ever answering at once."""

    def __init__(self, script: Any) -> None:
        self.script, self.now, self.most = script, 0, 0
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.1)  # long enough for episodes played at once to overlap here
        with self.lock:
            self.now -= 1
        return self.script(body)


@pytest.mark.parametrize(("extra", "one_at_a_time"), [(["--concurrency", "1"], True),
                                                      ([], False)])
def test_tau2_episodes_play_one_at_a_time_when_asked(tmp_path: Path, extra: list[str],
                                                     one_at_a_time: bool) -> None:
    tasks = {t["id"]: t for t in load_tasks("retail", "test")}
    agent = InFlight(agent_script(ground_truth(tasks["5"]), "done"))
    with ScriptedServer(agent) as a, ScriptedServer(user_script(), model="user-sim") as u:
        res = CliRunner().invoke(app, [
            "eval", "run", "--suite", "tau2:retail:test", "--limit", "3", "--model", a.model,
            "--backend", "openai", "--base-url", a.base_url, "--user-model", u.model,
            "--user-base-url", u.base_url, *extra, "-o", str(tmp_path)],
            env={"OPENAI_API_KEY": "k"})
    assert res.exit_code == 0, res.output
    # The default plays the 3 episodes at once: their first calls overlap (3 unless a loaded
    # machine starts one late), so the first case's 1 is the option at work.
    assert (agent.most == 1) if one_at_a_time else (agent.most > 1)


def test_reflection_trials_play_one_at_a_time_when_asked(tmp_path: Path) -> None:
    agent = InFlight(lambda body: Reply("I cannot help with that."))
    with ScriptedServer(agent) as a:
        res = CliRunner().invoke(app, [
            "eval", "run", "--suite", "env:store", "--model", a.model, "--backend", "openai",
            "--base-url", a.base_url, "--trials", "2", "--reflect", "--concurrency", "1",
            "-o", str(tmp_path)], env={"OPENAI_API_KEY": "k"})
    assert res.exit_code == 0, res.output
    assert agent.most == 1


def test_concurrency_below_one_is_refused() -> None:
    res = CliRunner().invoke(app, ["eval", "run", "--suite", "env:store", "--model", "m",
                                   "--concurrency", "0"])
    assert res.exit_code != 0 and "concurrency" in res.output.lower()


def test_committee_members_and_selector_play_one_at_a_time_when_asked(tmp_path: Path) -> None:
    agent = InFlight(lambda body: Reply("1" if "candidate" in str(body).lower()
                                        else "I cannot help with that."))
    with ScriptedServer(agent) as a:
        (tmp_path / "committee.yaml").write_text(
            "members:\n"
            f"  - {{name: one, model: {a.model}, base_url: '{a.base_url}'}}\n"
            f"  - {{name: two, model: {a.model}, base_url: '{a.base_url}', temperature: 0.7,"
            " seed: 1}\n"
            f"selector: {{model: {a.model}, base_url: '{a.base_url}'}}\n")
        res = CliRunner().invoke(app, [
            "eval", "run", "--suite", "env:store", "--committee", str(tmp_path / "committee.yaml"),
            "--concurrency", "1", "-o", str(tmp_path / "out")], env={"OPENAI_API_KEY": "k"})
    assert res.exit_code == 0, res.output
    assert agent.most == 1


def test_a_concurrency_below_one_is_refused_from_python_too() -> None:
    """0 would make the episodes' semaphore wait for ever."""
    from lamstudio.eval import Tau2Config
    from lamstudio.synth import TrajectoryConfig

    for make in (Tau2Config, TrajectoryConfig):
        with pytest.raises(ValueError, match="concurrency must be at least 1"):
            make(concurrency=0)
