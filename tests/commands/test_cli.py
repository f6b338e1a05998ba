"""The `lamstudio` command: fast help, every stage registered, eval shorthand."""

import subprocess
import sys

from lamstudio.cli import _eval_shorthand


def test_help_lists_every_stage_without_importing_torch():
    code = ("import sys; from lamstudio.cli import app; "
            "from typer.testing import CliRunner; "
            "r = CliRunner().invoke(app, ['--help']); print(r.output); "
            "print('TORCH' if 'torch' in sys.modules else 'NO_TORCH')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    for cmd in ("convert", "schema", "verify", "report", "inspect", "train", "export",
                "eval", "quickstart"):
        assert cmd in out
    assert out.strip().endswith("NO_TORCH")


def test_eval_with_options_means_eval_run():
    assert _eval_shorthand(["eval", "--model", "m", "--suite", "s"]) == \
        ["eval", "run", "--model", "m", "--suite", "s"]
    assert _eval_shorthand(["eval", "score", "--suite", "s"]) == ["eval", "score", "--suite", "s"]
    assert _eval_shorthand(["eval", "--help"]) == ["eval", "--help"]
    assert _eval_shorthand(["convert", "--model"]) == ["convert", "--model"]


def test_top_level_help_and_package_description_name_only_commands_that_exist():
    import re
    from pathlib import Path

    import pytest
    import typer

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    from lamstudio.cli import PIPELINE, app

    root = Path(__file__).resolve().parents[2]
    desc = tomllib.loads((root / "pyproject.toml").read_text())["project"]["description"]
    assert desc == PIPELINE == app.info.help
    names = {c.name for c in typer.main.get_command(app).commands.values()}
    steps = [s.strip(" .") for s in PIPELINE.split(":", 1)[1].split("->")]
    assert len(steps) >= 4
    for step in steps:
        assert step in names, f"the help promises {step!r}, which is not a command"
    for word in ("synthesize", "augment", "serve", "mix"):  # until such commands exist
        assert not re.search(rf"\b{word}\b", PIPELINE) or word in names
