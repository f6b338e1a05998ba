"""What ``make`` prints points only at things a fresh clone has."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_output_refers_only_to_files_and_sections_in_the_repo(tmp_path):
    # -n -B: print every recipe line of the setup without running it.
    out = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), f"VENV={tmp_path}/v",
                          "quickstart", "test"], capture_output=True, text=True,
                         check=True).stdout
    assert "bfcl-eval" in out
    readme = (ROOT / "README.md").read_text()
    for ref in re.findall(r"\((?:see )?([^()]*?)\)", out):
        ref = ref.strip()
        if ref.startswith("README, "):  # a README section
            assert f"## {ref.removeprefix('README, ')}" in readme, ref
        elif re.fullmatch(r"[A-Z_]{4,}(\.md)?", ref):  # a bare file name, e.g. FIELD_NOTES
            assert (ROOT / ref).exists(), f"make points at {ref}, not in the repository"
    assert "FIELD_NOTES" not in (ROOT / "Makefile").read_text()
