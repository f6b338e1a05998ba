"""Run the API: ``serve(config)`` in the foreground, ``ServerThread`` in the background."""

from __future__ import annotations

import threading
import time
from typing import Any

from lamstudio.serve._config import ServeConfig
from lamstudio.serve._engine import (
    Engine,
    LlamaCppEngine,
    ScriptedEngine,
    TransformersEngine,
    resolve_model,
)


def load_engine(config: ServeConfig) -> Engine:
    """The engine ``config`` names (``vllm`` runs as its own server: see ``run_vllm``)."""
    if config.engine == "scripted":
        return ScriptedEngine.from_file(resolve_model(config.model), config.script or "",
                                        model_id=config.served_id,
                                        context_length=config.context_length or 4096)
    if config.engine == "llamacpp":
        return LlamaCppEngine(config.model, config.gguf, model_id=config.served_id,
                              threads=config.threads, context_length=config.context_length)
    if config.engine == "transformers":
        return TransformersEngine(config.model, config.adapter, model_id=config.served_id,
                                  threads=config.threads,
                                  context_length=config.context_length)
    raise ValueError(f"engine {config.engine!r} does not run in-process")


def serve(config: ServeConfig, engine: Engine | None = None) -> None:
    """Serve until interrupted (uvicorn in the foreground)."""
    import uvicorn

    from lamstudio.serve._app import create_app

    app = create_app(engine or load_engine(config), config)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info")


class ServerThread:
    """uvicorn on 127.0.0.1 in a background thread (tests, benchmarks, notebooks).

    ``port=0`` takes a free port; ``base_url`` is what an OpenAI client wants.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port,
                                                     log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, daemon=True,
                                        name="lamstudio-serve")
        self.host = host

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        return self._server.servers[0].sockets[0].getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
