"""Packing: best-fit decreasing, overflow policy, stats, and no cross-example attention."""

from __future__ import annotations

import random

import pytest

from lamstudio.render import (
    IGNORE_INDEX,
    Encoded,
    Renderer,
    collate_packed,
    collate_padded,
    pack,
)

from .conftest import weather_record


def _example(n: int, k: int = 0, trained_from: int = 1) -> Encoded:
    ids = [(k * 7 + i) % 50 + 10 for i in range(n)]
    labels = [IGNORE_INDEX] * trained_from + ids[trained_from:]
    return Encoded(ids, labels, id=f"ex{k}", n_trained=n - trained_from)


def test_every_example_is_placed_once_and_no_sequence_overflows():
    rng = random.Random(0)
    examples = [_example(rng.randint(2, 300), k) for k in range(500)]
    result = pack(examples, 512)
    placed = sorted(i for s in result.sequences for i in s.ids)
    assert placed == sorted(e.id for e in examples)
    assert all(len(s) <= 512 and len(s) == sum(s.seq_lens) for s in result.sequences)
    assert result.stats.n_tokens == sum(len(e) for e in examples)
    # Best fit decreasing on these sizes is within a couple of bins of the lower bound.
    lower_bound = -(-result.stats.n_tokens // 512)
    assert result.stats.n_sequences <= lower_bound + 2
    assert result.stats.efficiency > 0.97


def test_position_ids_restart_and_first_label_of_each_example_is_masked():
    seq = pack([_example(5, 0, trained_from=0), _example(3, 1, trained_from=0)], 16).sequences
    assert len(seq) == 1
    s = seq[0]
    assert s.position_ids == [0, 1, 2, 3, 4, 0, 1, 2]
    assert s.seq_lens == [5, 3]
    # Without this the last token of one example would be trained to predict the next.
    assert s.labels[0] == IGNORE_INDEX and s.labels[5] == IGNORE_INDEX
    assert s.labels[1:5] == s.input_ids[1:5]


def test_overflow_drop_and_truncate_are_counted():
    examples = [_example(10, 0), _example(40, 1), _example(30, 2, trained_from=25)]
    dropped = pack(examples, 20, overflow="drop")
    assert dropped.stats.n_dropped == 2 and dropped.stats.n_truncated == 0
    assert dropped.stats.dropped_ids == ["ex1", "ex2"]
    cut = pack(examples, 20, overflow="truncate")
    # ex2 has its trained tokens beyond position 20: cut to nothing trained, so dropped.
    assert cut.stats.n_truncated == 2 and cut.stats.n_dropped == 1
    assert sorted(len(s) for s in cut.sequences) == [10, 20]


def test_packing_100k_examples_places_all_of_them_efficiently():
    # Scale, not speed: bench/prepare.py measures packing time.
    rng = random.Random(1)
    lengths = [rng.randint(20, 600) for _ in range(100_000)]
    shared = {n: [1] * n for n in set(lengths)}  # share lists: building 31M ids is not the point
    examples = [Encoded(shared[n], shared[n], id=str(k)) for k, n in enumerate(lengths)]
    result = pack(examples, 2048)
    assert result.stats.n_examples == 100_000
    assert sum(len(s.ids) for s in result.sequences) == 100_000
    assert all(len(s) <= 2048 for s in result.sequences)
    assert result.stats.efficiency > 0.99


@pytest.fixture(scope="module")
def tiny_llama(tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(min(2, torch.get_num_threads()))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024)
    return LlamaForCausalLM(config).float().eval()


def _per_example_losses(model, batch: dict, attn: str) -> list[float]:
    """Summed token loss of each example in each row (reading seq_lens from position_ids)."""
    import torch

    model.config._attn_implementation = attn
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        logits = model(**inputs).logits.float()
    labels = batch["labels"]
    token_loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].transpose(1, 2), labels[:, 1:], ignore_index=IGNORE_INDEX,
        reduction="none")
    losses = []
    for row in range(labels.shape[0]):
        pos = batch["position_ids"][row].tolist()
        starts = [i for i, p in enumerate(pos) if p == 0] + [len(pos)]
        for a, b in zip(starts, starts[1:], strict=False):
            if (labels[row, a:b] != IGNORE_INDEX).any():
                # token_loss[t] is the loss of label t+1
                losses.append(float(token_loss[row, a:b - 1].sum()))
    return losses


def _encoded(tokenizer) -> list[Encoded]:
    renderer = Renderer(tokenizer)
    base = weather_record()
    records = [base,
               weather_record(id="w2", messages=base.messages[:4]),
               weather_record(id="w3", system=None, messages=base.messages[:2]),
               weather_record(id="w4", tools=[], messages=[base.messages[0], base.messages[3]])]
    return renderer.encode_batch(records)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_loss_equals_alone_loss(tokenizer, tiny_llama, attn):
    examples = _encoded(tokenizer)
    alone = []
    for e in examples:
        batch = collate_padded([e], tokenizer.pad_token_id)
        batch["position_ids"] = batch["attention_mask"].cumsum(-1) - 1
        alone += _per_example_losses(tiny_llama, batch, attn)
    result = pack(examples, 512)
    assert len(result.sequences) == 2  # 318 + 3 short ones, two rows of different widths
    batch = collate_packed(result.sequences, tokenizer.pad_token_id, attn_implementation=attn)
    order = [i for s in result.sequences for i in s.ids]
    packed = dict(zip(order, _per_example_losses(tiny_llama, batch, attn), strict=True))
    for e, loss in zip(examples, alone, strict=True):
        assert packed[e.id] == pytest.approx(loss, rel=1e-5, abs=1e-4)


def test_without_the_block_mask_examples_contaminate_each_other(tokenizer, tiny_llama):
    """The control for the test above: a plain causal mask over the packed row changes
    the losses of every example after the first, so the equality above is not vacuous."""
    import torch

    examples = _encoded(tokenizer)
    result = pack(examples, 1024)
    assert len(result.sequences) == 1
    batch = collate_packed(result.sequences, tokenizer.pad_token_id)
    leaky = dict(batch)
    leaky["attention_mask"] = torch.ones(1, len(result.sequences[0]), dtype=torch.long)
    good = _per_example_losses(tiny_llama, batch, "sdpa")
    bad = _per_example_losses(tiny_llama, leaky, "sdpa")
    assert good[0] == pytest.approx(bad[0], rel=1e-5)
    assert all(abs(g - b) > 1e-3 for g, b in zip(good[1:], bad[1:], strict=True))


def test_flash_layout_is_one_flat_row_with_cu_seqlens(tokenizer):
    examples = _encoded(tokenizer)
    result = pack(examples, 400)
    batch = collate_packed(result.sequences, 0, attn_implementation="flash_attention_2")
    total = sum(len(e) for e in examples)
    assert batch["input_ids"].shape == (1, total)
    assert "attention_mask" not in batch
    lens = [n for s in result.sequences for n in s.seq_lens]
    assert batch["cu_seq_lens_q"].tolist() == [sum(lens[:k]) for k in range(len(lens) + 1)]
    assert batch["max_length_q"] == max(lens)
    with pytest.raises(ValueError, match="not supported"):
        collate_packed(result.sequences, 0, attn_implementation="flex_attention")
