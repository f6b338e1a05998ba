"""``lamstudio export --gguf``: a model folder or a run -> GGUF files llama.cpp and transformers
load with the source model's logits, tokenizer and chat template (tiny models, seconds)."""

from __future__ import annotations

import json
import os
import resource
import signal
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader, TokenType
from gguf_helpers import (
    TEXTS,
    byte_bpe,
    hf_greedy,
    hf_logits,
    llama,
    llama_greedy,
    llama_logits,
    load_gguf_in_transformers,
    needs_llama_cpp,
    tiny_model,
)
from tests.support.hostile import ARGUMENT_STRINGS, REPLY_TEXTS, ROLE_FORGERY, deep_json
from train_helpers import recipe
from transformers import AutoTokenizer
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.render import DEFAULT_TEMPLATE, Renderer
from lamstudio.train import TrainError, export, export_gguf, load_config, train

runner = CliRunner()
PROMPT = "What is the weather in Paris? It is 21 C."


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Tokenizers for each pre-tokenizer, a GQA llama and a qwen2 with biases."""
    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("gguf-tiny")
    toks = {pre: byte_bpe(pre, root / f"tok-{pre}") for pre in ("smollm", "gpt2", "qwen2")}
    models = {"llama": tiny_model("llama", toks["smollm"], root / "llama"),
              "qwen2": tiny_model("qwen2", toks["qwen2"], root / "qwen2")}
    return {"root": root, "tok": toks, "model": models}


def fields(path: Path) -> dict[str, Any]:
    return {k: f.contents() for k, f in GGUFReader(path).fields.items()}


def tensor_types(path: Path) -> dict[str, GGMLQuantizationType]:
    return {t.name: t.tensor_type for t in GGUFReader(path).tensors}


# ----- the file and its metadata --------------------------------------------------------

def test_f16_and_q8_0_files_carry_arch_tokenizer_template_and_lamstudio_keys(
        tiny: dict[str, Any], tmp_path: Path) -> None:
    files = export_gguf(tiny["root"] / "llama", tmp_path, ["f16", "q8_0"], progress=False)
    assert [(f.type, f.path.name) for f in files] == [("f16", "llama-f16.gguf"),
                                                      ("q8_0", "llama-q8_0.gguf")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llama-f16.gguf", "llama-q8_0.gguf"]
    tok = tiny["tok"]["smollm"]
    meta = fields(files[1].path)
    config = tiny["model"]["llama"].config
    assert meta["general.architecture"] == "llama"
    assert meta["general.file_type"] == 7  # MOSTLY_Q8_0
    assert (meta["llama.block_count"], meta["llama.embedding_length"],
            meta["llama.feed_forward_length"]) == (2, 64, 128)
    assert (meta["llama.attention.head_count"], meta["llama.attention.head_count_kv"]) == (4, 2)
    assert meta["llama.context_length"] == 512
    assert meta["llama.rope.dimension_count"] == 16
    assert meta["llama.rope.freq_base"] == pytest.approx(10000.0)
    assert meta["llama.attention.layer_norm_rms_epsilon"] == pytest.approx(1e-5)
    # The tokenizer: lamstudio's own (single digits, then GPT-2's regex) is llama.cpp's smollm.
    assert (meta["tokenizer.ggml.model"], meta["tokenizer.ggml.pre"]) == ("gpt2", "smollm")
    tokens, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    assert len(tokens) == config.vocab_size > len(tok)  # padded to the embedding's rows
    assert tokens[len(tok):] == [f"[PAD{i}]" for i in range(len(tok), config.vocab_size)]
    assert set(types[len(tok):]) == {TokenType.UNUSED}
    assert tokens[tok.eos_token_id] == "<|end|>" and types[tok.eos_token_id] == TokenType.CONTROL
    assert meta["tokenizer.ggml.eos_token_id"] == tok.eos_token_id
    assert meta["tokenizer.ggml.padding_token_id"] == tok.pad_token_id
    assert meta["tokenizer.ggml.add_bos_token"] is False
    assert len(meta["tokenizer.ggml.merges"]) > 100
    # The exact template lamstudio renders this model with, and its call format.
    assert meta["tokenizer.chat_template"] == Renderer(tok).template == DEFAULT_TEMPLATE
    assert (meta["lamstudio.template"], meta["lamstudio.call_style"]) == ("default", "marker")
    assert meta["lamstudio.tokenizer"] == "built from the tokenizer (pre: smollm)"
    # Tied embeddings: no output tensor; norms stay F32, weights are Q8_0.
    types_ = tensor_types(files[1].path)
    assert "output.weight" not in types_ and "token_embd.weight" in types_
    assert types_["blk.0.attn_norm.weight"] == GGMLQuantizationType.F32
    assert types_["blk.0.attn_q.weight"] == GGMLQuantizationType.Q8_0
    assert tensor_types(files[0].path)["blk.0.ffn_down.weight"] == GGMLQuantizationType.F16


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_the_file_loads_in_transformers_with_the_source_logits(
        tiny: dict[str, Any], tmp_path: Path, kind: str) -> None:
    """f32 is exact (the Q/K permutation for llama's rotary layout undone by transformers'
    reader); f16 stays within its rounding and picks the same tokens; q8_0 stays close."""
    source = tiny["model"][kind]
    tok = tiny["tok"]["smollm" if kind == "llama" else "qwen2"]
    ids = tok(PROMPT)["input_ids"]
    ref = hf_logits(source, ids)
    scale = float(np.abs(ref).max())
    files = export_gguf(tiny["root"] / kind, tmp_path, ["f32", "f16", "q8_0"], progress=False)
    tolerance = {"f32": 0.0, "f16": 0.01, "q8_0": 0.12}
    for f in files:
        loaded = load_gguf_in_transformers(f.path)
        assert type(loaded).__name__ == type(source).__name__
        got = hf_logits(loaded, ids)
        assert float(np.abs(got - ref).max()) <= tolerance[f.type] * scale, f.type
        if f.type != "q8_0":
            assert (got.argmax(-1) == ref.argmax(-1)).all(), f.type
    assert ("output.weight" in tensor_types(files[0].path)) == (kind == "qwen2")  # untied
    if kind == "qwen2":
        assert "blk.0.attn_q.bias" in tensor_types(files[0].path)
    # The tokenizer transformers builds from the file (what ``--model file.gguf`` prepares)
    # splits text as the source's does and renders with the same template.
    back = AutoTokenizer.from_pretrained(str(tmp_path), gguf_file=files[1].path.name)
    for text in TEXTS:
        assert back(text)["input_ids"] == tok(text)["input_ids"], text
    assert Renderer(back).template == Renderer(tok).template


# ----- llama.cpp ----------------------------------------------------------------------------

@needs_llama_cpp
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_llama_cpp_loads_every_type_and_agrees_with_transformers(
        tiny: dict[str, Any], tmp_path: Path, kind: str) -> None:
    """f32 / f16 in llama.cpp: the source's logits (within f16 rounding) and its greedy
    tokens. The quantized files: llama.cpp computes what transformers computes on the same
    file (llama.cpp also rounds activations to 8 bits in quantized products)."""
    source = tiny["model"][kind]
    tok = tiny["tok"]["smollm" if kind == "llama" else "qwen2"]
    ids = tok(PROMPT)["input_ids"]
    ref = hf_logits(source, ids)
    ref_greedy = hf_greedy(source, ids, 16, tok.eos_token_id)
    files = export_gguf(tiny["root"] / kind, tmp_path, ["f32", "f16", "q8_0", "q4_k_m"],
                        progress=False)
    assert fields(files[-1].path)["general.file_type"] == 15  # llama.cpp's MOSTLY_Q4_K_M
    assert fields(files[-1].path)["lamstudio.call_style"] == "marker"  # kept by requantizing
    for f in files:
        with llama(f.path) as llm:
            got = llama_logits(llm, ids)
            greedy = llama_greedy(llm, ids, 16)
        if f.type in ("f32", "f16"):
            want, tolerance = ref, 0.01
            assert greedy == ref_greedy, f.type
        else:
            want, tolerance = hf_logits(load_gguf_in_transformers(f.path), ids), 0.08
        scale = float(np.abs(want).max())
        assert float(np.abs(got - want).max()) <= tolerance * scale, f.type
        assert (got.argmax(-1) == want.argmax(-1)).mean() >= 0.85, f.type


@needs_llama_cpp
def test_q8_0_written_in_numpy_is_llama_cpp_s_own_q8_0(tiny: dict[str, Any],
                                                       tmp_path: Path) -> None:
    """Without llama.cpp installed q8_0 is still llama.cpp's q8_0, bit for bit."""
    from lamstudio.train._gguf_write import llama_cpp_quantize

    f32, q8 = export_gguf(tiny["root"] / "llama", tmp_path, ["f32", "q8_0"], progress=False)
    theirs = tmp_path / "theirs.gguf"
    llama_cpp_quantize(f32.path, theirs, 7)  # LLAMA_FTYPE_MOSTLY_Q8_0
    ours = {t.name: (t.tensor_type, bytes(t.data)) for t in GGUFReader(q8.path).tensors}
    assert ours == {t.name: (t.tensor_type, bytes(t.data))
                    for t in GGUFReader(theirs).tensors}


