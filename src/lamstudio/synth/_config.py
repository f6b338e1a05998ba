"""``ApigenConfig``: everything one ``synth apigen`` run needs (the CLI only fills it in),
and ``BackendConfig``: which model generates or judges, local or by URL."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.synth._prompts import STYLES

STAGES = ("format", "execution", "semantic", "dedup")
DEFAULT_STYLE_WEIGHTS = {"simple": 0.3, "multiple": 0.2, "parallel": 0.2,
                         "parallel_multiple": 0.15, "irrelevance": 0.15}


class ApigenConfigError(ValueError):
    """An option that cannot work, named."""


@dataclass(frozen=True)
class BackendConfig:
    """``kind="openai"``: any OpenAI-compatible server (``url``, ``model``, key from the
    environment variable *named* ``key_env``); ``kind="local"``: a transformers model
    (``model`` = registry name or folder, optional PEFT ``adapter``); ``kind="llamacpp"``:
    the model's GGUF in llama.cpp (``gguf``: which file, default the model's own)."""

    kind: str = "openai"
    model: str = ""
    url: str | None = None
    key_env: str | None = "OPENAI_API_KEY"
    adapter: str | None = None
    cache_dir: str | None = None
    timeout_s: float = 120.0
    batch_size: int = 8
    threads: int | None = None
    gguf: str | None = None

    def check(self, what: str) -> None:
        if self.kind not in ("openai", "local", "llamacpp"):
            raise ApigenConfigError(f"{what}: engine must be openai, transformers (local) or "
                                    f"llamacpp, not {self.kind!r}")
        if self.gguf and self.kind != "llamacpp":
            raise ApigenConfigError(f"{what}: --gguf FILE is for the llamacpp engine")
        if self.kind == "llamacpp" and self.adapter:
            raise ApigenConfigError(f"{what}: the llamacpp engine runs a GGUF, not an "
                                    "adapter: export the merged model first (lamstudio "
                                    "export --gguf)")
        if not self.model:
            raise ApigenConfigError(f"{what}: a model is needed")
        if self.kind == "openai" and not self.url:
            raise ApigenConfigError(f"{what}: the openai backend needs a URL")

    def identity(self) -> dict[str, Any]:
        """What decides the answers (not where the cache is or how long to wait)."""
        out = {"kind": self.kind, "model": self.model, "adapter": self.adapter}
        return {**out, "gguf": self.gguf} if self.gguf else out  # old journals still match


@dataclass(frozen=True)
class ApigenConfig:
    output: str
    generator: BackendConfig
    n: int = 100
    seed: int = 0
    judge: BackendConfig | None = None
    judge_k: int = 1
    styles: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_STYLE_WEIGHTS))
    builtin_tools: bool = True
    tool_modules: tuple[str, ...] = ()
    tool_files: tuple[str, ...] = ()
    quotas: dict[str, int] = field(default_factory=dict)
    seed_file: str | None = None
    n_examples: int = 2
    prompts_file: str | None = None
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 384
    concurrency: int = 8
    chunk_size: int = 64
    stages: tuple[str, ...] = STAGES
    exec_timeout_s: float = 5.0
    rejects: str | None = None
    summary: str | None = None
    report: str | None = None

    def __post_init__(self) -> None:
        self.generator.check("generator")
        if self.judge is not None:
            self.judge.check("judge")
        if self.n < 1:
            raise ApigenConfigError("n must be at least 1")
        if unknown := set(self.styles) - set(STYLES):
            raise ApigenConfigError(f"unknown style(s) {sorted(unknown)}; choose from "
                                    f"{', '.join(STYLES)}")
        if not self.styles or any(w < 0 for w in self.styles.values()) \
                or sum(self.styles.values()) <= 0:
            raise ApigenConfigError("style weights must be >= 0 with a positive sum")
        if unknown := set(self.stages) - set(STAGES):
            raise ApigenConfigError(f"unknown stage(s) {sorted(unknown)}; choose from "
                                    f"{', '.join(STAGES)}")
        if sum(self.quotas.values()) > self.n or any(q < 0 for q in self.quotas.values()):
            raise ApigenConfigError(f"quotas {self.quotas} ask for more than n={self.n} "
                                    "generations (or are negative)")
        if self.concurrency < 1 or self.chunk_size < 1 or self.n_examples < 0:
            raise ApigenConfigError("concurrency and chunk_size must be >= 1, n_examples >= 0")
        if not Path(self.output).name.endswith(".jsonl"):
            raise ApigenConfigError(f"{self.output}: the output is JSON Lines (.jsonl)")

    def path(self, kind: str) -> Path:
        """Where the rejects / summary / report go (default: beside the output)."""
        given = {"rejects": self.rejects, "summary": self.summary, "report": self.report}[kind]
        if given:
            return Path(given)
        out = Path(self.output)
        suffix = {"rejects": ".rejects.jsonl", "summary": ".summary.json",
                  "report": ".report.html"}[kind]
        return out.with_name(out.name.removesuffix(".jsonl") + suffix)

    def fingerprint(self) -> dict[str, Any]:
        """Everything that changes the records; a resumed run must match it."""
        data = dataclasses.asdict(self)
        for k in ("concurrency", "chunk_size", "rejects", "summary", "report", "output",
                  "exec_timeout_s"):
            data.pop(k)
        data["generator"] = self.generator.identity()
        data["judge"] = self.judge.identity() if self.judge else None
        return json.loads(json.dumps(data, default=list))
