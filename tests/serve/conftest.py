"""Servers on 127.0.0.1 for the serve tests: a tiny model built here, scripted replies, and
SmolLM2 (slow) — all through the real HTTP API and the official ``openai`` client."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # serve_helpers, for the test modules too
from serve_helpers import TIME, WEATHER  # noqa: E402

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

def _records() -> list[dict]:
    cities = ["Paris", "Tokyo", "London", "Rome", "Oslo", "Lima"]
    out = []
    for k, city in enumerate(cities * 4):
        out.append({"id": f"r{k}", "tools": [WEATHER, TIME], "messages": [
            {"role": "user", "content": f"What is the weather in {city}?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": city}}}]},
            {"role": "tool", "content": '{"temp_c": 11}'},
            {"role": "assistant", "content": f"It is 11 C in {city}."}]})
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A nano Llama (random weights) with a tokenizer trained here: lamstudio's template."""
    from lamstudio.train import build_model, train_tokenizer

    root = tmp_path_factory.mktemp("serve-tiny")
    tok = train_tokenizer(_records(), 600, root / "model")
    build_model("nano", tok, root / "model")
    return root / "model"


@pytest.fixture(scope="session")
def tiny_engine(tiny_model: Path):
    from lamstudio.serve import TransformersEngine

    return TransformersEngine(str(tiny_model), model_id="tiny", threads=1,
                              context_length=256)


@pytest.fixture
def start_server() -> Iterator[Callable]:
    """``start_server(engine, **config) -> ServerThread`` (stopped after the test)."""
    from lamstudio.serve import ServeConfig, ServerThread, create_app

    servers = []

    def start(engine, **config):
        cfg = ServeConfig(model=engine.model_id, **config)
        srv = ServerThread(create_app(engine, cfg)).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture(scope="session")
def tiny_server(tiny_engine):
    from lamstudio.serve import ServeConfig, ServerThread, create_app

    srv = ServerThread(create_app(tiny_engine, ServeConfig(model="tiny", max_batch=8,
                                                           max_queue=64, max_tokens=16)))
    with srv:
        yield srv


@pytest.fixture(scope="session")
def smollm2(smollm2_dir: Path) -> str:
    """SmolLM2-135M-Instruct as an HF folder, prepared offline by lamstudio.models."""
    return str(smollm2_dir)


@pytest.fixture(scope="session")
def tokenizer_dirs(tmp_path_factory: pytest.TempPathFactory):
    """(lamstudio-template tokenizer, Hermes-template tokenizer), both trained here."""
    import importlib.util
    import sys

    from lamstudio.render import DEFAULT_SPECIAL_TOKENS, EOS_TOKEN, PAD_TOKEN

    here = Path(__file__).parents[1] / "render" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_render_conftest", here)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_render_conftest"] = mod
    spec.loader.exec_module(mod)
    default = mod.build_tokenizer(tmp_path_factory.mktemp("tok-d"), DEFAULT_SPECIAL_TOKENS,
                                  EOS_TOKEN, PAD_TOKEN)
    hermes = mod.build_tokenizer(tmp_path_factory.mktemp("tok-h"), mod.HERMES_SPECIALS,
                                 "<|im_end|>", "<|endoftext|>", template=mod.HERMES_TEMPLATE)
    return default, hermes
