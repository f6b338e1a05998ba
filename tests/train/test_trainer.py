"""The trainer end to end on a nano model: LoRA and full, packing and padding, checkpoints,
--resume, eval, rejects, the mix report, and export (merged == base + adapter)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from train_helpers import recipe, write_jsonl

from lamstudio.train import TrainError, export, last_checkpoint, load_config, train

torch.set_num_threads(1)


def run(assets: dict[str, Path], run_dir: Path, resume: bool = False, **sections: dict):
    return train(load_config(base=recipe(assets, run_dir, **sections)), resume=resume)


@pytest.fixture(scope="module")
def lora_run(assets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("lora") / "run"
    result = run(assets, run_dir, train={"report_to": ["tensorboard"]})
    assert result.steps == 4 and result.is_main
    return run_dir


def test_lora_run_writes_checkpoints_adapter_logs_and_mix_report(lora_run: Path) -> None:
    assert last_checkpoint(lora_run).endswith("checkpoint-4")
    assert (lora_run / "checkpoints" / "checkpoint-2").is_dir()
    assert (lora_run / "final" / "adapter_config.json").is_file()
    assert any((lora_run / "tb").rglob("events.out.tfevents.*"))
    mix = json.loads((lora_run / "mix.json").read_text())
    assert mix["available_per_source"] == {"weather": 60, "convert": 30}
    consumed = mix["consumed_examples_per_source"]
    # 4 steps x batch 2 = 8 packed rows; packs hold >= 1 example each.
    assert sum(consumed.values()) >= 8
    ids = json.loads((lora_run / "data" / "rank0.json").read_text())["example_ids_by_epoch"]["0"]
    assert len(ids) == sum(consumed.values()) == len(set(ids))
    assert {i.split("/")[0] for i in ids} <= {"weather", "convert"}
    metrics = json.loads((lora_run / "metrics.json").read_text())
    assert metrics["train_tokens"] > 0 and metrics["train_tokens_per_s"] > 0
    assert mix["data_tally"]["balanced"] and mix["data_tally"]["rejected"] == 0


def test_resume_continues_from_the_last_checkpoint_with_the_same_data(
        assets: dict[str, Path], lora_run: Path, tmp_path: Path) -> None:
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(lora_run, run_dir)
    with pytest.raises(TrainError, match="already holds checkpoints"):
        run(assets, run_dir)
    result = run(assets, run_dir, resume=True, train={"max_steps": 6})
    assert result.steps == 6
    state = json.loads((run_dir / "checkpoints" / "checkpoint-6" / "trainer_state.json")
                       .read_text())
    assert state["global_step"] == 6
    logged = [h["step"] for h in state["log_history"] if "loss" in h]
    assert logged[:3] == [1, 2, 4] and 6 in logged  # the first run's history is kept
    before = json.loads((lora_run / "data" / "rank0.json").read_text())["example_ids_by_epoch"]
    after = json.loads((run_dir / "data" / "rank0.json").read_text())["example_ids_by_epoch"]
    assert after["0"][: len(before["0"])] == before["0"]  # same order: a true continuation
    with pytest.raises(TrainError, match="data changed"):
        run(assets, run_dir, resume=True, data={"packing": False})


def test_resume_without_checkpoint_is_a_clear_error(assets: dict[str, Path],
                                                     tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="no checkpoint"):
        run(assets, tmp_path / "fresh", resume=True)


def test_export_merges_lora_into_a_standalone_model(assets: dict[str, Path], lora_run: Path,
                                                    tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = export(lora_run, tmp_path / "merged")
    assert not (out / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    base = AutoModelForCausalLM.from_pretrained(assets["model"]).eval()
    ids = AutoTokenizer.from_pretrained(out)("What is the weather in Oslo?",
                                             return_tensors="pt")["input_ids"]
    with torch.no_grad():
        plain = base(ids).logits
        adapted = PeftModel.from_pretrained(base, lora_run / "final").eval()(ids).logits
        got = merged(ids).logits
    assert not torch.allclose(plain, adapted, atol=1e-4)  # the adapter changed something
    torch.testing.assert_close(got, adapted, atol=1e-5, rtol=1e-5)


def test_full_mode_with_padding_eval_split_and_learning(assets: dict[str, Path],
                                                        tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    result = run(assets, tmp_path / "full",
                 data={"packing": False, "eval_fraction": 0.1, "sources": [
                     {"path": str(assets["convert"])}]},
                 train={"mode": "full", "max_steps": 16, "batch_size": 4, "lr": 3e-3,
                        "eval_steps": 8, "save_steps": 16, "logging_steps": 4})
    assert "eval_loss" in result.metrics
    state = json.loads((tmp_path / "full" / "checkpoints" / "checkpoint-16" /
                        "trainer_state.json").read_text())
    losses = [h["loss"] for h in state["log_history"] if "loss" in h]
    evals = [h["eval_loss"] for h in state["log_history"] if "eval_loss" in h]
    assert losses[-1] < 0.7 * losses[0]  # it learns (from ~ln|V| towards the data)
    assert len(evals) >= 2 and evals[-1] < evals[0]
    model = AutoModelForCausalLM.from_pretrained(result.final_dir)
    base = AutoModelForCausalLM.from_pretrained(assets["model"])
    assert not torch.equal(model.model.norm.weight, base.model.norm.weight)
    mix = json.loads((tmp_path / "full" / "mix.json").read_text())
    assert mix["available_per_source"] == {"convert": 27}  # 3 of 30 held out


def test_bad_rows_and_overlong_examples_are_rejected_with_reasons(
        assets: dict[str, Path], tmp_path: Path) -> None:
    rows = [json.loads(line) for line in assets["convert"].read_text().splitlines()[:12]]
    rows[3]["messages"][0]["content"] = "a very long question " * 60
    rows[5]["messages"] = []
    src = write_jsonl(tmp_path / "mixed.jsonl", rows)
    run(assets, tmp_path / "r", data={"sources": [{"path": str(src)}]},
        train={"max_steps": 1})
    tally = json.loads((tmp_path / "r" / "mix.json").read_text())["data_tally"]
    assert (tally["read"], tally["kept"], tally["rejected"]) == (12, 10, 2)
    assert tally["rejected_by_reason"]["too_long"] == 1
    rejects = [json.loads(line)
               for line in (tmp_path / "r" / "rejects.jsonl").read_text().splitlines()]
    assert sorted((r["line"], r["code"] == "too_long") for r in rejects) == [(4, True),
                                                                             (6, False)]


def test_qlora_on_cpu_fails_before_any_heavy_work(assets: dict[str, Path],
                                                  tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(TrainError, match="qlora needs a CUDA GPU"):
        run(assets, tmp_path / "q", train={"mode": "qlora"})
    assert not (tmp_path / "q").exists()


def test_unknown_lora_target_is_named(assets: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="lora"):
        run(assets, tmp_path / "t", lora={"target_modules": ["no_such_proj"]})


def test_lora_on_the_top_layers_only_adapts_those_layers(assets: dict[str, Path],
                                                         tmp_path: Path) -> None:
    from safetensors import safe_open

    result = run(assets, tmp_path / "top", lora={"layers_to_transform": [1]},
                 train={"max_steps": 2})
    with safe_open(str(Path(result.run_dir) / "final" / "adapter_model.safetensors"),
                   "pt") as f:
        layers = {k.split(".layers.")[1].split(".")[0] for k in f.keys()}
    assert layers == {"1"}
    with pytest.raises(TrainError, match="lora"):
        run(assets, tmp_path / "bad", lora={"layers_to_transform": [99]})


def _fake_trainer(label_smoothing: float = 0.0) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(args=SimpleNamespace(average_tokens_across_devices=False,
                                                label_smoothing_factor=label_smoothing),
                           accelerator=SimpleNamespace(unwrap_model=lambda m: m))


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 300, (2, 12), generator=g)
    labels = ids.clone()
    labels[:, :4] = -100
    labels[1, 6:8] = -100
    return ids, labels


@pytest.mark.parametrize("return_outputs", [False, True])
def test_message_weights_scale_the_loss(assets: dict[str, Path], return_outputs: bool) -> None:
    """The weighted loss with all weights 1 is the model's own loss; weight 0 removes
    tokens from the numerator. Same with logits only at trained positions (training) and
    with full logits (evaluation)."""
    from transformers import AutoModelForCausalLM

    from lamstudio.train._trainer import token_loss

    model = AutoModelForCausalLM.from_pretrained(assets["model"]).eval()
    ids, labels = _batch()

    def loss(weights: torch.Tensor | None) -> torch.Tensor:
        out = token_loss(_fake_trainer(), model, {"input_ids": ids, "labels": labels.clone()},
                         weights, return_outputs, None)
        return out[0] if return_outputs else out

    with torch.no_grad():
        ref = model(input_ids=ids, labels=labels).loss
        ones, unweighted = loss(torch.ones(2, 12)), loss(None)
        half = torch.ones(2, 12)
        half[0] = 0.0
        part = loss(half)
    torch.testing.assert_close(ones, ref)
    torch.testing.assert_close(unweighted, ref)
    assert part < ones


def test_trained_positions_only_give_the_same_gradients(assets: dict[str, Path]) -> None:
    """Computing logits only where there is a target changes the cost, not the maths:
    loss and every parameter gradient equal the model's own full-logits loss."""
    from transformers import AutoModelForCausalLM

    from lamstudio.train._trainer import token_loss

    model = AutoModelForCausalLM.from_pretrained(assets["model"])
    ids, labels = _batch()
    ref = model(input_ids=ids, labels=labels).loss
    ref.backward()
    want = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    calls: list[tuple[int, ...]] = []
    hook = model.get_output_embeddings().register_forward_hook(
        lambda m, a, out: calls.append(tuple(out.shape)))
    got = token_loss(_fake_trainer(), model, {"input_ids": ids, "labels": labels.clone()},
                     None, False, None)
    hook.remove()
    got.backward()
    torch.testing.assert_close(got, ref)
    # The head ran once, on the trained positions only (labels shifted by one).
    assert calls == [(int((labels[:, 1:] != -100).sum()), model.config.vocab_size)]
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, want[name], msg=name)
    assert not model.get_output_embeddings()._forward_pre_hooks


