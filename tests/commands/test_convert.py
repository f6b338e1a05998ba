"""`lamstudio convert`: a bad row never stops the run; read = kept + rejected, always."""

import json

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.io import InputError
from lamstudio.sources._convert import convert

runner = CliRunner()


@pytest.fixture
def samples():
    from importlib.resources import files
    from pathlib import Path

    return Path(str(files("lamstudio") / "data" / "samples"))

GOOD = {"id": "ok-{}", "tools": [{"type": "function", "function": {
    "name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}],
    "messages": [{"role": "user", "content": "call f"},
                 {"role": "assistant", "tool_calls": [{"function": {
                     "name": "f", "arguments": "{\"x\": 1}"}}]}]}


def good(i):
    return json.dumps(GOOD).replace("ok-{}", f"ok-{i}")


BAD_LINES = {
    "bad_json": '{"id": "t", "messages": [',
    "not_object": "[1, 2, 3]",
    "bad_arguments_json": json.dumps({"id": "b", "messages": [{"role": "assistant",
        "tool_calls": [{"function": {"name": "f", "arguments": "{x: 1"}}]}]}),
    "orphan_tool_message": json.dumps({"id": "o", "messages": [
        {"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c9", "content": "1"}]}),
    "duplicate_id": good(0),
    "wrong_type": json.dumps({"id": "w", "messages": [{"role": "user", "content": 3}]}),
    "invalid_role": json.dumps({"id": "r", "messages": [{"role": "bot", "content": "x"}]}),
}


def write_mixed(path):
    lines = [good(0)] + list(BAD_LINES.values()) + [good(1)]
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_mixed_file_keeps_good_rows_and_rejects_each_bad_one_with_its_reason(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_mixed(src)
    res = runner.invoke(app, ["convert", str(src), "-o", str(out),
                              "--summary", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    assert "read = kept + rejected" in res.output
    kept = [json.loads(x)["id"] for x in out.read_text().splitlines()]
    assert kept == ["ok-0", "ok-1"]
    rejects = [json.loads(x) for x in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert [r["code"] for r in rejects] == list(BAD_LINES)
    assert [r["line"] for r in rejects] == list(range(2, 2 + len(BAD_LINES)))
    assert all(r["file"] == str(src) and r["message"] for r in rejects)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["read"] == summary["kept"] + summary["rejected"] == 2 + len(BAD_LINES)


def test_undefined_tool_is_kept_with_a_warning(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    row = json.loads(good(0))
    row["tools"] = []
    src.write_text(json.dumps(row) + "\n")
    tally = convert([src], "lamstudio", out)
    assert (tally.kept, tally.warnings["undefined_tool"]) == (1, 1)


def test_ids_are_unique_across_all_inputs_of_one_output(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(good(0) + "\n")
    b.write_text(good(0) + "\n")
    tally = convert([a, b], "lamstudio", tmp_path / "out.jsonl")
    assert (tally.kept, tally.reasons["duplicate_id"]) == (1, 1)


@pytest.mark.parametrize("content,message", [
    (bytes(range(256)) * 50, "binary file"),
    (b"", "empty"),
])
def test_unreadable_input_exits_nonzero_with_one_message_and_writes_nothing(
        tmp_path, content, message):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(content)
    res = runner.invoke(app, ["convert", str(src), "-o", str(out)])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert not out.exists() and not (tmp_path / "out.rejects.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_missing_input_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["convert", str(tmp_path / "nope.jsonl"), "-o",
                              str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "no such file" in res.output


def test_unknown_format_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["convert", "x", "-o", "y", "--from", "alpaca"])
    assert res.exit_code == 2 and "unknown format 'alpaca'" in res.output


def test_interrupted_run_leaves_no_output_that_looks_complete(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(good(i) for i in range(100)) + "\n")
    seen = 0

    def progress(total):
        def tick():
            nonlocal seen
            seen += 1
            if seen == 50:
                raise KeyboardInterrupt
        return tick

    with pytest.raises(KeyboardInterrupt):
        convert([src], "lamstudio", out, progress=progress)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_parquet_output_round_trips(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(good(i) for i in range(5)) + "\n")
    convert([src], "lamstudio", tmp_path / "out.parquet")
    again = convert([tmp_path / "out.parquet"], "lamstudio", tmp_path / "back.jsonl")
    assert again.kept == 5
    first = [json.loads(x) for x in src.read_text().splitlines()]
    back = [json.loads(x) for x in (tmp_path / "back.jsonl").read_text().splitlines()]
    assert [b["messages"][1]["tool_calls"][0]["function"]["arguments"] for b in back] == \
        [{"x": 1}] * 5
    assert [b["id"] for b in back] == [f["id"] for f in first]


def test_over_long_line_limit_is_an_option(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(good(0) + "\n" + '{"id": "big", "x": "' + "z" * 3_000_000 + '"}\n')
    res = runner.invoke(app, ["convert", str(src), "-o", str(tmp_path / "o.jsonl"),
                              "--max-line-mb", "1"])
    assert res.exit_code == 0 and "line_too_long" in res.output


def test_input_error_type_is_public():
    assert issubclass(InputError, Exception)


def test_arrow_style_row_with_broken_tools_string_is_rejected(tmp_path):
    src = tmp_path / "in.jsonl"
    row = json.loads(good(0))
    row["tools"] = '[{"type": "function", '
    src.write_text(json.dumps(row) + "\n")
    tally = convert([src], "lamstudio", tmp_path / "o.jsonl")
    assert tally.reasons == {"bad_tools_json": 1}


def test_forgotten_from_exits_1_and_names_the_format_the_rows_read_as(tmp_path, samples):
    out = tmp_path / "o.jsonl"
    res = runner.invoke(app, ["convert", str(samples / "apigen.jsonl"), "-o", str(out)],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 1, res.output
    assert "every row was rejected (missing_field: 12)" in res.output
    assert "add --from apigen" in res.output
    # with the right --from, all 12 are kept
    res = runner.invoke(app, ["convert", "--from", "apigen", str(samples / "apigen.jsonl"),
                              "-o", str(out)])
    assert res.exit_code == 0, res.output


def test_rows_of_no_known_format_get_no_format_hint(tmp_path):
    src = tmp_path / "x.jsonl"
    src.write_text('{"foo": 1}\n{"foo": 2}\n')
    res = runner.invoke(app, ["convert", str(src), "-o", str(tmp_path / "o.jsonl")],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 1 and "every row was rejected" in res.output
    assert "--from" not in res.output


@pytest.mark.parametrize("fmt", ["apigen", "openai", "sharegpt", "actionstudio", "react"])
def test_sniff_format_names_each_sample_by_its_own_reader(samples, fmt):
    from lamstudio.sources import sniff_format

    assert sniff_format(samples / f"{fmt}.jsonl", exclude=("lamstudio",)) == fmt
