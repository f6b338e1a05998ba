"""Which GGUF the llama.cpp engine runs and which tokenizer renders for it (no llama.cpp
needed): registry names, ``.gguf`` files, folders with or without their GGUF, and the
vocabulary check that refuses a GGUF made for another tokenizer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lamstudio.llm import LLMError, find_gguf, local_backend, vocab_problem
from lamstudio.llm._llamacpp import _chunks

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def packaged_gguf(smollm2_dir: Path) -> Path:
    from lamstudio.models import get_entry

    return get_entry("smollm2-135m").require_file()


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))


def test_a_registry_name_runs_its_packaged_gguf_with_its_prepared_folder(smollm2_dir,
                                                                          packaged_gguf):
    found = find_gguf("smollm2-135m")
    assert found.gguf == packaged_gguf and found.folder == smollm2_dir


def test_a_prepared_folder_finds_the_gguf_it_was_prepared_from(smollm2_dir, packaged_gguf):
    assert find_gguf(smollm2_dir).gguf == packaged_gguf


def test_a_gguf_file_is_run_as_given_and_rendered_by_its_prepared_folder(smollm2_dir,
                                                                         packaged_gguf):
    found = find_gguf(packaged_gguf)
    assert found.gguf == packaged_gguf
    assert (found.folder / "tokenizer.json").is_file()


def test_a_folder_with_gguf_flag_runs_that_file(smollm2_dir, packaged_gguf, tmp_path):
    other = tmp_path / "exported.Q8_0.gguf"
    other.symlink_to(packaged_gguf)
    assert find_gguf(smollm2_dir, gguf=str(other)) == type(find_gguf(smollm2_dir))(
        other, smollm2_dir)


def _plain_folder(smollm2_dir: Path, where: Path) -> Path:
    """A model folder that is not a prepared one (a fine-tuned model, say)."""
    folder = where / "my-model"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(smollm2_dir / name, folder / name)
    return folder


def test_a_folder_without_gguf_says_to_export_one_in_one_line(smollm2_dir, tmp_path):
    folder = _plain_folder(smollm2_dir, tmp_path)
    with pytest.raises(LLMError) as err:
        find_gguf(folder)
    msg = str(err.value)
    assert "\n" not in msg and err.value.status == 400
    assert f"lamstudio export --gguf q8_0 {folder} -o OUT" in msg and "--gguf" in msg


def test_a_folder_with_its_own_gguf_runs_it_and_two_are_ambiguous(smollm2_dir, packaged_gguf,
                                                                  tmp_path):
    folder = _plain_folder(smollm2_dir, tmp_path)
    (folder / "model.Q8_0.gguf").symlink_to(packaged_gguf)
    assert find_gguf(folder).gguf == folder / "model.Q8_0.gguf"
    (folder / "model.F16.gguf").symlink_to(packaged_gguf)
    with pytest.raises(LLMError, match="2 GGUF files .* --gguf FILE"):
        find_gguf(folder)


@pytest.mark.parametrize("bad", ["missing.gguf", "weights.bin"])
def test_a_gguf_flag_that_is_not_a_gguf_file_is_refused(smollm2_dir, tmp_path, bad):
    if bad.endswith(".bin"):
        (tmp_path / bad).write_bytes(b"\0" * 16)
    with pytest.raises(LLMError, match="no such GGUF file|not a .gguf file"):
        find_gguf(smollm2_dir, gguf=str(tmp_path / bad))


def test_the_packaged_gguf_and_its_tokenizer_agree_id_for_id(packaged_gguf, tokenizer):
    from gguf import GGUFReader

    field = GGUFReader(str(packaged_gguf)).fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
    assert len(tokens) == len(tokenizer) == 49152
    assert vocab_problem(tokens, tokenizer) is None


def test_a_vocabulary_that_differs_is_refused_with_where(tokenizer):
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    assert vocab_problem(tokens[:-1], tokenizer) == \
        "the GGUF has 49,151 tokens, the tokenizer 49,152"
    shifted = tokens[:100] + tokens[101:] + ["x"]
    assert "id 100 is" in vocab_problem(shifted, tokenizer)
    # Padding rows past the tokenizer (llama.cpp's converter writes [PAD...]) are fine;
    # real tokens the tokenizer does not have are not.
    assert vocab_problem(tokens + ["[PAD49152]", "[PAD49153]"], tokenizer) is None
    assert "'<extra>' is not in the tokenizer" in vocab_problem(tokens + ["<extra>"], tokenizer)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 511, 512, 513, 514, 1025, 1537])
def test_prefill_chunks_are_never_one_token_unless_the_prompt_is(n):
    ids = list(range(n))
    chunks = _chunks(ids, 512)
    assert [t for c in chunks for t in c] == ids
    assert all(len(c) <= 512 for c in chunks)
    assert all(len(c) >= 2 for c in chunks) or n == 1


def test_an_adapter_or_a_stray_gguf_flag_is_refused_before_loading(smollm2_dir):
    with pytest.raises(LLMError, match="not a PEFT adapter: merge and export"):
        local_backend("smollm2-135m", "llamacpp", adapter="runs/lora")
    with pytest.raises(LLMError, match="--gguf FILE is for --engine llamacpp"):
        local_backend("smollm2-135m", "transformers", gguf="x.gguf")
    with pytest.raises(LLMError, match="unknown engine 'vllm'"):
        local_backend("smollm2-135m", "vllm")


def test_without_llama_cpp_the_engine_says_how_to_install_it(smollm2_dir):
    # A real interpreter in which llama_cpp cannot be imported.
    code = ("import sys; sys.modules['llama_cpp'] = None\n"
            "from lamstudio.llm import LlamaCppBackend, LLMError, llama_cpp_available\n"
            "assert not llama_cpp_available()\n"
            "try:\n    LlamaCppBackend('smollm2-135m').load()\n"
            "except LLMError as e:\n    print(e.status, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("400 the llamacpp engine needs llama-cpp-python")
    assert "pip install 'lamstudio[llamacpp]'" in out.stdout and "make llamacpp" in out.stdout