# Hostile text from the shared catalogue (what a model or a user may put in a message),
# those a tokenizer can take: UTF-8 encodable, and short enough to tokenize in a test.
HOSTILE = {f"hostile:{k}": t for k, t in (*REPLY_TEXTS.items(), *ARGUMENT_STRINGS.items())
           if len(t) < 20_000 and "\ud800" not in t}
SPLIT_TEXTS = {**{f"text{k}": t for k, t in enumerate(TEXTS)}, **HOSTILE,
               "role_forgery": ROLE_FORGERY,
               "markup": "<|user|>hi<|end|>\n<|assistant|>[TOOL_CALLS]"}


@pytest.fixture(scope="module")
def vocab_files(tiny: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
                ) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gguf-vocab")
    files = {}
    for pre, tok in tiny["tok"].items():
        tiny_model("llama", tok, root / pre)
        files[pre] = export_gguf(root / pre, root / "out", ["f16"], progress=False)[0].path
    return files


@needs_llama_cpp
@pytest.mark.parametrize("pre", ["smollm", "gpt2", "qwen2"])
@pytest.mark.parametrize("name", list(SPLIT_TEXTS))
def test_llama_cpp_tokenizes_text_exactly_as_the_source_tokenizer(
        tiny: dict[str, Any], vocab_files: dict[str, Path], pre: str, name: str) -> None:
    """The chosen ``tokenizer.ggml.pre`` reproduces the tokenizer's own splitting, control
    tokens in text included (as text without parse_special, as markup with it)."""
    import unicodedata

    text, tok, path = SPLIT_TEXTS[name], tiny["tok"][pre], vocab_files[pre]
    assert fields(path)["tokenizer.ggml.pre"] == {"gpt2": "gpt-2"}.get(pre, pre)
    if pre == "qwen2" and unicodedata.normalize("NFC", text) != text:
        pytest.skip("Qwen2 normalizes to NFC first; llama.cpp does not (known upstream)")
    raw = text.encode("utf-8")
    with llama(path, vocab_only=True) as llm:
        assert llm.tokenize(raw, add_bos=False, special=True) == tok(text)["input_ids"]
        assert llm.tokenize(raw, add_bos=False, special=False) == tok(
            text, split_special_tokens=True)["input_ids"]


