"""``ServeConfig``: everything ``lamstudio serve`` takes, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

ENGINES = ("transformers", "llamacpp", "scripted", "vllm")


@dataclass
class ServeConfig:
    """Settings of one server. ``model`` is a registry name, a local folder or a hub name."""

    model: str = ""
    adapter: str | None = None        # a PEFT adapter folder (or a run folder with final/)
    engine: str = "transformers"      # transformers | llamacpp | scripted | vllm
    host: str = "127.0.0.1"
    port: int = 8000
    api_key_env: str | None = None    # name of the env variable that holds the bearer key
    max_queue: int = 64               # requests waiting for the engine; more get 503
    max_batch: int = 8                # requests generated together (left-padded)
    batch_wait_ms: float = 5.0        # how long a batch waits for company before it runs
    max_tokens: int = 512             # completion budget when a request sets none
    model_id: str | None = None       # the id /v1/models reports (default: ``model``)
    retry_after_s: int = 1            # Retry-After sent with a 503
    threads: int | None = None        # CPU threads (default: torch's own; llamacpp: the cores)
    gguf: str | None = None           # llamacpp: the GGUF file (default: the model's own)
    script: str | None = None         # scripted engine: JSON list / JSONL of replies
    context_length: int | None = None  # override the model's (max_position_embeddings)
    max_body_bytes: int = 4 * 1024 * 1024  # a longer request body is a 413, unread
    # Without an API key: Host names / Origins served besides loopback ones ("*": any).
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.max_queue < 1 or self.max_batch < 1:
            raise ValueError("max_queue and max_batch must be at least 1")
        if self.max_body_bytes < 1024:
            raise ValueError("the body limit must be at least 1 kB")
        if self.engine == "llamacpp" and self.adapter:
            raise ValueError("the llamacpp engine runs a GGUF, not a PEFT adapter: merge and "
                             "export it first (lamstudio export --gguf q8_0 RUN -o OUT), then "
                             "serve OUT/FILE.gguf")
        if self.gguf and self.engine != "llamacpp":
            raise ValueError("--gguf FILE is for --engine llamacpp")
        if self.engine == "scripted" and not self.script:
            raise ValueError("the scripted engine needs a script (--script FILE)")

    @property
    def served_id(self) -> str:
        return self.model_id or self.model or self.engine
