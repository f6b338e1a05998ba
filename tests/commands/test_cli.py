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
