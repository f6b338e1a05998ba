"""The local backend: a tiny transformers model (no server), served by
``lamstudio.llm.LocalBackend`` (rendered and parsed by ``lamstudio.render``), driven
through ``lamstudio agent run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import cli, read_jsonl

from lamstudio.agent import open_backend
from lamstudio.envs import TASKS


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from lamstudio.train import build_model, train_tokenizer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("agent-local")
    texts = [json.dumps(t) for t in TASKS] * 20
    tok = train_tokenizer(texts, 400, root / "tok")
    build_model("nano", tok, root / "model")
    return root / "model"


def test_local_model_runs_the_loop(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "episodes.jsonl"
    cli("agent", "run", "--model", tiny_model, "--env", "store", "--limit", "2",
        "--max-steps", "2", "--max-tokens", "12", "--concurrency", "2", "-o", out)
    episodes = read_jsonl(out)
    assert [e["id"] for e in episodes] == ["store_0", "store_1"]
    for ep in episodes:
        a: dict[str, Any] = ep["meta"]["agent"]
        assert a["stop"] in ("answered", "step_limit") and 1 <= a["steps"] <= 2
        assert a["endpoint"] == "local" and a["model"] == str(tiny_model)
        assert a["reward"] in (0.0, 1.0) and len(a["state_hash"]) == 64
        assert ep["messages"][1]["role"] == "assistant"


def test_open_backend_local_is_the_llm_backend(tiny_model: Path) -> None:
    from lamstudio.llm import LocalBackend, complete_sync

    backend = open_backend(str(tiny_model), max_tokens=10)
    assert isinstance(backend, LocalBackend)  # one local backend, lamstudio.llm's
    assert backend.model == str(tiny_model)  # what meta.agent.model records
    msgs = [{"role": "user", "content": "Alice wants two lamps."}]
    tools = [{"type": "function", "function": {"name": "order", "parameters": {
        "type": "object", "properties": {"item": {"type": "string"}}}}}]
    res = complete_sync(backend, msgs, tools)  # no params: greedy, max_tokens=10
    again = complete_sync(backend, msgs, tools)
    assert (res.content, res.tool_calls) == (again.content, again.tool_calls)
    assert 1 <= res.usage["completion_tokens"] <= 10 and res.usage["prompt_tokens"] > 5
    assert res.finish_reason in ("stop", "length", "tool_calls")
    for call in res.tool_calls:  # the agent reads OpenAI-shaped calls
        assert isinstance(call["function"]["arguments"], str)


def test_open_backend_names_a_bad_model(tmp_path: Path) -> None:
    from lamstudio.llm import LLMError

    with pytest.raises(LLMError, match="not a model folder"):
        open_backend(str(tmp_path))
    out = tmp_path / "episodes.jsonl"
    res = cli("agent", "run", "--model", tmp_path, "--env", "store", "-o", out, code=2)
    assert "cannot load model" in res.output and not out.exists()
