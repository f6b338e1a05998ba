"""The committee file: members and selector from YAML, principles from files, one clear
error (file and field) for anything that cannot be used; and --committee end to end on the
store environment and on a tau2 retail task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.scripted_agents import agent_script, user_script
from tests.support.scripted_server import Reply
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.envs import ground_truth, load_tasks
from lamstudio.optimize import CommitteeError, load_committee, open_suite, run_committee


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "committee.yaml"
    path.write_text(text)
    return path


def test_members_selector_and_principles_files(tmp_path: Path) -> None:
    (tmp_path / "best.json").write_text(json.dumps({"principles": ["Check first."],
                                                    "val_reward": 0.5}))
    (tmp_path / "rules.txt").write_text("# mine\n1. Be brief.\n- Say the total.\n\n")
    path = _write(tmp_path, """
members:
  - {name: a, model: m1, base_url: "http://h/v1", principles: best.json, seed: 3}
  - {model: m2, endpoint: "http://g/v1", principles: rules.txt, temperature: 0.7}
  - {name: c, model: m3, principles: ["Read before writing."], engine: llamacpp}
selector: {model: judge, base_url: "http://j/v1"}
""")
    config = load_committee(path)
    a, b, c = config.members
    assert (a.name, a.principles, a.params()) == ("a", ("Check first.",), {
        "temperature": 0.0, "max_tokens": 512, "seed": 3})
    assert (b.name, b.base_url, b.principles) == ("member-2", "http://g/v1",
                                                  ("Be brief.", "Say the total."))
    assert (c.engine, c.base_url, c.principles) == ("llamacpp", None, ("Read before writing.",))
    assert config.selector is not None and config.selector.model == "judge"


@pytest.mark.parametrize(("text", "says"), [
    ("members: [a: 1", "not valid YAML"),
    ("members: {a: 1}", "members: expected a list"),
    ("members: [{model: m}]", "at least two members"),
    ("members: [{model: m}, {name: x}]", "members[1].model: required"),
    ("members: [{model: m}, {model: n, temperature: hot}]",
     "members[1].temperature: expected int/float, got 'hot'"),
    ("members: [{model: m}, {model: n, seed: true}]", "members[1].seed: expected int"),
    ("members: [{model: m}, {model: n, colour: red}]", "members[1].colour: unknown field"),
    ("members: [{model: m, name: x}, {model: n, name: x}]", "'x' is used twice"),
    ("members: [{model: m}, {model: n, principles: [1]}]", "members[1].principles: expected"),
    ("members: [{model: m}, {model: n, principles: none.json}]", "cannot read"),
    ("members: [{model: m}, {model: n}]\nselectr: {model: j}", "selectr: unknown key"),
    ("members: [{model: m}, {model: n}]\nselector: [j]", "selector: expected a mapping"),
])
def test_a_bad_committee_file_is_one_clear_error(tmp_path: Path, text: str, says: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CommitteeError) as err:
        load_committee(path)
    assert str(err.value).startswith(f"{path}: ") and says in str(err.value)


@pytest.mark.parametrize(("name", "content", "says"), [
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "[too_deep]"),
    ("big.json", b'{"principles": [' + b"9" * 5000 + b"]}", "[number_too_large]"),
    ("nan.json", b'["ok", NaN]', "[non_finite_number]"),
    ("lone.json", b'["\\ud800"]', "[bad_encoding]"),
    ("list.json", b'{"principles": "be nice"}', "must be a list of strings"),
    ("latin1.txt", "caf\u00e9 first".encode("latin-1"), "cannot read"),
])
def test_a_hostile_principles_file_is_a_clear_error(tmp_path: Path, name: str, content: bytes,
                                                     says: str) -> None:
    (tmp_path / name).write_bytes(content)
    path = _write(tmp_path, f"members: [{{model: m}}, {{model: n, principles: {name}}}]")
    with pytest.raises(CommitteeError) as err:
        load_committee(path)
    assert str(err.value).startswith(f"{path}: members[1].principles: ")
    assert says in str(err.value)


def test_a_principles_file_with_a_bom_reads_like_one_without(tmp_path: Path) -> None:
    (tmp_path / "best.json").write_bytes(b"\xef\xbb\xbf" + b'{"principles": ["Check."]}')
    (tmp_path / "rules.txt").write_bytes(b"\xef\xbb\xbf- Be brief.\n")
    path = _write(tmp_path, "members: [{model: m, principles: best.json}, "
                            "{model: n, principles: rules.txt}]")
    a, b = load_committee(path).members
    assert (a.principles, b.principles) == (("Check.",), ("Be brief.",))


def test_the_eval_command_refuses_a_bad_committee_file_cleanly(tmp_path: Path) -> None:
    path = _write(tmp_path, "members: [{model: m}, {model: n, temperature: hot}]")
    res = CliRunner().invoke(app, ["eval", "run", "--suite", "env:store", "--committee",
                                   str(path), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "members[1].temperature" in res.output
    assert "Traceback" not in res.output


def _lamps(body: dict[str, Any]) -> Reply:
    return agent_script([{"name": "place_order", "arguments": {
        "customer": "alice", "product": "lamp", "quantity": 2}}], "Done.")(body)


def test_the_eval_command_runs_a_committee_and_writes_the_dei_table(tmp_path: Path,
                                                                    serve) -> None:
    a, _ = serve(_lamps, "placer")
    b, _ = serve(lambda body: Reply("Done."), "idler")
    sel, _ = serve(lambda body: Reply("Candidate 2"), "judge")
    path = _write(tmp_path, f"""
members:
  - {{name: placer, model: placer, base_url: "{a.base_url}", api_key_env: NONE_SET}}
  - {{name: idler, model: idler, base_url: "{b.base_url}", api_key_env: NONE_SET}}
""")
    res = CliRunner().invoke(app, [
        "eval", "run", "--suite", "env:store", "--limit", "1", "--committee", str(path),
        "--selector-model", "judge", "--selector-base-url", sel.base_url,
        "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "| env:store | selector: agreement |" in res.output
    assert "| env:store | selector: llm | 0.000 |" in res.output  # idler: no order at all
    for name in ("summary.json", "results.jsonl", "trajectories.jsonl", "dei.md", "dei.html"):
        assert (tmp_path / "out" / name).is_file()
    assert len(sel.requests) == 1


def test_a_committee_on_a_tau2_task_compares_database_changes(serve) -> None:
    from lamstudio.optimize import CommitteeConfig, Member

    task = next(t for t in load_tasks("retail") if t["id"] == "40")
    right, _ = serve(agent_script(ground_truth(task), "60 mastercard"), "right")
    idle, _ = serve(lambda body: Reply("Sorry."), "idle")
    _, user = serve(user_script(), "user-sim")
    judge, judge_b = serve(lambda body: Reply('{"candidate": 1}'), "judge")
    config = CommitteeConfig([Member(n, n, base_url=s.base_url, api_key_env=None)
                              for n, s in (("idle", idle), ("right", right))])
    res = run_committee(open_suite("tau2:retail", user=user, task_ids=["40"]), config,
                        selector=judge_b)
    s = res.summary
    assert [m["reward"] for m in s["members"]] == [0.0, 1.0] and s["oracle"] == 1.0
    assert s["selectors"]["llm"]["reward"] == 0.0  # picked the idle candidate
    assert s["selectors"]["agreement"]["reward"] == 0.0  # a tie: the first listed
    prompt = judge.requests[0]["messages"][1]["content"]
    assert "- orders.#W4923227.payment_history:" in prompt and "(no change)" in prompt
    assert "reward" not in prompt.lower() and "Reason for call" not in prompt