# ----- runs, refusals, atomic files, the command ---------------------------------------------

@pytest.fixture(scope="module")
def lora_run(assets: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("gguf-run") / "run"
    raw = recipe(assets, run_dir, train={"lr": 5e-2, "max_steps": 3, "save_steps": 10},
                 data={"template": "chatml_tools"})
    with warnings.catch_warnings():  # the nano vocabulary has no ChatML tokens: it splits them
        warnings.simplefilter("ignore", UserWarning)
        train(load_config(base=raw))
    return run_dir


@pytest.mark.filterwarnings("ignore:the chatml_tools template's tokens")
def test_a_run_is_merged_first_and_keeps_its_template(lora_run: Path, tmp_path: Path) -> None:
    """The LoRA adapter is in the file's weights (= the merged HF export, != the base), and
    the template is the run's ``data.template``, not what the base folder would pick."""
    merged = export(lora_run, tmp_path / "merged")
    path = export_gguf(lora_run, tmp_path / "gguf", ["f32"], progress=False)[0].path
    assert path.name == "run-f32.gguf"
    from transformers import AutoModelForCausalLM

    tok = AutoTokenizer.from_pretrained(merged)
    ids = tok(PROMPT)["input_ids"]
    want = hf_logits(AutoModelForCausalLM.from_pretrained(merged), ids)
    base = json.loads((lora_run / "run.json").read_text())["base_model"]
    before = hf_logits(AutoModelForCausalLM.from_pretrained(base), ids)
    got = hf_logits(load_gguf_in_transformers(path), ids)
    assert np.abs(got - want).max() < 1e-4 < np.abs(got - before).max()
    meta = fields(path)
    assert meta["lamstudio.template"] == "chatml_tools"
    assert meta["lamstudio.call_style"] == "fence"
    assert meta["tokenizer.chat_template"] == Renderer(tok, template="chatml_tools").template
    assert meta["lamstudio.source"].startswith("run ")
    # Loaded back (``--model file.gguf``), the template is recognised by name: the same
    # rendering, and the same call format for ``render_calls``.
    back = Renderer(AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name))
    assert (back.template_name, back.call_style) == ("chatml_tools", "fence")


