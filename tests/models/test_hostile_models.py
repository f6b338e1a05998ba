"""A prepared model folder is outside bytes too: damaged, forged or unwritable, it must be
refused by name in one line that says what to do, never loaded into a traceback, never
listed as prepared (issue 23 item 10)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.models.conftest import Tiny
from tests.models.tiny_gguf import write_tiny_gguf
from tests.support.hostile import HUGE_INT_TEXT, LONE_SURROGATE, deep_json
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.models import (
    PROVENANCE,
    ModelError,
    model_status,
    prepare,
    prepare_gguf,
    resolve_model,
)

FORCE = "lamstudio models prepare tiny-test --force"


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _truncate(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size // 2)


def test_a_truncated_weights_file_is_damaged_everywhere_until_force_rebuilds_it(
        tiny: Tiny, tmp_path: Path) -> None:
    weights = tiny.folder / "model.safetensors"
    size = weights.stat().st_size
    _truncate(weights)
    why = f"model.safetensors is {size // 2:,} bytes, {size:,} when prepared"

    code, out = _cli("models", "list")
    row = next(line for line in out.splitlines() if line.startswith("│ tiny-test"))
    assert code == 0 and "damaged" in row and "yes" not in row.split("│")[4]
    assert f"tiny-test: {tiny.folder}: damaged ({why}); rebuild it: {FORCE}" in out

    code, out = _cli("models", "prepare", "tiny-test")
    assert code == 2 and "ready" not in out
    assert out.strip() == f"error: {tiny.folder}: damaged ({why}); rebuild it: {FORCE}"

    for name in ("tiny-test", str(tiny.folder)):  # by name, and the folder by its path
        with pytest.raises(ModelError, match=rf"damaged \({why}\); rebuild it: {FORCE}$"):
            resolve_model(name, progress=False)
    code, out = _cli("eval", "run", "--model", "tiny-test", "--suite", "bfcl:simple_python",
                     "--limit", "1", "-o", str(tmp_path / "eval"))
    assert code == 2 and f"damaged ({why}); rebuild it: {FORCE}" in out
    for name in ("tiny-test", str(tiny.folder)):  # serve, by name and by path, loads nothing
        code, out = _cli("serve", "--model", name, "--port", "1")
        assert code == 2 and f"damaged ({why}); rebuild it: {FORCE}" in out

    code, out = _cli("models", "prepare", "tiny-test", "--force")
    assert code == 0 and "ready" in out
    assert weights.stat().st_size == size
    assert [s.prepared for s in model_status() if s.entry.name == "tiny-test"] == [True]
    assert resolve_model("tiny-test", progress=False) == str(tiny.folder)


def _delete(folder: Path) -> None:
    (folder / "tokenizer.json").unlink()


def _flip_a_byte(folder: Path) -> None:
    path = folder / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _dir_for_file(folder: Path) -> None:
    (folder / "config.json").unlink()
    (folder / "config.json").mkdir()


def _edit_files(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        prov = json.loads((folder / PROVENANCE).read_text())
        change(prov["files"])
        (folder / PROVENANCE).write_text(json.dumps(prov))
    return edit


def _escape(files: dict) -> None:
    files["../../outside.bin"] = files.pop("config.json")


def _string_size(files: dict) -> None:
    files["config.json"]["size"] = str(files["config.json"]["size"])


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated weights": (lambda f: _truncate(f / "model.safetensors"),
                          r"model\.safetensors is [\d,]+ bytes, [\d,]+ when prepared"),
    "a file deleted": (_delete, r"tokenizer\.json is missing"),
    "same size, other bytes": (_flip_a_byte, r"model\.safetensors changed since it was "
                                             r"prepared \(sha256 \w{12}…, \w{12}… when"),
    "a folder for a file": (_dir_for_file, r"config\.json is not a file"),
    "no list of files": (_edit_files(dict.clear), f"{PROVENANCE} has no readable list"),
    "a path outside the folder": (_edit_files(_escape), f"{PROVENANCE} has no readable"),
    "a size that is text": (_edit_files(_string_size), f"{PROVENANCE} has no readable"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_each_kind_of_damage_is_named_with_the_fix(tiny: Tiny, damage: str) -> None:
    change, why = DAMAGE[damage]
    change(tiny.folder)
    for check in (lambda: prepare("tiny-test", progress=False),
                  lambda: resolve_model(str(tiny.folder))):
        with pytest.raises(ModelError, match=f"^{tiny.folder}: damaged \\({why}.*{FORCE}$"):
            check()
    [status] = [s for s in model_status() if s.entry.name == "tiny-test"]
    assert not status.prepared and status.damage and status.size_bytes == 0


PROVENANCE_BYTES = {
    "not an object": b"[]",
    "nested 100k levels": deep_json(100_000).encode(),
    "a 5000-digit size": (b'{"source": {"sha256": "x"}, "files": {"config.json": {"size": '
                          + HUGE_INT_TEXT.encode() + b"}}}"),
    "a lone surrogate": json.dumps({"name": LONE_SURROGATE}).encode(),
    "not UTF-8": b'{"name": "\xff"}',
}


@pytest.mark.parametrize("what", PROVENANCE_BYTES)
def test_a_provenance_file_that_cannot_be_read_is_not_a_prepared_folder(
        tiny: Tiny, what: str) -> None:
    (tiny.folder / PROVENANCE).write_bytes(PROVENANCE_BYTES[what])
    with pytest.raises(ModelError, match=f"not a prepared model folder.*{FORCE}$"):
        prepare("tiny-test", progress=False)
    assert [s.prepared for s in model_status() if s.entry.name == "tiny-test"] == [False]


def test_same_size_bytes_with_the_mtime_put_back_need_verify(tiny: Tiny) -> None:
    """The everyday check is stat only (instant on a 2.5 GB folder); --verify hashes."""
    weights = tiny.folder / "model.safetensors"
    before = weights.stat()
    _flip_a_byte(tiny.folder)
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert prepare("tiny-test", progress=False) == tiny.folder
    with pytest.raises(ModelError, match="model.safetensors changed since it was prepared"):
        prepare("tiny-test", progress=False, verify=True)
    code, out = _cli("models", "list", "--verify")
    assert code == 0 and "damaged (model.safetensors changed since it was prepared" in out
    code, out = _cli("models", "prepare", "tiny-test", "--verify")
    assert code == 2 and FORCE in out


def test_a_copied_folder_is_hashed_once_then_checked_by_size(tiny: Tiny) -> None:
    now = 1_900_000_000 * 10**9
    for path in tiny.folder.iterdir():
        os.utime(path, ns=(now, now))  # what a copy without -p does
    assert resolve_model("tiny-test", progress=False) == str(tiny.folder)
    recorded = json.loads((tiny.folder / PROVENANCE).read_text())["files"]
    assert recorded and all(v["mtime_ns"] == now for v in recorded.values())


def test_a_folder_prepared_before_files_were_recorded_is_checked_then_recorded(
        tiny: Tiny) -> None:
    prov = json.loads((tiny.folder / PROVENANCE).read_text())
    files = prov.pop("files")
    (tiny.folder / PROVENANCE).write_text(json.dumps(prov))
    assert prepare("tiny-test", progress=False) == tiny.folder
    assert json.loads((tiny.folder / PROVENANCE).read_text())["files"] == files

    (tiny.folder / PROVENANCE).write_text(json.dumps(prov))
    _truncate(tiny.folder / "model.safetensors")
    with pytest.raises(ModelError, match=f"model.safetensors is not a complete safetensors "
                                         f"file\\); rebuild it: {FORCE}$"):
        prepare("tiny-test", progress=False)


def test_prepared_files_get_the_mode_every_new_file_gets(tiny: Tiny, tmp_path: Path) -> None:
    (tmp_path / "probe").touch()
    usual = stat.S_IMODE((tmp_path / "probe").stat().st_mode)  # 0644 under umask 022
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tiny.folder.iterdir()}
    assert "model.safetensors" in modes and set(modes.values()) == {usual}, modes


def _full_disk_at_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """safetensors on a full disk: part of the file, then its own error (message as seen
    on a real 64 kB tmpfs)."""
    import transformers.modeling_utils
    from safetensors import SafetensorError

    def save_file(tensors: dict, filename: str, metadata: dict | None = None) -> None:
        Path(filename).write_bytes(b"\0" * 1000)
        raise SafetensorError("Error while serializing: I/O error: No space left on device "
                              "(os error 28)")
    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", save_file)


def test_a_full_disk_is_one_line_and_leaves_nothing(tiny: Tiny,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.rmtree(tiny.folder)
    _full_disk_at_weights(monkeypatch)
    code, out = _cli("models", "prepare", "tiny-test")
    assert code == 2 and out.strip() == (
        f"error: {tiny.home / 'models'}: no space left on the device while preparing "
        f"tiny-test (nothing was kept); free some space there or set LAMSTUDIO_HOME to a "
        f"folder on a disk with room, then rerun: lamstudio models prepare tiny-test")
    assert list((tiny.home / "models").iterdir()) == []


def test_a_full_disk_during_force_keeps_the_folder_as_it_was(
        tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sorted(p.name for p in (tiny.home / "models").iterdir())
    _full_disk_at_weights(monkeypatch)
    with pytest.raises(ModelError, match="no space left.*models prepare tiny-test --force$"):
        prepare("tiny-test", force=True, progress=False)
    assert sorted(p.name for p in (tiny.home / "models").iterdir()) == before
    assert prepare("tiny-test", progress=False, verify=True) == tiny.folder


def _read_only_dir(tmp_path: Path) -> Path:
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        (ro / "probe").mkdir()
    except PermissionError:
        return ro / "home"
    pytest.skip("running as root: a chmod 555 folder is still writable")


UNWRITABLE = {
    "chmod 555": (_read_only_dir, "cannot write there (Permission denied)"),
    "/sys (read-only even for root)": (lambda _: Path("/sys/lamstudio-test-home"),
                                       "cannot write there (Operation not permitted"),
    "under a file": (lambda t: (t / "file").touch() or t / "file" / "home",
                     "preparing gguf-tiny-"),
}


@pytest.mark.parametrize("where", UNWRITABLE)
def test_an_unwritable_home_is_one_line_naming_it(where: str, tiny: Tiny, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make, said = UNWRITABLE[where]
    home = make(tmp_path)
    if where.startswith("/sys") and not Path("/sys").is_dir():
        pytest.skip("no /sys here")
    monkeypatch.setenv("LAMSTUDIO_HOME", str(home))
    code, out = _cli("models", "prepare", str(tiny.gguf))
    assert code == 2 and out.startswith(f"error: {home / 'models'}: ") and said in out
    assert out.count("\n") == 1 and f"lamstudio models prepare {tiny.gguf}" in out
    assert not (home / "models").exists()


def test_a_gguf_whose_tokenizer_cannot_be_built_is_refused(tmp_path: Path,
                                                           monkeypatch) -> None:
    monkeypatch.setenv("LAMSTUDIO_HOME", str(tmp_path / "home"))
    bad = write_tiny_gguf(tmp_path / "bad-merges.gguf", merges=["x y"])
    with pytest.raises(ModelError, match="bad-merges.gguf: not a GGUF model transformers "
                                         "can read .*`xy` out of vocabulary"):
        prepare_gguf(bad, progress=False)
    assert list((tmp_path / "home" / "models").iterdir()) == []
