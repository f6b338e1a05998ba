"""GGUF file types: which ``--gguf`` names exist and who makes them.

f32 / f16 / bf16 / q8_0 are written directly with the ``gguf`` package's numpy code (as
llama.cpp's converter does with ``--outtype``); the k-quants need llama.cpp's own quantizer
(``llama_model_quantize``, from ``llama-cpp-python``): it picks a type per tensor (q4_k_m
keeps the output and half of attn_v / ffn_down in q6_k) from importance rules no numpy code
reproduces.
"""

from __future__ import annotations

import importlib.util

from lamstudio.train._errors import TrainError

# name -> (gguf.LlamaFileType member, gguf.GGMLQuantizationType member for 2-D weights)
NUMPY_TYPES: dict[str, tuple[str, str]] = {
    "f32": ("ALL_F32", "F32"), "f16": ("MOSTLY_F16", "F16"),
    "bf16": ("MOSTLY_BF16", "BF16"), "q8_0": ("MOSTLY_Q8_0", "Q8_0")}
# name -> llama.cpp's LLAMA_FTYPE_* value
LLAMA_CPP_TYPES: dict[str, int] = {"q4_k_s": 14, "q4_k_m": 15, "q5_k_m": 17, "q6_k": 18}
TYPES = (*NUMPY_TYPES, *LLAMA_CPP_TYPES)
INSTALL_LLAMA_CPP = ("pip install llama-cpp-python (or: make llamacpp; it builds llama.cpp "
                     "from source, ~11 min on 2 cores)")


def has_llama_cpp() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def parse_types(values: list[str]) -> list[str]:
    """``["q8_0", "f16,q4_k_m"]`` -> the types in order, each once; unknown ones refused, and
    k-quants refused up front when llama.cpp's quantizer is not installed."""
    types: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in TYPES:
                raise TrainError(f"--gguf {part.strip()!r}: unknown type (choose from "
                                 f"{', '.join(TYPES)})")
            if name not in types:
                types.append(name)
    if not types:
        raise TrainError(f"--gguf: no type given (choose from {', '.join(TYPES)})")
    need = [t for t in types if t in LLAMA_CPP_TYPES]
    if need and not has_llama_cpp():
        raise TrainError(f"--gguf {need[0]} needs llama.cpp's quantizer: {INSTALL_LLAMA_CPP}; "
                         f"without it: {', '.join(NUMPY_TYPES)}")
    return types
