"""The architectures GGUF export supports: their hyperparameter keys and tensor layout.

The facts follow llama.cpp's own ``convert_hf_to_gguf.py`` (LlamaModel, Qwen2Model):

* llama.cpp runs Llama with the original (GPT-J style, interleaved) rotary layout, while
  Hugging Face checkpoints store Q and K permuted for their rotate-half code: Q and K rows
  are permuted back per head (K with the key/value head count under GQA). Qwen2 runs with
  the NeoX layout, which is Hugging Face's, so nothing is permuted.
* With tied embeddings there is no ``output.weight``: llama.cpp (and transformers' GGUF
  reader) then use ``token_embd.weight`` for the output too.
* 1-D tensors (norms, biases) stay F32 whatever the file type: llama.cpp's kernels expect it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lamstudio.train._errors import TrainError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Arch:
    hf: str  # config.architectures[0]
    gguf: str  # gguf.MODEL_ARCH member name
    permute_qk: bool


ARCHES: dict[str, Arch] = {
    "LlamaForCausalLM": Arch("LlamaForCausalLM", "LLAMA", permute_qk=True),
    "Qwen2ForCausalLM": Arch("Qwen2ForCausalLM", "QWEN2", permute_qk=False),
}


def arch_of(config: Any, where: str) -> Arch:
    """The supported architecture of ``config``, or a one-line refusal naming it."""
    names = getattr(config, "architectures", None) or [type(config).__name__]
    arch = ARCHES.get(names[0])
    if arch is None:
        raise TrainError(f"{where}: GGUF export supports {', '.join(ARCHES)}, not "
                         f"{names[0]} (convert it with llama.cpp's convert_hf_to_gguf.py)")
    problem = next(_unsupported(config), None)
    if problem is not None:
        raise TrainError(f"{where}: GGUF export of {names[0]}: {problem}")
    return arch


def _rope(config: Any) -> tuple[float, str, float]:
    """(theta, scaling type, factor) from a transformers 5 ``rope_parameters`` or the older
    ``rope_theta`` / ``rope_scaling`` pair."""
    params = dict(getattr(config, "rope_parameters", None) or {})
    scaling = dict(getattr(config, "rope_scaling", None) or {})
    theta = params.get("rope_theta", getattr(config, "rope_theta", None)) or 10000.0
    kind = params.get("rope_type") or scaling.get("rope_type") or scaling.get("type")
    factor = params.get("factor", scaling.get("factor", 1.0))
    return float(theta), str(kind or "default"), float(factor or 1.0)


def _unsupported(config: Any) -> Iterator[str]:
    """What llama.cpp's llama/qwen2 graph would silently compute differently."""
    act = getattr(config, "hidden_act", "silu")
    if act != "silu":
        yield f"hidden_act {act!r} (llama.cpp's graph is SwiGLU: silu)"
    if getattr(config, "mlp_bias", False):
        yield "mlp_bias=True (llama.cpp's llama graph has no MLP biases)"
    kind = _rope(config)[1]
    if kind not in ("default", "linear"):
        yield f"rope type {kind!r} (supported: default, linear)"


def head_dim(config: Any) -> int:
    return int(getattr(config, "head_dim", None)
               or config.hidden_size // config.num_attention_heads)


def write_hparams(writer: Any, config: Any) -> None:
    """The ``{arch}.*`` keys llama.cpp reads for a llama / qwen2 model."""
    from gguf import RopeScalingType

    heads = config.num_attention_heads
    writer.add_vocab_size(config.vocab_size)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_head_count(heads)
    writer.add_head_count_kv(getattr(config, "num_key_value_heads", None) or heads)
    writer.add_key_length(head_dim(config))
    writer.add_value_length(head_dim(config))
    writer.add_rope_dimension_count(head_dim(config))
    theta, kind, factor = _rope(config)
    writer.add_rope_freq_base(theta)
    if kind == "linear" and factor != 1.0:
        writer.add_rope_scaling_type(RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(factor)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Hugging Face's rotate-half Q/K rows -> llama.cpp's interleaved ones (per head)."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def tensor_names(model: Any, arch: Arch) -> list[tuple[str, str]]:
    """(GGUF name, Hugging Face name) of every weight ``model`` has, in checkpoint order.

    A tensor with no GGUF name is an error rather than silently left out: a file missing a
    weight loads and produces garbage.
    """
    import gguf

    config = model.config
    names = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, arch.gguf),
                                     config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    pairs = []
    for hf_name in model.state_dict():
        if tied and hf_name == "lm_head.weight":
            continue  # the same tensor as the embedding; llama.cpp reuses token_embd
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise TrainError(f"GGUF export: no GGUF name for the tensor {hf_name!r} of "
                             f"{arch.hf}")
        pairs.append((name, hf_name))
    return pairs


def tensor_data(tensor: Any, hf_name: str, config: Any, arch: Arch) -> np.ndarray:
    """One weight as float32 numpy, Q/K rows in llama.cpp's rotary layout."""
    import torch

    data = tensor.detach().to(torch.float32).cpu().numpy()
    if arch.permute_qk and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
        return permute(data, config.num_attention_heads)
    if arch.permute_qk and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
        return permute(data, getattr(config, "num_key_value_heads", None)
                       or config.num_attention_heads)
    return data
