"""Training: configs, tiny models, per-source mixing, the trainer and export.

Heavy libraries (torch, transformers, peft) are imported inside the functions that use them,
so importing this package is cheap.
"""

from lamstudio.train._config import (
    ConfigError,
    DataConfig,
    LoraConfig,
    ModelConfig,
    OptimConfig,
    SourceConfig,
    TrainConfig,
    load_config,
)
from lamstudio.train._errors import TrainError
from lamstudio.train._export import export
from lamstudio.train._gguf import GgufFile, export_gguf
from lamstudio.train._gguf_types import TYPES as GGUF_TYPES
from lamstudio.train._mixing import MixSpec, epoch_sample, mix_counts, shard, split_eval
from lamstudio.train._tiny import SIZES, build_model, count_params, record_texts, train_tokenizer
from lamstudio.train._trainer import RunResult, last_checkpoint, train

__all__ = [
    "GGUF_TYPES", "SIZES", "ConfigError", "DataConfig", "GgufFile", "LoraConfig", "MixSpec",
    "ModelConfig", "OptimConfig", "RunResult", "SourceConfig", "TrainConfig", "TrainError",
    "build_model", "count_params", "epoch_sample", "export", "export_gguf", "last_checkpoint",
    "load_config", "mix_counts", "record_texts", "shard", "split_eval", "train",
    "train_tokenizer",
]
