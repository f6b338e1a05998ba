"""``lamstudio synth apigen-mt blueprints`` then ``trajectories``, end to end against
scripted OpenAI-compatible servers (generator + committee, agent + user simulator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.scripted_agents import GOOD_BLUEPRINT, agent_script, user_script
from tests.support.scripted_server import Reply, ScriptedServer
from typer.testing import CliRunner

from lamstudio.cli import app


def _llm(body: dict[str, Any]) -> Reply:
    """Generator and reviewers on one endpoint: a review prompt gets a pass."""
    prompt = body["messages"][0]["content"]
    if prompt.startswith("You review"):
        return Reply('{"pass": true, "feedback": ""}')
    return Reply(json.dumps(GOOD_BLUEPRINT))


def test_blueprints_then_trajectories(tmp_path: Path) -> None:
    runner = CliRunner()
    with ScriptedServer(_llm) as s:
        res = runner.invoke(app, ["synth", "apigen-mt", "blueprints", "-o", str(tmp_path / "bp"),
                                  "-n", "2", "--generator-base-url", s.base_url,
                                  "--api-key-env", "NO_SUCH_KEY_VAR"])
    assert res.exit_code == 0, res.output
    assert "2/2 accepted" in res.output and "review 2/2" in res.output
    bp_file = tmp_path / "bp" / "blueprints.jsonl"
    assert len(bp_file.read_text().splitlines()) == 2
    with ScriptedServer(agent_script(GOOD_BLUEPRINT["actions"], "mastercard")) as a, \
            ScriptedServer(user_script()) as u:
        res = runner.invoke(app, ["synth", "apigen-mt", "trajectories", "--blueprints",
                                  str(bp_file), "-o", str(tmp_path / "tr"),
                                  "--agent-base-url", a.base_url, "--user-base-url",
                                  u.base_url, "--api-key-env", "NO_SUCH_KEY_VAR"])
    assert res.exit_code == 0, res.output
    assert "2/2 plays kept" in res.output
    rec = json.loads((tmp_path / "tr" / "trajectories.jsonl").read_text().splitlines()[0])
    assert rec["meta"]["apigen_mt"]["blueprint_id"].startswith("bp-retail-0-")


def test_blueprints_says_what_is_wrong_with_the_model(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["synth", "apigen-mt", "blueprints", "-o", str(tmp_path),
                                   "--generator-model", str(tmp_path / "no-such-model")])
    assert res.exit_code != 0 and "--generator-base-url" in res.output
