"""Augmentation of function-calling data (xLAM's recipe): shuffle the tool order, rephrase
the system prompt, add distractor tools, turn examples into irrelevance cases, rename
parameters consistently. Deterministic for a seed; see ``augment``."""

from lamstudio.augment._augment import (
    OPS,
    AugmentConfig,
    AugmentResult,
    augment,
    augment_record,
)
from lamstudio.augment._ops import (
    add_distractors,
    rename_parameters,
    rephrase_system,
    shuffle_tools,
    to_irrelevance,
)

__all__ = [
    "OPS", "AugmentConfig", "AugmentResult", "add_distractors", "augment", "augment_record",
    "rename_parameters", "rephrase_system", "shuffle_tools", "to_irrelevance",
]
