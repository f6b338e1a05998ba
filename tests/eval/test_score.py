"""Scoring predictions: every case gets a verdict with a reason; bad input never crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.eval._overall import bfcl_overall
from lamstudio.eval._report import html_report
from lamstudio.eval._score import score_case, summarize
from lamstudio.eval._suite import load_suite

CASE = load_suite("bfcl:simple_python", limit=1)[0]  # calculate_triangle_area(base, height)
GOOD = {"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}


def _score(pred):
    return score_case(CASE, pred)


def test_right_call_in_each_accepted_shape_passes() -> None:
    assert _score({"id": CASE.id, "calls": [GOOD]})["valid"]
    assert _score({"id": CASE.id, "output": "[calculate_triangle_area(base=10, height=5)]"})[
        "valid"]
    assert _score({"id": CASE.id, "output": "[TOOL_CALLS]" + json.dumps([GOOD])})["valid"]
    assert _score({"id": CASE.id, "calls": [{"function": {
        "name": GOOD["name"], "arguments": json.dumps(GOOD["arguments"])}}]})["valid"]


def test_bad_inputs_are_failures_with_reasons() -> None:
    cases = {
        "unparseable": {"output": "[TOOL_CALLS][{\"name\": \"calculate_triangle_area\", "},
        "empty": {"output": ""},
        "broken_json_arguments": {"calls": [{"name": GOOD["name"],
                                             "arguments": "{\"base\": 10,"}]},
        "tool_not_offered": {"calls": [{"name": "rm_rf", "arguments": {}}]},
        "one_megabyte": {"output": "x" * 1_000_000},
        "non_utf8": {"output": b"\xff\xfe[calculate_triangle_area(\x80)]".decode(
            "utf-8", errors="surrogateescape")},
        "missing": None,
    }
    expected = {"unparseable": ("unparseable", "IFE"), "empty": ("wrong_count", "IAC"),
                "broken_json_arguments": ("bad_format", "IFE"),
                "tool_not_offered": ("wrong_func_name", "IFN"),
                "one_megabyte": ("wrong_count", "IAC"), "non_utf8": (None, None),
                "missing": ("missing_prediction", "IAC")}
    for label, pred in cases.items():
        r = _score(None if pred is None else {"id": CASE.id, **pred})
        assert r["valid"] is False, label
        assert r["detail"], label
        code, pattern = expected[label]
        if code:
            assert (r["code"], r["pattern"]) == (code, pattern), (label, r)
        json.dumps(r).encode("utf-8")  # writable as UTF-8 JSON
        assert len(r.get("output", "")) < 5000  # a 1 MB output is cut in the result


def test_irrelevance_counts_text_and_unreadable_output_as_no_call() -> None:
    case = load_suite("bfcl:irrelevance", limit=1)[0]
    assert score_case(case, {"id": case.id, "output": "I can't help with that."})["valid"]
    assert score_case(case, {"id": case.id, "output": "[TOOL_CALLS][{"})["valid"]
    name = case.functions[0]["name"]
    r = score_case(case, {"id": case.id, "calls": [{"name": name, "arguments": {}}]})
    assert (r["valid"], r["pattern"]) == (False, "RAC")


def test_overall_uses_bfcl_weights_and_counts_missing_as_zero() -> None:
    assert bfcl_overall({})["overall"] == 0
    full = bfcl_overall({c: 1.0 for c in [
        "simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
        "parallel_multiple", "live_simple", "live_multiple", "live_parallel",
        "live_parallel_multiple", "irrelevance", "live_irrelevance"]})
    assert abs(full["overall"] - 0.30) < 1e-9  # non-live + live + irrelevance = 30%
    assert "multi_turn_base" in full["not_run"] and "memory_kv" in full["not_run"]
    one = bfcl_overall({"multi_turn_base": 1.0})
    assert abs(one["overall"] - 0.30 / 4) < 1e-9


def test_html_report_is_self_contained_and_escaped() -> None:
    r = _score({"id": CASE.id, "output": "<script>alert(1)</script>"})
    html = html_report(summarize([r], "m<b>", "s"), [r])
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "m&lt;b&gt;" in html and "<svg" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_score_command_writes_results_summary_report_and_bfcl_files(tmp_path: Path) -> None:
    preds = tmp_path / "p.jsonl"
    preds.write_bytes(b'{"id": "simple_python_0", "calls": ' + json.dumps([GOOD]).encode()
                      + b'}\n{"id": "simple_python_1", "output": "\xff\xfe"}\nnot json\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["eval", "score", "--suite", "bfcl:simple_python",
                                   "--predictions", str(preds), "--out", str(out),
                                   "--limit", "3"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["valid"] for r in rows] == [True, False, False]
    assert rows[2]["code"] == "missing_prediction"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["categories"]["simple_python"] == {"total": 3, "correct": 1,
                                                      "accuracy": 1 / 3}
    bfcl = out / "bfcl/result/predictions/non_live/BFCL_v4_simple_python_result.json"
    first = json.loads(bfcl.read_text().splitlines()[0])
    assert first == {"id": "simple_python_0",
                     "result": [{GOOD["name"]: json.dumps(GOOD["arguments"])}]}
    assert (out / "report.html").read_text().startswith("<!doctype html>")

    again = CliRunner().invoke(app, ["eval", "compare", str(out), str(out / "results.jsonl")])
    assert again.exit_code == 0 and "simple_python" in again.output


def test_unknown_suite_is_one_clear_error() -> None:
    res = CliRunner().invoke(app, ["eval", "score", "--suite", "bfcl:nope",
                                   "--predictions", "x.jsonl"])
    assert res.exit_code == 2 and "no BFCL category 'nope'" in res.output


def test_score_is_one_call_that_returns_the_result_and_writes_the_files(tmp_path: Path) -> None:
    from lamstudio.eval import EvalError, score

    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "simple_python_0", "calls": [GOOD]}) + "\n"
                     + json.dumps({"id": "stray", "output": ""}) + "\nnot json\n")
    ticks: list[str] = []
    res = score("bfcl:simple_python", preds, out=tmp_path / "o", limit=2,
                progress=lambda what, n: lambda k=1: ticks.append(what))
    assert res.summary["total"] == 2 and res.accuracy == 0.5
    assert [r["valid"] for r in res.results] == [True, False]
    assert res.stray == ["stray"] and len(res.problems) == 1
    assert ticks == ["scoring", "scoring"]
    assert set(res.paths) >= {"results", "summary", "report"}
    assert all(p.exists() for p in res.paths.values())
    with pytest.raises(EvalError, match="no BFCL category 'nope'"):
        score("bfcl:nope", preds, out=tmp_path / "o")


def _score_cli(tmp_path: Path, lines: list[str], suite: str, *extra: str):
    preds = tmp_path / "p.jsonl"
    preds.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["eval", "score", "--suite", suite, "--predictions",
                                   str(preds), "--out", str(out), "--limit", "2", *extra])
    res.text = " ".join(res.output.split())  # undo the console's line wrapping
    return res, out


def test_a_wrongly_typed_prediction_is_reported_up_front_and_nothing_crashes(
        tmp_path: Path) -> None:
    res, out = _score_cli(tmp_path, ['{"id": "multi_turn_base_0", "turns": 5}',
                                     '{"id": "multi_turn_base_1", "turns": [[3]]}'],
                          "bfcl:multi_turn_base")
    assert res.exit_code == 0, res.output
    assert "p.jsonl:1: turns: expected a list of turns" in res.text
    assert "p.jsonl:2: turns[0][0]: a step is raw text or a list of calls" in res.text
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["code"] for r in rows] == ["missing_prediction"] * 2
    assert json.loads((out / "summary.json").read_text())["total"] == 2


def test_with_strict_a_bad_prediction_stops_before_anything_is_written(tmp_path: Path) -> None:
    res, out = _score_cli(tmp_path, ['{"id": "multi_turn_base_0", "turns": 5}'],
                          "bfcl:multi_turn_base", "--strict")
    assert res.exit_code != 0 and "p.jsonl:1: turns" in res.text
    assert not (out / "results.jsonl").exists() and not (out / "summary.json").exists()


def test_duplicate_prediction_ids_warn_with_the_ids_and_keep_the_first(tmp_path: Path) -> None:
    good = json.dumps({"id": "simple_python_0", "calls": [GOOD]})
    bad = json.dumps({"id": "simple_python_0", "output": "no idea"})
    res, out = _score_cli(tmp_path, [good, bad], "bfcl:simple_python")
    assert res.exit_code == 0, res.output
    assert "p.jsonl:2: id: duplicate prediction id 'simple_python_0' (first at line 1)" \
        in res.text
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert rows[0]["valid"] is True
    strict, _ = _score_cli(tmp_path, [good, bad], "bfcl:simple_python", "--strict")
    assert strict.exit_code != 0 and "simple_python_0" in strict.text


def test_outputs_are_built_before_any_is_written(tmp_path: Path) -> None:
    """A failure while building (here: a prediction that skipped validation) leaves the
    output folder without a complete-looking results/summary/report."""
    import pytest

    from lamstudio.eval._outputs import write_outputs

    results = [_score({"id": CASE.id, "calls": [GOOD]})]
    with pytest.raises(TypeError):
        write_outputs(tmp_path, "m", results, summarize(results),
                      {CASE.id: {"id": CASE.id, "turns": 5}}, write_predictions=False)
    assert list(tmp_path.iterdir()) == []
