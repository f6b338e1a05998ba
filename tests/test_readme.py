"""README's commands run as written, in order, on a fresh clone.

Every ```bash block of README.md is split into commands and run with bash in a copy of the
repository's files (what ``git clone`` gives), with ``lamstudio`` on PATH and this venv as
``.venv``. Small data and a tiny model keep it fast: the only thing prepared beforehand is
``xlam_60k.json``, the user's download, here the shipped sample of the same shape. A command
that cannot run here is listed in SKIPPED with the reason; everything else must exit 0, and
the files README's later commands read must be there. The Python block runs after them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "src" / "lamstudio" / "data" / "samples"

# Command prefix -> why it is not run here. Keep this short.
SKIPPED = {
    "make quickstart": "~13 minutes of training; tests/quickstart runs the same pipeline small",
    "make test": "the test suite itself",
    "lamstudio quickstart": "~13 minutes of training; tests/quickstart runs the same pipeline "
                            "small",
    "accelerate launch": "several processes and an 8B model from the hub "
                         "(tests/train/test_distributed.py runs DDP on CPU)",
    "lamstudio eval --model my-model --backend openai": (
        "every BFCL AST category: thousands of requests and their scoring, minutes; "
        "tests/eval/test_run.py runs this backend against a scripted server"),
    "lamstudio serve": "a server: it runs until stopped (tests/serve starts and queries it)",
    "lamstudio synth apigen-mt": (
        "needs a generator / reviewer / agent model able to write tau2 blueprints behind an "
        "endpoint; tests/synth/test_apigen_mt*.py run both phases against scripted servers"),
}
# A ```python block whose first line starts so -> why it is not run here.
PYTHON_SKIPPED = {"from openai import OpenAI": "a client of `lamstudio serve` (tests/serve)"}

# README's server address -> what the test serves there (the port is any free one).
SERVED = "http://127.0.0.1:8000/v1"


def readme_commands(text: str) -> list[str]:
    """The commands of every ```bash block, in order: comment lines dropped, ``\\``
    continuations joined."""
    out: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M):
        pending = ""
        for line in block.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1].rstrip() + " "
                continue
            out.append((pending + line.strip()).strip())
            pending = ""
    return out


def skip_reason(command: str) -> str | None:
    return next((why for prefix, why in SKIPPED.items() if command.startswith(prefix)), None)


def python_blocks(text: str) -> list[str]:
    """The ```python blocks not in PYTHON_SKIPPED."""
    return [code for code in re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
            if not any(code.startswith(prefix) for prefix in PYTHON_SKIPPED)]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files (tracked, or new and not ignored) in a fresh directory."""
    pytest.importorskip("bfcl_eval")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    dest = tmp_path_factory.mktemp("clone")
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    (dest / ".venv").symlink_to(Path(sys.prefix))  # what the Makefile makes
    shutil.copy(SAMPLES / "apigen.jsonl", dest / "xlam_60k.json")  # the user's download
    bin_dir = dest.parent / f"{dest.name}-bin"
    bin_dir.mkdir()
    (bin_dir / "lamstudio").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m lamstudio "$@"\n')
    (bin_dir / "lamstudio").chmod(0o755)
    return dest


@pytest.fixture(scope="module")
def server():
    """README's OpenAI-compatible server (the judge, the agent's model): a scripted one that
    always answers a passing judge verdict, which the agent takes as its final answer."""
    from tests.support.scripted_server import Reply, ScriptedServer

    with ScriptedServer(lambda body: Reply('{"pass": true, "reason": "fine"}')) as srv:
        yield srv


def _env(clone: Path) -> dict[str, str]:
    bin_dir = clone.parent / f"{clone.name}-bin"
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "COLUMNS": "120",
            "OMP_NUM_THREADS": "1", "JUDGE_API_KEY": "test-key"}


def test_readme_lists_its_commands_and_skips_few():
    commands = readme_commands((ROOT / "README.md").read_text())
    assert any(c.startswith("lamstudio convert --from apigen") for c in commands)
    assert any("\\" not in c and "--skip-unexecutable" in c for c in commands)  # joined
    skipped = [c for c in commands if skip_reason(c)]
    assert len(skipped) <= 10 and len(commands) - len(skipped) >= 15  # skips kept few
    for prefix in SKIPPED:  # no stale entries
        assert any(c.startswith(prefix) for c in commands), prefix


@pytest.mark.slow
def test_every_readme_command_runs_in_order_on_a_fresh_clone(clone, server):
    text = (clone / "README.md").read_text()
    env = _env(clone)
    ran = []
    for command in readme_commands(text):
        if skip_reason(command):
            continue
        served = command.replace(SERVED, server.base_url)
        res = subprocess.run(["bash", "-c", "set -o pipefail; " + served], cwd=clone,
                             env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, f"$ {command}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        ran.append((command, res.stdout + res.stderr))
    outputs = dict(ran)
    # what the steps promise, checked on what they wrote
    assert (clone / "data" / "verified.jsonl").read_text().strip()
    assert (clone / "report.html").read_text().startswith("<!doctype html>")
    assert (clone / "runs" / "tiny-cpu-model" / "config.json").is_file()
    assert (clone / "out" / "scored" / "summary.json").is_file()
    train_out = next(o for c, o in ran if c.startswith("lamstudio train"))
    evals = [line for line in train_out.splitlines() if "eval_loss" in line]
    assert len(evals) == len(set(evals)), f"a line printed twice:\n{train_out}"
    compare = next(o for c, o in outputs.items() if c.startswith("lamstudio eval compare"))
    assert "left out" not in compare  # the same cases on both sides
    assert (clone / "data" / "judged.jsonl").read_text().strip()  # the judge passed them
    assert len(server.requests) > 12  # the judge and the agent asked it


@pytest.mark.slow
def test_readme_python_block_runs_after_the_commands(clone):
    """The same pipeline from Python: an alternative to the commands, so their training run
    is removed first (a run dir with checkpoints needs --resume); it reuses their tiny model."""
    shutil.rmtree(clone / "runs" / "tiny-cpu", ignore_errors=True)
    (code,) = python_blocks((clone / "README.md").read_text())  # "Use from Python"
    code = "\n".join(line for line in code.splitlines()
                     if not line.startswith("run_quickstart("))  # SKIPPED: lamstudio quickstart
    res = subprocess.run([sys.executable, "-c", code], cwd=clone, env=_env(clone),
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
