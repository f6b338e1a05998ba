"""``lamstudio serve``: an OpenAI-compatible API over a model (or vLLM's, with --engine vllm)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lamstudio.commands._common import engine_option, err_console, fail, gguf_option


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    model: Annotated[str, typer.Option(help="model: registry name, folder or hub name")],
    adapter: Annotated[Path | None, typer.Option(
        help="PEFT adapter folder (or a lamstudio run folder) merged into the model")] = None,
    engine: Annotated[str, engine_option(
        "transformers (batched generate), llamacpp (the model's GGUF on the CPU; needs the "
        "llamacpp extra), vllm (GPU; vLLM's own server) or scripted (replies from --script, "
        "for testing clients)")] = "transformers",
    gguf: Annotated[str | None, gguf_option()] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    api_key_env: Annotated[str | None, typer.Option(
        help="environment variable holding the bearer key clients must send")] = None,
    max_queue: Annotated[int, typer.Option(
        help="requests waiting at most; more are refused with 503 + Retry-After")] = 64,
    max_batch: Annotated[int, typer.Option(help="requests generated together")] = 8,
    max_tokens: Annotated[int, typer.Option(
        help="completion budget when a request sets none")] = 512,
    model_id: Annotated[str | None, typer.Option(
        help="model id reported by /v1/models (default: --model)")] = None,
    threads: Annotated[int | None, typer.Option(
        help="CPU threads (transformers: torch's default; llamacpp: the cores)")] = None,
    script: Annotated[Path | None, typer.Option(
        help="scripted engine: JSON list of replies, or JSON Lines of {\"output\": ...}")] = None,
    max_body_mb: Annotated[float, typer.Option(
        help="largest request body in MB; a longer one is refused (413) unread")] = 4.0,
    allowed_host: Annotated[list[str] | None, typer.Option(
        help="without --api-key-env: a Host name to serve besides loopback ones (repeat; "
             "'*' for any)")] = None,
    allowed_origin: Annotated[list[str] | None, typer.Option(
        help="without --api-key-env: a browser Origin to serve besides local pages "
             "(e.g. https://app.example; repeat; '*' for any)")] = None,
) -> None:
    """Serve MODEL at http://HOST:PORT/v1 (chat completions with tools and streaming).

    Without --api-key-env only local clients and pages are served (loopback Host, local
    Origin); with it, every path but /health wants the key."""
    from lamstudio.llm import engine_name
    from lamstudio.serve import (
        ServeConfig,
        VllmUnavailable,
        load_engine,
        read_api_key,
        run_vllm,
    )
    from lamstudio.serve import serve as run

    try:
        config = ServeConfig(model=model, adapter=str(adapter) if adapter else None,
                             engine=engine_name(engine), gguf=gguf, host=host, port=port,
                             api_key_env=api_key_env,
                             max_queue=max_queue, max_batch=max_batch, max_tokens=max_tokens,
                             model_id=model_id, threads=threads,
                             script=str(script) if script else None,
                             max_body_bytes=int(max_body_mb * 1024 * 1024),
                             allowed_hosts=allowed_host or [],
                             allowed_origins=allowed_origin or [])
        read_api_key(api_key_env)  # a key no client can send fails here, before loading
        if config.engine == "vllm":
            raise typer.Exit(run_vllm(config))
        loaded = load_engine(config)
    except (ValueError, OSError, VllmUnavailable) as exc:
        fail(str(exc))
    err_console.print(f"serving {config.served_id} ({config.engine}) at "
                      f"http://{host}:{port}/v1" + (" (bearer key required)" if api_key_env
                                                    else ""))
    try:
        run(config, loaded)
    except ValueError as exc:  # e.g. an empty --api-key-env variable
        fail(str(exc))
