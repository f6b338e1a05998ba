"""Batches for the model: packed sequences (no cross-example attention) or padded ones.

Attention inside packed sequences, by implementation (checked against transformers 5.x):

* ``flash_attention_2``/``_3``: the batch is flattened into one row with no padding;
  ``position_ids`` restart per example and transformers derives ``cu_seqlens`` from them
  (as ``DataCollatorWithFlattening`` does). ``cu_seq_lens_q/k`` and ``max_length_q/k`` are
  passed too, so the varlen kernel does not have to recompute them.
* ``sdpa``/``eager``: a 4-D block-diagonal causal mask ``(batch, 1, L, L)``; transformers'
  ``masking_utils`` uses a 4-D mask as given (bool for SDPA, additive float for eager).

Padding tokens form their own causal block (never an all-masked row, which would give NaN
in SDPA) and carry label -100. ``loss_weights`` is present only when some example has
message weights; a trainer must pop it before calling the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lamstudio.render._encode import IGNORE_INDEX, Encoded
from lamstudio.render._pack import Packed

if TYPE_CHECKING:
    import torch

_FLASH = ("flash_attention_2", "flash_attention_3")
_MASKED = ("sdpa", "eager")


def collate_packed(batch: Sequence[Packed], pad_id: int, *,
                   attn_implementation: str = "sdpa") -> dict[str, torch.Tensor]:
    if not batch:
        raise ValueError("empty batch")
    if attn_implementation in _FLASH:
        return _flattened(batch)
    if attn_implementation not in _MASKED:
        raise ValueError(f"attn_implementation {attn_implementation!r} is not supported for "
                         f"packed batches; use one of {', '.join(_MASKED + _FLASH)}")
    import torch

    width = max(len(p) for p in batch)
    out = _padded_fields(batch, pad_id, width)
    segments = torch.zeros(len(batch), width, dtype=torch.long)
    for row, p in enumerate(batch):
        seg = [k for k, n in enumerate(p.seq_lens) for _ in range(n)]
        seg += [len(p.seq_lens)] * (width - len(p))
        segments[row] = torch.tensor(seg)
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    mask = (segments[:, :, None] == segments[:, None, :]) & causal
    mask = mask[:, None, :, :]
    if attn_implementation == "eager":
        # Eager attention adds the mask to the scores. Use the float32 minimum: a model in
        # half precision casts it down (to -inf) and softmax still gives exact zeros.
        zero = torch.zeros((), dtype=torch.float32)
        mask = torch.where(mask, zero, torch.finfo(torch.float32).min)
    out["attention_mask"] = mask
    return out


def _padded_fields(batch: Sequence[Packed], pad_id: int, width: int) -> dict[str, torch.Tensor]:
    import torch

    def pad(rows: list[list], value: float | int, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=dtype)

    out = {
        "input_ids": pad([p.input_ids for p in batch], pad_id, torch.long),
        "labels": pad([p.labels for p in batch], IGNORE_INDEX, torch.long),
        # Padding continues as one more "example" whose positions restart at 0.
        "position_ids": torch.tensor(
            [p.position_ids + list(range(width - len(p))) for p in batch], dtype=torch.long),
    }
    if any(p.weights for p in batch):
        out["loss_weights"] = pad([p.weights or [1.0] * len(p) for p in batch], 0.0,
                                  torch.float32)
    return out


def _flattened(batch: Sequence[Packed]) -> dict[str, torch.Tensor]:
    import torch

    lens = [n for p in batch for n in p.seq_lens]
    cu = torch.tensor([0, *lens], dtype=torch.int32).cumsum(0, dtype=torch.int32)
    out = {
        "input_ids": torch.tensor([[t for p in batch for t in p.input_ids]], dtype=torch.long),
        "labels": torch.tensor([[t for p in batch for t in p.labels]], dtype=torch.long),
        "position_ids": torch.tensor([[t for p in batch for t in p.position_ids]],
                                     dtype=torch.long),
        "cu_seq_lens_q": cu, "cu_seq_lens_k": cu,
        "max_length_q": max(lens), "max_length_k": max(lens),
    }
    if any(p.weights for p in batch):
        out["loss_weights"] = torch.tensor(
            [[w for p in batch for w in (p.weights or [1.0] * len(p))]], dtype=torch.float32)
    return out


def collate_padded(batch: Sequence[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """One example per row, right-padded; a 2-D ``attention_mask``."""
    import torch

    if not batch:
        raise ValueError("empty batch")
    width = max(len(e) for e in batch)

    def pad(rows: list[list], value: float | int, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=dtype)

    out = {
        "input_ids": pad([e.input_ids for e in batch], pad_id, torch.long),
        "labels": pad([e.labels for e in batch], IGNORE_INDEX, torch.long),
        "attention_mask": pad([[1] * len(e) for e in batch], 0, torch.long),
    }
    if any(e.weights for e in batch):
        out["loss_weights"] = pad([e.weights or [1.0] * len(e) for e in batch], 0.0,
                                  torch.float32)
    return out
