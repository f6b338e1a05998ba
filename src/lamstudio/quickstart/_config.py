"""The quickstart's embedded defaults (no arguments needed) and the knobs the CLI exposes.

The defaults are the outcome of the experiments in ``docs/quickstart_experiments.md``: every
value here was measured there on a 2-core CPU against the 15-minute budget.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Model shapes the quickstart offers (Llama, SwiGLU, tied embeddings).
SHAPES: dict[str, dict[str, int]] = {
    # Seconds, not minutes: the end-to-end smoke test.
    "nano": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=2, num_key_value_heads=2),
    # The default: what the 15-minute budget on 2 cores affords.
    "quick": dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=4),
}


@dataclass
class QuickstartConfig:
    out_dir: Path = Path("runs/quickstart")
    seed: int = 0
    size: str = "quick"
    # Data
    n_train: int = 20000
    n_heldout: int = 250
    # Tokenizer
    vocab_size: int = 2000
    # Training
    steps: int = 600
    batch_size: int = 8        # packed sequences per step
    max_len: int = 512         # tokens per packed sequence
    lr: float = 1e-3
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    threads: int = 2
    # Training stops early (and says so) when it has run this long; None: no cap.
    max_train_minutes: float | None = 12.0
    # Evaluation
    max_new_tokens: int = 160
    eval_batch_size: int = 32
    extra: dict[str, Any] = field(default_factory=dict)

    def shape(self) -> dict[str, int]:
        if self.size not in SHAPES:
            raise ValueError(f"unknown size {self.size!r}; choose one of: {', '.join(SHAPES)}")
        return dict(SHAPES[self.size])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d
