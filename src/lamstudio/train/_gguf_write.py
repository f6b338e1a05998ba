"""Writing one GGUF file: header, metadata, then the tensors one at a time.

Tensors are converted and quantized while they are written (the writer is given their
shapes and types first), so memory holds the model plus one tensor, not a second model.
Every file is written under a temporary name next to its target, synced, then renamed: an
interrupted export never leaves a file that looks complete.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lamstudio.train._errors import TrainError
from lamstudio.train._gguf_arch import Arch, tensor_data, tensor_names, write_hparams
from lamstudio.train._gguf_types import LLAMA_CPP_TYPES, NUMPY_TYPES


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target``; renamed onto it only if the block succeeds."""
    tmp = target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        yield tmp
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def tensor_type(name: str, shape: tuple[int, ...], target: Any) -> Any:
    """llama.cpp's converter rules: 1-D tensors and norms in F32; a row that is not a whole
    number of quantization blocks falls back to F16."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    if len(shape) <= 1 or name.endswith("_norm.weight"):
        return GGMLQuantizationType.F32
    if shape[-1] % GGML_QUANT_SIZES[target][0]:
        return GGMLQuantizationType.F16
    return target


def _nbytes(shape: tuple[int, ...], qtype: Any) -> int:
    from gguf import GGML_QUANT_SIZES

    block, size = GGML_QUANT_SIZES[qtype]
    return math.prod(shape[:-1]) * (shape[-1] // block) * size


def write_file(path: Path, ftype: str, model: Any, arch: Arch,
               metadata: Callable[[Any], None], tick: Callable[[int, int], None]) -> None:
    """``model`` as a GGUF file of a numpy type (f32 / f16 / bf16 / q8_0) at ``path``.

    ``metadata(writer)`` adds the tokenizer, template and lamstudio keys; ``tick(n)`` is
    called after each tensor with the number written so far and the total.
    """
    import gguf
    import numpy as np

    file_type, weight_type = NUMPY_TYPES[ftype]
    target = getattr(gguf.GGMLQuantizationType, weight_type)
    writer = gguf.GGUFWriter(None, arch=gguf.MODEL_ARCH_NAMES[getattr(gguf.MODEL_ARCH,
                                                                       arch.gguf)])
    writer.add_type("model")
    writer.add_file_type(int(getattr(gguf.LlamaFileType, file_type)))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    write_hparams(writer, model.config)
    metadata(writer)
    weights = model.state_dict()
    plan = []
    for name, hf_name in tensor_names(model, arch):
        shape = tuple(weights[hf_name].shape)
        qtype = tensor_type(name, shape, target)
        writer.add_tensor_info(name, shape, np.dtype(np.float32), _nbytes(shape, qtype),
                               raw_dtype=qtype)
        plan.append((hf_name, qtype))
    try:
        writer.write_header_to_file(path=path)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for k, (hf_name, qtype) in enumerate(plan, 1):
            data = tensor_data(weights[hf_name], hf_name, model.config, arch)
            writer.write_tensor_data(gguf.quants.quantize(data, qtype))
            tick(k, len(plan))
    finally:
        writer.close()


def llama_cpp_quantize(source: Path, path: Path, ftype: str | int) -> None:
    """``source`` (an f16 / f32 GGUF) requantized by llama.cpp into ``path`` (``ftype``: a
    name of ``LLAMA_CPP_TYPES`` or a ``LLAMA_FTYPE_*`` value)."""
    import ctypes

    import llama_cpp

    with contextlib.suppress(Exception):  # its per-tensor log lines: quiet unless verbose
        from llama_cpp import _logger

        _logger.set_verbose(False)
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = LLAMA_CPP_TYPES[ftype] if isinstance(ftype, str) else ftype
    params.nthread = max(1, len(os.sched_getaffinity(0)))
    rc = llama_cpp.llama_model_quantize(str(source).encode(), str(path).encode(),
                                        ctypes.byref(params))
    if rc != 0 or not path.is_file():
        raise TrainError(f"llama.cpp could not quantize {source.name} to {ftype} (code {rc})")
