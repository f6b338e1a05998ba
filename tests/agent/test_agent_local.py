"""The local backend: a tiny transformers model (no server) rendered and parsed by
``lamstudio.render``, driven through ``lamstudio agent run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import cli, read_jsonl

from lamstudio.agent import LocalBackend
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


def test_local_backend_generation_is_parsed_by_render(tiny_model: Path) -> None:
    import asyncio

    from lamstudio.render import parse_output

    backend = LocalBackend(str(tiny_model), max_tokens=10)
    msgs = [{"role": "user", "content": "Alice wants two lamps."}]
    res = asyncio.run(backend.complete(msgs, None, temperature=0.0))
    again = asyncio.run(backend.complete(msgs, None, temperature=0.0))
    assert res.raw["text"] == again.raw["text"]  # greedy: deterministic
    assert 1 <= res.usage["completion_tokens"] <= 10 and res.usage["prompt_tokens"] > 5
    parsed = parse_output(res.raw["text"])
    assert res.raw["parse_error"] == parsed.error_code
    assert res.finish_reason in ("stop", "length", "tool_calls")
    assert len(res.tool_calls) == len(parsed.calls)
