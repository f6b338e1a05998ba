"""The shipped samples convert cleanly through the real CLI (they feed ``make quickstart``);
the ``*_bad.jsonl`` ones are rejected row by row with their reasons."""

import json

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app

runner = CliRunner()
FORMATS = ["lamstudio", "apigen", "openai", "sharegpt", "actionstudio", "react"]
BAD = {
    "apigen": ["bad_tools_json", "bad_answers_json", "missing_field", "wrong_type",
               "bad_function_call"],
    "openai": ["missing_field", "bad_arguments_json", "invalid_role", "bad_tools_json",
               "bad_function_call"],
    "sharegpt": ["unknown_speaker", "bad_function_call", "bad_tools_json", "missing_field",
                 "wrong_type"],
    "actionstudio": ["missing_field", "wrong_type", "bad_function_call", "missing_field"],
    "react": ["react_parse_error", "react_parse_error", "react_parse_error", "missing_field",
              "wrong_type"],
}


def convert(tmp_path, src, fmt, to="lamstudio", code=0):
    out, summary = tmp_path / f"{src.stem}.{to}.jsonl", tmp_path / f"{src.stem}.summary.json"
    res = runner.invoke(app, ["convert", str(src), "--from", fmt, "--to", to, "-o", str(out),
                              "--summary", str(summary)])
    assert res.exit_code == code, res.output
    return out, json.loads(summary.read_text())


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_converts_with_nothing_rejected(samples, tmp_path, fmt):
    src = samples / f"{fmt}.jsonl"
    out, summary = convert(tmp_path, src, fmt)
    n = len(src.read_text().splitlines())
    assert 5 <= n <= 15
    assert summary["read"] == summary["kept"] + summary["rejected"] == n
    assert summary["rejected"] == 0 and summary["balanced"], summary
    assert len(out.read_text().splitlines()) == n


@pytest.mark.parametrize("fmt", sorted(BAD))
def test_bad_sample_rows_are_each_rejected_with_their_reason(samples, tmp_path, fmt):
    src = samples / f"{fmt}_bad.jsonl"
    out, summary = convert(tmp_path, src, fmt, code=1)  # nothing kept: exit 1
    assert summary["read"] == summary["rejected"] == len(BAD[fmt]) and summary["kept"] == 0
    rejects = [json.loads(x) for x in (tmp_path / f"{src.stem}.rejects.jsonl").read_text()
               .splitlines()]
    assert [r["code"] for r in rejects] == BAD[fmt]
    assert [r["line"] for r in rejects] == list(range(1, len(BAD[fmt]) + 1))
    assert all(r["field"] and r["message"] for r in rejects)


@pytest.mark.parametrize("to", ["openai", "sharegpt", "actionstudio", "apigen", "react"])
def test_native_sample_converts_to_each_format_and_back(samples, tmp_path, to):
    out, summary = convert(tmp_path, samples / "lamstudio.jsonl", "lamstudio", to=to)
    assert summary["rejected"] == 0
    _, back = convert(tmp_path, out, to)
    assert back["read"] == back["kept"] == summary["kept"]
