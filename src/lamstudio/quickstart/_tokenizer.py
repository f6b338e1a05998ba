"""The quickstart's chat template and tokenizer.

The tokenizer is a byte-level BPE trained on the *rendered* training text (what the model
reads). Every space is split off as its own token before BPE: a byte-level BPE normally
glues a space to the next word, so "in Paris" has the token " Paris" while the JSON answer
``"city":"Paris"`` needs "Paris", and the model would have to learn a lookup from one token
to the other for every value, which does not transfer to values never seen in training.
With spaces split off, a value is the same token sequence in the query and in the call.

Digits: the byte-level pre-tokenizer already cuts a digit run out of its surroundings, so a
number is the same token sequence in the query and in the call whether or not BPE merges
digits. Merged digit runs (the default, ``split_digits=False``) make every example ~5%
shorter and give the model fewer, less ambiguous tokens to copy ("2027" rather than
2, 0, 2, 7, where "2" occurs twice); docs/quickstart_experiments.md has the measurements.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any


def quickstart_template() -> str:
    """The default template's turns and calls with tools as one-line signatures."""
    path = resources.files("lamstudio") / "data" / "quickstart" / "chat_template.jinja"
    return path.read_text(encoding="utf-8")


def _byte_tokenizer(specials: list[str]) -> Any:
    """A merge-free byte-level tokenizer: only used to render text through ``Renderer``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(specials + sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>",
                                   additional_special_tokens=specials)


def rendered_texts(train_path: str | os.PathLike[str], template: str,
                   limit: int | None = None) -> Iterator[str]:
    """The first ``limit`` (default: all) training records as the model will read them."""
    from lamstudio.render import DEFAULT_SPECIAL_TOKENS, Renderer
    from lamstudio.schema import Trajectory

    renderer = Renderer(_byte_tokenizer(list(DEFAULT_SPECIAL_TOKENS)), template=template)
    with open(train_path, encoding="utf-8") as fh:
        for line in islice(fh, limit):
            yield renderer.render_with_spans(Trajectory.model_validate(json.loads(line)))[0]


def build_tokenizer(train_path: str | os.PathLike[str], vocab_size: int,
                    out_dir: str | os.PathLike[str], template: str,
                    split_digits: bool = False, max_records: int | None = 20000) -> Any:
    """Train the BPE on (the first ``max_records`` of) the rendered training split; save it
    with ``template`` attached. The records are generated in random order, so a prefix
    covers every tool and template; more text only costs time."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from lamstudio.render import DEFAULT_SPECIAL_TOKENS, EOS_TOKEN, PAD_TOKEN

    specials = list(DEFAULT_SPECIAL_TOKENS)
    tok = Tokenizer(models.BPE())
    steps = [pre_tokenizers.Split(" ", "isolated")]
    if split_digits:
        steps.append(pre_tokenizers.Digits(individual_digits=True))
    steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(rendered_texts(train_path, template, max_records), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN,
        additional_special_tokens=[s for s in specials if s not in (EOS_TOKEN, PAD_TOKEN)],
        clean_up_tokenization_spaces=False)
    fast.chat_template = template
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out)
    return fast
