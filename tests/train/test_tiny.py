"""Tiny models for offline use: a BPE trained on the data, a Llama built from a config."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from lamstudio.render import DEFAULT_SPECIAL_TOKENS, EOS_TOKEN, PAD_TOKEN
from lamstudio.train import SIZES, build_model, count_params, train_tokenizer
from lamstudio.train._tiny import model_config

torch.set_num_threads(1)


def test_tokenizer_round_trips_with_specials_and_split_digits(assets: dict[str, Path]) -> None:
    tok = AutoTokenizer.from_pretrained(assets["tokenizer"])
    assert tok.eos_token == EOS_TOKEN and tok.pad_token == PAD_TOKEN
    assert tok.pad_token_id == 0  # pad first
    for special in DEFAULT_SPECIAL_TOKENS:
        assert tok.convert_tokens_to_ids(special) != tok.unk_token_id
        assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1
    text = "<|user|>Convert 4096 USD<|end|>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    digits = [t for t in tok.convert_ids_to_tokens(ids) if any(c.isdigit() for c in t)]
    assert digits == ["4", "0", "9", "6"]  # one token per digit, however often "4096" occurs
    assert tok.chat_template  # ships render's default template


def test_small_data_gives_a_smaller_vocab_and_tiny_targets_are_refused(tmp_path: Path) -> None:
    texts = ["the same sentence again"] * 50
    tok = train_tokenizer(texts, 8000, tmp_path / "t")
    assert 256 < len(tok) < 8000  # ran out of merges: the truth is len(tok)
    cfg = model_config("nano", tok)
    assert cfg.vocab_size >= len(tok) and cfg.vocab_size % 64 == 0
    with pytest.raises(ValueError, match="too small"):
        train_tokenizer(texts, 100, tmp_path / "t2")


def test_custom_special_tokens_get_roles_by_name(tmp_path: Path) -> None:
    tok = train_tokenizer(["hello world"] * 5, 400, tmp_path / "t",
                          special_tokens=["<pad>", "<s>", "</s>"])
    assert (tok.pad_token, tok.bos_token, tok.eos_token) == ("<pad>", "<s>", "</s>")


def test_sizes_have_the_documented_parameter_counts() -> None:
    class Vocab8k:
        bos_token_id, eos_token_id, pad_token_id = None, 1, 0

        def __len__(self) -> int:
            return 8000

    counts = {s: count_params(build_model(s, Vocab8k())) for s in SIZES}
    assert 1e6 <= counts["nano"] <= 2e6
    assert 5.5e6 <= counts["tiny"] <= 7e6
    assert 25e6 <= counts["small"] <= 40e6


def test_built_model_loads_back_with_identical_logits(assets: dict[str, Path],
                                                      tmp_path: Path) -> None:
    built = build_model({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                         "num_attention_heads": 2, "num_key_value_heads": 1},
                        assets["tokenizer"], tmp_path / "m", seed=3).eval()
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "m").eval()
    assert AutoTokenizer.from_pretrained(tmp_path / "m").eos_token == EOS_TOKEN
    ids = torch.tensor([[3, 4, 5, 6]])
    with torch.no_grad():
        torch.testing.assert_close(built(ids).logits, loaded(ids).logits)
    assert loaded.config.num_key_value_heads == 1
