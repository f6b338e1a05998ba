"""Shared fixture: two small tool-calling sources, a tokenizer trained on them, a nano model.

Built once per session, offline, in a few seconds.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # train_helpers, for the test modules too
from train_helpers import convert_record, weather_record, write_jsonl  # noqa: E402

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``weather`` (60 records), ``convert`` (30), ``tokenizer`` and ``model`` (nano) dirs."""
    import torch

    from lamstudio.train import build_model, train_tokenizer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("train-assets")
    rng = random.Random(0)
    weather = [weather_record(k, rng) for k in range(60)]
    convert = [convert_record(k, rng) for k in range(30)]
    paths = {"weather": write_jsonl(root / "weather.jsonl", weather),
             "convert": write_jsonl(root / "convert.jsonl", convert)}
    tok = train_tokenizer(weather + convert, 1000, root / "tok")
    build_model("nano", tok, root / "model")
    paths.update(tokenizer=root / "tok", model=root / "model", root=root)
    return paths
