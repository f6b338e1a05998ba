"""The quickstart's embedded defaults (no arguments needed) and the knobs the CLI exposes.

The defaults are the outcome of the experiments in ``docs/quickstart_experiments.md``: every
value here was measured there on a 2-core CPU against the 15-minute budget.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.train import SIZES

# Model shapes the quickstart offers (Llama, SwiGLU, tied embeddings).
SHAPES: dict[str, dict[str, int]] = {
    # Seconds, not minutes: the end-to-end smoke test.
    "nano": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=2, num_key_value_heads=2),
    # The default (0.32M parameters). Small models do more with the same CPU minutes: this
    # one processes several times the tokens of a 192-wide, 4-layer model. Three layers
    # with a narrow MLP rather than two with a wide one: copying argument values (an
    # induction circuit) was learned on both seeds tried instead of one of two
    # (docs/quickstart_experiments.md, round 3).
    "quick": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                  num_attention_heads=2, num_key_value_heads=2),
    # Wider and deeper (2.9M / 4.7M parameters), for comparison and longer budgets; "wide"
    # is lamstudio.train's "tiny", the quickstart's first default.
    "medium": dict(hidden_size=192, intermediate_size=768, num_hidden_layers=4,
                   num_attention_heads=6, num_key_value_heads=6),
    "wide": SIZES["tiny"],
}


@dataclass
class QuickstartConfig:
    out_dir: Path = Path("runs/quickstart")
    seed: int = 0
    size: str = "quick"
    # Data
    # Enough that training never repeats an example within the default steps: repeated
    # examples were memorised instead of teaching the model to copy.
    n_train: int = 120000
    n_heldout: int = 250
    # Tokenizer
    vocab_size: int = 3000
    split_digits: bool = False
    # Training
    steps: int = 4800
    batch_size: int = 8        # packed sequences per step
    max_len: int = 384         # tokens per packed sequence; ~0.04% of records are longer
    # and are dropped by the trainer, counted in run/rejects.jsonl
    lr: float = 3e-3
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    threads: int = 2
    # Training stops early (and says so) when it has run this long; None: no cap.
    max_train_minutes: float | None = 12.5
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
