"""What eval prints can be trusted: a comparison is over the cases both runs ran, and an
overall from a --limit run says it is a subset's."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lamstudio.cli import app


def _results(path: Path, valid: dict[str, bool]) -> Path:
    path.mkdir()
    (path / "results.jsonl").write_text("".join(
        json.dumps({"id": i, "category": "simple_python", "valid": v}) + "\n"
        for i, v in valid.items()))
    return path


def test_compare_is_over_the_shared_cases_and_says_how_many_are_left_out(tmp_path):
    # A ran 120 cases (all wrong but the first 20); B ran the first 40 (all right).
    a = _results(tmp_path / "a", {f"c{i}": i < 20 for i in range(120)})
    b = _results(tmp_path / "b", {f"c{i}": True for i in range(40)})
    res = CliRunner().invoke(app, ["eval", "compare", str(a), str(b)],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "│ all" in line)
    # over the 40 shared cases: A 20/40 = 50%, B 100%: +50.0 pt (not 16.67% vs 100%)
    assert "50.00%" in row and "+50.0 pt" in row, res.output
    assert "over the 40 cases both ran: 80 only in A and 0 only in B are left out" \
        in " ".join(res.output.split())


def test_compare_of_runs_with_no_shared_case_is_an_error(tmp_path):
    a = _results(tmp_path / "a", {"x": True})
    b = _results(tmp_path / "b", {"y": True})
    res = CliRunner().invoke(app, ["eval", "compare", str(a), str(b)])
    assert res.exit_code == 2 and "share no case" in res.output


def test_overall_under_limit_is_called_a_subset_in_terminal_and_html(tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "simple_python_0", "output": "x"}\n')
    for limit, subset in (("2", True), (None, False)):
        out = tmp_path / f"out{limit}"
        args = ["eval", "score", "--suite", "bfcl:simple_python", "--predictions", str(preds),
                "-o", str(out)] + (["--limit", limit] if limit else [])
        res = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
        assert res.exit_code == 0, res.output
        html = (out / "report.html").read_text()
        if subset:
            assert "BFCL v4 overall on a subset (--limit 2" in res.output
            assert "weighted as the leaderboard" not in res.output
            assert "overall on a subset (--limit 2" in html
        else:
            assert "BFCL v4 overall (weighted as the leaderboard)" in res.output
            assert "subset" not in html