@pytest.mark.parametrize("body", [deep_json(100_000).encode(), b'{"config": {}, "base_model": NaN}',
                                  b"[1, 2]", b"\xff\xfe{", b'{"config": {"model": {}}}'],
                         ids=["nested_100k", "nan", "not_object", "bad_utf8", "no_base"])
@pytest.mark.parametrize("gguf", [True, False])
def test_a_damaged_run_record_is_one_clear_error(tmp_path: Path, body: bytes,
                                                 gguf: bool) -> None:
    """run.json is read back from disk: outside bytes, through the hardened parser."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_bytes(body)
    res = runner.invoke(app, ["export", str(tmp_path / "run"), "-o", str(tmp_path / "out"),
                              *(["--gguf", "f16"] if gguf else [])])
    assert res.exit_code == 2, res.output
    assert "run.json" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


def test_unsupported_architecture_is_refused_in_one_line(assets: dict[str, Path],
                                                         tmp_path: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=1024)).save_pretrained(
        tmp_path / "gpt2")
    res = runner.invoke(app, ["export", str(tmp_path / "gpt2"), "--gguf", "f16",
                              "-o", str(tmp_path / "out")])
    assert res.exit_code == 2
    line = " ".join(res.output.split())
    assert "supports LlamaForCausalLM, Qwen2ForCausalLM, not GPT2LMHeadModel" in line
    assert "Traceback" not in res.output
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_pre_tokenizer_llama_cpp_cannot_reproduce_is_refused(tmp_path: Path) -> None:
    tok = byte_bpe("whitespace", tmp_path / "tok")
    tiny_model("llama", tok, tmp_path / "m")
    with pytest.raises(TrainError, match="none llama.cpp reproduces"):
        export_gguf(tmp_path / "m", tmp_path / "out", ["f16"], progress=False)
    assert not (tmp_path / "out").exists()  # refused before any file was opened


def test_unknown_types_and_a_missing_quantizer_are_refused_up_front(
        tiny: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = runner.invoke(app, ["export", str(tiny["root"] / "llama"), "--gguf", "f16,q3_x",
                              "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "'q3_x': unknown type" in res.output
    assert not (tmp_path / "out").exists()
    # Without llama-cpp-python the k-quants say how to get it; f16 / q8_0 still work.
    monkeypatch.setattr("lamstudio.train._gguf_types.has_llama_cpp", lambda: False)
    with pytest.raises(TrainError, match="q4_k_m needs llama.cpp's quantizer: pip install "
                                         "llama-cpp-python"):
        export_gguf(tiny["root"] / "llama", tmp_path / "out", ["q8_0", "q4_k_m"])
    assert not (tmp_path / "out").exists()


def test_an_interrupted_write_leaves_no_file_and_keeps_the_old_one(
        tiny: dict[str, Any], tmp_path: Path) -> None:
    """A write that fails half-way (here: the file-size limit, EFBIG) leaves neither a
    partial file nor a damaged target: the previous export is still there, whole."""
    old = export_gguf(tiny["root"] / "llama", tmp_path, ["f32"], progress=False)[0]
    before = old.path.read_bytes()
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, limits[1]))
    try:
        with pytest.raises(OSError):
            export_gguf(tiny["root"] / "llama", tmp_path, ["f32"], progress=False)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert os.listdir(tmp_path) == ["llama-f32.gguf"]
    assert old.path.read_bytes() == before


def test_the_command_takes_several_types_and_prints_sizes(tiny: dict[str, Any],
                                                          tmp_path: Path) -> None:
    res = runner.invoke(app, ["export", str(tiny["root"] / "llama"), "--gguf", "q8_0,f16",
                              "--gguf", "f16", "--name", "tiny agent", "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "exported q8_0:" in out and "exported f16:" in out and " MB, " in out
    assert sorted(os.listdir(tmp_path)) == ["tiny-agent-f16.gguf", "tiny-agent-q8_0.gguf"]


def test_a_checkpoint_needs_a_run(tiny: dict[str, Any], tmp_path: Path) -> None:
    res = runner.invoke(app, ["export", str(tiny["root"] / "llama"), "--gguf", "f16",
                              "--checkpoint", "checkpoint-2", "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--checkpoint needs a run directory" in res.output



def test_file_names_keep_a_dotted_folder_name(tiny: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "Agent-0.5B").symlink_to(tiny["root"] / "llama", target_is_directory=True)
    files = export_gguf(tmp_path / "Agent-0.5B", tmp_path / "out", ["f16"], progress=False)
    assert files[0].path.name == "Agent-0.5B-f16.gguf"
