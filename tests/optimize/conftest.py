"""Puts ``rpo_helpers`` on the path; scripted OpenAI-compatible servers on 127.0.0.1 for
the optimizers' tests: ``serve(script, model)`` starts one and returns it with a backend
that does not retry (a scripted failure is seen once)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.scripted_server import ScriptedServer

from lamstudio.llm import OpenAIBackend

sys.path.insert(0, str(Path(__file__).parent))

Serve = Callable[..., tuple[ScriptedServer, OpenAIBackend]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[ScriptedServer] = []

    def start(script: Any, model: str = "scripted-model") -> tuple[ScriptedServer, OpenAIBackend]:
        srv = ScriptedServer(script, model=model).start()
        servers.append(srv)
        return srv, OpenAIBackend(srv.base_url, model, api_key_env=None, max_retries=0)

    yield start
    for srv in servers:
        srv.stop()


def system_of(body: dict[str, Any]) -> str:
    first = body["messages"][0]
    return first["content"] if first["role"] == "system" else ""
