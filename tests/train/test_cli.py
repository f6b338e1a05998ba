"""The commands: build-tokenizer, build-model, train (with --set), export; clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from train_helpers import recipe
from typer.testing import CliRunner

from lamstudio.cli import app

runner = CliRunner()


def test_build_tokenizer_then_model_from_the_command_line(assets: dict[str, Path],
                                                          tmp_path: Path) -> None:
    res = runner.invoke(app, ["build-tokenizer", str(assets["weather"]), str(assets["convert"]),
                              "-o", str(tmp_path / "tok"), "--vocab", "2000"])
    assert res.exit_code == 0, res.output
    assert "ran out of merges" in res.output  # 90 repetitive records cannot fill 2000
    res = runner.invoke(app, ["build-model", "--size", "nano", "--tokenizer",
                              str(tmp_path / "tok"), "-o", str(tmp_path / "model")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "model" / "config.json").is_file()
    res = runner.invoke(app, ["build-model", "--size", "huge", "--tokenizer",
                              str(tmp_path / "tok"), "-o", str(tmp_path / "m2")])
    assert res.exit_code == 2 and "unknown size" in res.output


def test_train_and_export_commands(assets: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe(assets, tmp_path / "run")))
    res = runner.invoke(app, ["train", str(path), "--set", "train.max_steps=2",
                              "--set", "train.mode=full", "--set",
                              "train.gradient_checkpointing=true", "--set",
                              f"data.eval_file={assets['convert']}", "--set", "data.max_eval=8"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "run" / "run.json").read_text())["mode"] == "full"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["eval_loss"] > 0  # the separate eval file was evaluated
    evals = [line for line in res.output.splitlines() if "eval_loss" in line]
    assert len(evals) == 1, res.output  # the final evaluation, printed once
    res = runner.invoke(app, ["export", str(tmp_path / "run"), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "model.safetensors").is_file()


def test_recipe_mistakes_exit_cleanly(assets: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe(assets, tmp_path / "run")))
    res = runner.invoke(app, ["train", str(path), "--set", "train.lrr=1"])
    assert res.exit_code == 2 and "did you mean 'lr'" in res.output
    res = runner.invoke(app, ["train", str(path), "--set", "data.sources.0.path=nope.jsonl"])
    assert res.exit_code == 2 and "nope.jsonl: no such file" in res.output
    res = runner.invoke(app, ["export", str(tmp_path / "nothing"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not a lamstudio run directory" in res.output
