"""The tokenizer in a GGUF file: ``tokenizer.ggml.*`` as llama.cpp reads a byte-level BPE.

Two ways, the more faithful first:

* the model was prepared from a GGUF (``lamstudio.models``): its ``tokenizer.ggml.*`` keys
  are copied from that file, once its token list is checked to be this tokenizer's;
* otherwise they are built from the Hugging Face tokenizer as llama.cpp's converter does
  (tokens by id, ``[PADn]`` for embedding rows no token uses, control / user-defined types
  for added tokens, merges, special ids). ``tokenizer.ggml.pre`` names the regex llama.cpp
  splits text with before BPE; it is chosen from the tokenizer's own pre-tokenizer, and a
  pre-tokenizer none of the known names reproduces is refused: a wrong one would tokenize
  differently from training, silently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lamstudio.io import JsonValueError, parse_json
from lamstudio.train._errors import TrainError

# Qwen2's split regex (tokenizer.json), which llama.cpp knows as the "qwen2" pre-tokenizer.
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+"
               r"[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
_BYTE_LEVEL_NO_REGEX = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}
_DIGITS = {"type": "Digits", "individual_digits": True}
_QWEN2_SPLIT = {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated",
                "invert": False}


def _is(node: Any, want: dict[str, Any]) -> bool:
    return isinstance(node, dict) and all(node.get(k) == v for k, v in want.items())


def pre_name(spec: dict[str, Any]) -> str:
    """llama.cpp's ``tokenizer.ggml.pre`` that splits text as ``spec`` (tokenizer.json) does.

    gpt-2: the GPT-2 regex alone; smollm: single digits first, then the GPT-2 regex (SmolLM's
    tokenizer, and the ones ``lamstudio build-tokenizer`` trains); qwen2: Qwen2's regex (its
    NFC normalizer is the one difference llama.cpp is known to ignore).
    """
    pre, norm = spec.get("pre_tokenizer"), spec.get("normalizer")
    steps = pre.get("pretokenizers") if _is(pre, {"type": "Sequence"}) else [pre]
    steps = steps if isinstance(steps, list) else [pre]
    if norm is None and len(steps) == 1 and _is(steps[0], _BYTE_LEVEL):
        return "gpt-2"  # llama.cpp's spelling; "gpt2" fails to load
    if norm is None and len(steps) == 2 and _is(steps[0], _DIGITS) \
            and _is(steps[1], _BYTE_LEVEL):
        return "smollm"
    if (norm is None or _is(norm, {"type": "NFC"})) and len(steps) == 2 \
            and _is(steps[0], _QWEN2_SPLIT) and _is(steps[1], _BYTE_LEVEL_NO_REGEX):
        return "qwen2"
    kinds = [s.get("type") if isinstance(s, dict) else None for s in steps]
    raise TrainError(f"GGUF export: the tokenizer's pre-tokenizer ({kinds}, normalizer "
                     f"{(norm or {}).get('type')}) is none llama.cpp reproduces (gpt-2, "
                     "smollm, qwen2); the file would tokenize differently from training")


def _spec(tokenizer: Any) -> dict[str, Any]:
    if not getattr(tokenizer, "is_fast", False):
        raise TrainError("GGUF export needs a fast (tokenizer.json) tokenizer")
    try:
        spec = parse_json(tokenizer.backend_tokenizer.to_str())
    except JsonValueError as exc:
        raise TrainError(f"GGUF export: cannot read the tokenizer ({exc})") from None
    model = spec.get("model") if isinstance(spec, dict) else None
    if not _is(model, {"type": "BPE"}) or model.get("byte_fallback"):
        kind = model.get("type") if isinstance(model, dict) else None
        raise TrainError(f"GGUF export supports byte-level BPE tokenizers, not {kind}")
    return spec


def _looks_special(token: str) -> bool:
    """llama.cpp's converter marks these control tokens even when not flagged special."""
    return (token.startswith("<|") and token.endswith("|>")) or token in (
        "<pad>", "<mask>", "<unk>", "<s>", "</s>", "<bos>", "<eos>")


