"""The recipe: YAML in, a checked TrainConfig out; mistakes named by key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lamstudio.train import ConfigError, TrainConfig, load_config

RECIPES = Path(__file__).resolve().parents[2] / "recipes"

MINIMAL = """
run_dir: runs/x
model: {name_or_path: some/model}
data:
  sources:
    - {path: a.jsonl}
    - {path: b.jsonl, format: apigen, epochs: 2}
train: {lr: 2e-4, mode: full}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


def test_recipe_loads_with_defaults_and_yaml_quirks(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert isinstance(cfg, TrainConfig)
    assert cfg.train.lr == 2e-4  # YAML 1.1 reads 2e-4 as a string; still a float here
    assert cfg.train.mode == "full"
    assert cfg.data.sources[1].format == "apigen" and cfg.data.sources[1].epochs == 2.0
    assert cfg.data.packing is True and cfg.train.scheduler == "cosine"


def test_overrides_reach_any_leaf(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), [
        "train.max_steps=5", "data.sources.0.epochs=0.5", "lora.target_modules=[q_proj]",
        "model.tokenizer=tok", "data.packing=false"])
    assert cfg.train.max_steps == 5
    assert cfg.data.sources[0].epochs == 0.5
    assert cfg.lora.target_modules == ["q_proj"]
    assert cfg.model.tokenizer == "tok" and cfg.data.packing is False


@pytest.mark.parametrize(("override", "message"), [
    ("train.lrr=1", "train.lrr: unknown key (did you mean 'lr'?)"),
    ("train.mode=qlora4", "train.mode: expected one of"),
    ("train.batch_size=big", "train.batch_size: expected int"),
    ("data.sources.5.weight=1", "not an index"),
    ("data.sources.0.weight=1", "give a weight to every source or to none"),
    ("data.sources.1.weight=1", "give weight or epochs, not both"),
    ("data.temperature=2", "replaces per-source weight/epochs"),
    ("train.label_smoothing=1.0", "train.label_smoothing: must be less than 1"),
    ("train.neftune_alpha=0", "train.neftune_alpha: must be greater than 0"),
    ("data.sources.1.format=apigenn", "data.sources.1.format: unknown format 'apigenn'"),
    ("data.max_len=4", "data.max_len: must be greater than or equal to 8"),
    ("model.name_or_path=''", "model.name_or_path: required"),
    ("nonsense", "expected key=value"),
])
def test_mistakes_are_named(tmp_path: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write(tmp_path, MINIMAL), [override])


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such recipe"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "model: [unclosed"))


@pytest.mark.parametrize("name", ["tiny_cpu.yaml", "xlam_lora_8b.yaml"])
def test_shipped_recipes_load(name: str) -> None:
    cfg = load_config(RECIPES / name)
    assert cfg.data.sources and cfg.model.name_or_path


@pytest.mark.parametrize(("name", "kind"), [
    ("ddp.yaml", "MULTI_GPU"), ("fsdp.yaml", "FSDP"),
    ("deepspeed_zero2.yaml", "DEEPSPEED"), ("deepspeed_zero3.yaml", "DEEPSPEED")])
def test_shipped_accelerate_configs_parse(name: str, kind: str) -> None:
    import yaml

    cfg = yaml.safe_load((RECIPES / "accelerate" / name).read_text())
    assert cfg["distributed_type"] == kind and cfg["num_processes"] >= 1
    if kind == "DEEPSPEED":
        assert cfg["deepspeed_config"]["zero_stage"] == int(name[-6])
