"""The segment cache gives exactly the tokens of plain batched tokenization, or turns off."""

from __future__ import annotations

from lamstudio.render import Renderer
from lamstudio.render._tokenize import SegmentTokenizer

from .conftest import corpus, weather_record


def _texts(renderer: Renderer) -> list[str]:
    records = [weather_record(id=str(k), system=f"Policy {k % 3}. " * 40) for k in range(12)]
    return [renderer.render_with_spans(t)[0] for t in records]


def test_cached_tokens_equal_plain_tokens(tokenizer, hermes_tokenizer):
    for tok in (tokenizer, hermes_tokenizer):
        texts = _texts(Renderer(tok))
        seg = SegmentTokenizer(tok)
        plain = tok(texts, add_special_tokens=False, return_offsets_mapping=True)
        for _ in range(2):  # the first call verifies, the second uses the cache only
            ids, offsets = seg(texts)
            assert ids == plain["input_ids"]
            assert [list(map(tuple, o)) for o in offsets] == \
                [list(map(tuple, o)) for o in plain["offset_mapping"]]
        assert seg.enabled and seg.hits > 0


def test_a_full_cache_is_emptied_without_losing_pieces(tokenizer):
    # Regression: the cache used to be cleared after it had been consulted, so a piece
    # judged cached was gone when the batch was assembled (KeyError past 20k entries).
    texts = _texts(Renderer(tokenizer))
    plain = tokenizer(texts, add_special_tokens=False)["input_ids"]
    seg = SegmentTokenizer(tokenizer)
    seg.MAX_ENTRIES = 1
    for _ in range(3):
        assert seg(texts)[0] == plain
    assert seg.enabled and seg.hits > 0


def test_cache_turns_itself_off_when_pieces_tokenize_differently(tmp_path):
    """Metaspace with prepend_scheme="first" marks only the first piece of a text with a
    word boundary, so pieces tokenized alone differ: the check must catch it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
    tok.decoder = decoders.Metaspace(prepend_scheme="first")
    tok.train_from_iterator(corpus(100), trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>", "<|end|>", "<|user|>"], show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>",
                                   additional_special_tokens=["<|user|>"])
    texts = [("<|user|>" + "weather in Paris " * 20) * 2 + "<|end|>"] * 3
    seg = SegmentTokenizer(fast)
    ids, _ = seg(texts)
    assert ids == fast(texts, add_special_tokens=False)["input_ids"]
    assert not seg.enabled


def test_renderer_with_and_without_cache_agree(tokenizer):
    records = [weather_record(id=str(k), system="A long shared policy. " * 30)
               for k in range(5)]
    a = Renderer(tokenizer).encode_batch(records)
    b = Renderer(tokenizer, cache_segments=False).encode_batch(records)
    assert [(e.input_ids, e.labels) for e in a] == [(e.input_ids, e.labels) for e in b]