def token_list(tokenizer: Any, vocab_size: int) -> tuple[list[str], list[int]]:
    """Tokens by id and their llama.cpp types, padded to the embedding's rows."""
    from gguf import TokenType

    vocab = tokenizer.get_vocab()
    if max(vocab.values()) >= vocab_size:
        raise TrainError(f"GGUF export: the tokenizer has ids up to {max(vocab.values())} but "
                         f"the model's embedding has {vocab_size} rows")
    by_id = {i: t for t, i in vocab.items()}
    added = tokenizer.added_tokens_decoder
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(int(TokenType.UNUSED))
        elif i in added:
            tok = added[i]
            text = tok.content
            if not tok.normalized:  # llama.cpp expects added tokens as plain text
                text = tokenizer.decode(tokenizer.encode(text, add_special_tokens=False))
            tokens.append(text)
            special = tok.special or _looks_special(text)
            types.append(int(TokenType.CONTROL if special else TokenType.USER_DEFINED))
        else:
            tokens.append(by_id[i])
            types.append(int(TokenType.NORMAL))
    return tokens, types


def _adds(tokenizer: Any) -> tuple[bool, bool]:
    """Whether the tokenizer puts bos / eos around a text by itself."""
    ids = tokenizer("a")["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    return (bos is not None and ids[:1] == [bos], eos is not None and ids[-1:] == [eos])


def plan_vocab(tokenizer: Any, vocab_size: int, source: Path | None
               ) -> tuple[Callable[[Any], None], str]:
    """How to write ``tokenizer.ggml.*`` (copied from ``source`` when its tokens are this
    tokenizer's, else built) and a line saying which; decided once, refusals included,
    before any file is opened."""
    fields = _matching_fields(source, tokenizer, vocab_size) if source is not None else None
    if fields is not None:
        assert source is not None
        return (lambda writer: _write_fields(writer, fields)), f"copied from {source.name}"
    spec = _spec(tokenizer)
    pre = pre_name(spec)
    tokens, types = token_list(tokenizer, vocab_size)
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]

    def write(writer: Any) -> None:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(pre)
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_merges(merges)
        _write_ids(writer, tokenizer)

    return write, f"built from the tokenizer (pre: {pre})"


def _write_ids(writer: Any, tokenizer: Any) -> None:
    for tok_id, add in ((tokenizer.bos_token_id, writer.add_bos_token_id),
                        (tokenizer.eos_token_id, writer.add_eos_token_id),
                        (tokenizer.pad_token_id, writer.add_pad_token_id),
                        (tokenizer.unk_token_id, writer.add_unk_token_id)):
        if tok_id is not None:
            add(tok_id)
    add_bos, add_eos = _adds(tokenizer)
    writer.add_add_bos_token(add_bos)
    writer.add_add_eos_token(add_eos)


def _matching_fields(source: Path, tokenizer: Any, vocab_size: int
                     ) -> list[tuple[str, Any, Any, Any]] | None:
    """``tokenizer.ggml.*`` of the GGUF the model was prepared from, when its token list is
    exactly this tokenizer's (padded to ``vocab_size``); None when it is not."""
    from gguf import GGUFReader, GGUFValueType

    try:
        found = {k: f for k, f in GGUFReader(source).fields.items()
                 if k.startswith("tokenizer.ggml.")}
        theirs = found["tokenizer.ggml.tokens"].contents()
        ours = token_list(tokenizer, vocab_size)[0]
    except (OSError, ValueError, KeyError, TrainError):
        return None
    if theirs != ours:
        return None
    fields = []
    for key, field in found.items():
        kind = field.types[0]
        fields.append((key, field.contents(), kind,
                       field.types[-1] if kind == GGUFValueType.ARRAY else None))
    return fields


def _write_fields(writer: Any, fields: list[tuple[str, Any, Any, Any]]) -> None:
    for key, value, kind, sub in fields:
        writer.add_key_value(key, value, kind, sub_type=sub)