@pytest.mark.parametrize("return_outputs", [False, True])
def test_label_smoothing_is_applied_to_trained_tokens(assets: dict[str, Path],
                                                      return_outputs: bool) -> None:
    """``train.label_smoothing`` reaches the loss (transformers' own loss would ignore a
    custom compute_loss): it equals smoothed cross-entropy over the trained tokens."""
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM

    from lamstudio.train._trainer import token_loss

    model = AutoModelForCausalLM.from_pretrained(assets["model"]).eval()
    ids, labels = _batch()
    with torch.no_grad():
        out = token_loss(_fake_trainer(0.1), model,
                         {"input_ids": ids, "labels": labels.clone()}, None, return_outputs, None)
        got = out[0] if return_outputs else out
        logits = model(input_ids=ids).logits[:, :-1]
    target = labels[:, 1:]
    keep = target != -100
    want = F.cross_entropy(logits[keep], target[keep], label_smoothing=0.1)
    plain = F.cross_entropy(logits[keep], target[keep])
    torch.testing.assert_close(got, want)
    assert not torch.isclose(got, plain)


@pytest.mark.parametrize("option", [{"neftune_alpha": 15.0}, {"label_smoothing": 0.1}])
def test_loss_options_reach_a_real_training_step(assets: dict[str, Path], tmp_path: Path,
                                                 option: dict[str, float]) -> None:
    """Same seed, data and weights: the first logged training loss of a real run changes
    only through the option (NEFTune noise on the input embeddings; label smoothing, whose
    exact value ``test_label_smoothing_is_applied_to_trained_tokens`` checks)."""

    def first_loss(name: str, extra: dict[str, float]) -> float:
        run(assets, tmp_path / name, train={
            "mode": "full", "max_steps": 1, "logging_steps": 1, "save_steps": 1, **extra})
        state = json.loads((tmp_path / name / "checkpoints" / "checkpoint-1" /
                            "trainer_state.json").read_text())
        return next(h["loss"] for h in state["log_history"] if "loss" in h)

    plain, plain_again = first_loss("a", {}), first_loss("b", {})
    changed = first_loss("c", option)
    assert plain == plain_again  # the comparison is deterministic
    assert changed != plain
