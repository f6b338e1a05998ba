"""Every command's --help reads as plain English: flags without a type or a double negative,
no raw reStructuredText, one name per idea across commands."""

from __future__ import annotations

import click
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from lamstudio.cli import app

runner = CliRunner()


def _commands() -> list[list[str]]:
    out: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        out.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            if not sub.hidden:
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


COMMANDS = _commands()


def _help(path: list[str]) -> str:
    res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "lamstudio")
def test_help_has_no_bool_metavar_double_negative_or_rst(path):
    text = _help(path)
    assert "<bool>" not in text
    assert "--no-no-" not in text
    assert "[default: no-" not in text and "[default: False]" not in text
    assert "``" not in text


def test_a_negative_flag_is_one_flag():
    text = _help(["verify"])
    for name in ("--no-builtin-tools", "--no-compare", "--skip-unexecutable", "--restart"):
        assert name in text
    assert "--no-skip-unexecutable" not in text and "--no-restart" not in text


def test_one_vocabulary_across_commands():
    assert "--from" in _help(["build-tokenizer"]) and "--format" not in _help(["build-tokenizer"])
    assert "--samples" in _help(["inspect"])
    # build-model's --size (nano|tiny|small) and the quickstart's shapes are distinct options
    assert "--shape" in _help(["quickstart"]) and "--size" not in _help(["quickstart"])
    assert "--size" in _help(["build-model"])


def test_old_spellings_still_work(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a", "messages": [{"role": "user", "content": "hello there"}, '
                    '{"role": "assistant", "content": "hi, how can I help"}]}\n')
    res = runner.invoke(app, ["build-tokenizer", str(data), "-o", str(tmp_path / "tok"),
                              "--vocab", "400", "--format", "lamstudio"])
    assert res.exit_code == 0, res.output


def test_summary_title_does_not_wrap():
    from lamstudio.io import Tally

    tally = Tally("convert")
    tally.keep("f")
    console = Console(width=80, record=True)
    console.print(tally.render())
    assert "convert: read = kept + rejected ✓" in console.export_text()


def test_formats_wrap_inside_their_column_when_piped():
    res = runner.invoke(app, ["formats"], env={"COLUMNS": "60"})
    lines = res.output.splitlines()
    assert len(lines) > 7  # some descriptions wrapped at 60 columns
    starts = {line.split()[0] for line in lines if line and not line.startswith(" ")}
    assert starts <= {"lamstudio", "apigen", "openai", "sharegpt", "actionstudio", "react",
                      "bfcl"}, lines


def test_command_summaries_in_lists_are_one_line_each():
    for path in COMMANDS:
        res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "250", "NO_COLOR": "1"})
        panel = res.output.split("Commands", 1)[1] if "Commands" in res.output else ""
        rows = [ln.strip("│ ").strip() for ln in panel.splitlines()
                if ln.startswith("│") and ln.strip("│ ").strip()]
        for row in rows:  # every row starts with a command name, none is a wrapped tail
            name = row.split()[0]
            assert any(p[-1:] == [name] for p in COMMANDS), (path, row)
