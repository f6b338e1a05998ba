"""``lamstudio eval`` on BFCL against a real OpenAI-compatible server whose replies are
hostile (tests/support/hostile.py): every case is scored, the hostile ones as failures with
their reason, the well-answered ones as correct, and every output file is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import hostile
from tests.support.scripted_server import Raw, Reply, ScriptedServer
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.eval._suite import load_suite

HOSTILE: list[Any] = [Reply(text) for text in hostile.REPLY_TEXTS.values()] + [
    Raw(hostile.completion_body({"role": "assistant", "content": None, "tool_calls": [call]}))
    for call in hostile.BAD_TOOL_CALLS.values()] + [
    Raw(hostile.completion_body({"role": "assistant", "content": content}))
    for content in hostile.BAD_CONTENT.values()]


def test_every_case_is_scored_and_the_good_answers_still_count(tmp_path: Path) -> None:
    n = len(HOSTILE) + 2
    cases = load_suite("bfcl:simple_python", limit=n)
    order = {c.turns[0][-1]["content"]: k for k, c in enumerate(cases)}

    def script(body: dict[str, Any]) -> Any:
        k = order[body["messages"][-1]["content"]]
        if 0 < k <= len(HOSTILE):  # the first and last cases are answered correctly
            return HOSTILE[k - 1]
        (name, params), = cases[k].ground_truth[0].items()
        args = {p: next(v for v in vals if v != "") for p, vals in params.items()
                if any(v != "" for v in vals)}
        return Reply(tool_calls=[{"name": name.replace(".", "_"), "arguments": args}])

    out = tmp_path / "eval"
    with ScriptedServer(script) as srv:
        result = CliRunner().invoke(app, [
            "eval", "run", "--model", srv.model, "--backend", "openai", "--base-url",
            srv.base_url, "--suite", "bfcl:simple_python", "--limit", str(n), "-o", str(out)])
    assert result.exit_code == 0, result.output
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in results] == [c.id for c in cases]
    valid = {r["id"]: r["valid"] for r in results}
    assert valid[cases[0].id] and valid[cases[-1].id]
    assert not any(valid[c.id] for c in cases[1:-1])
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["correct"]) == (n, 2)
    assert (out / "report.html").stat().st_size > 0
    for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line)  # every prediction was written as JSON a reader takes back
