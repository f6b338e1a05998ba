"""What a verify run does: :class:`VerifyConfig`, checked where it is built (a bad stage
name, a threshold out of range, a judge URL without a model fail here, not mid-run)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.sources import get_format
from lamstudio.verify._dedup import DedupOptions
from lamstudio.verify._execution import ExecutionOptions
from lamstudio.verify._format import FormatOptions

ALL_STAGES = ("format", "execution", "semantic", "dedup")


class VerifyConfigError(ValueError):
    """A verify configuration that cannot run; the message names the option."""


@dataclass(frozen=True)
class JudgeConfig:
    url: str
    model: str
    key_env: str | None = "OPENAI_API_KEY"
    k: int = 1
    temperature: float = 0.7
    timeout_s: float = 60.0
    concurrency: int = 8
    max_retries: int = 4
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if not self.url or not self.model:
            raise VerifyConfigError("judge: url and model go together")
        for name in ("k", "concurrency"):
            if getattr(self, name) < 1:
                raise VerifyConfigError(f"judge.{name} must be at least 1")
        if self.timeout_s <= 0:
            raise VerifyConfigError("judge.timeout_s must be positive")


@dataclass(frozen=True)
class VerifyConfig:
    stages: tuple[str, ...] = ALL_STAGES
    from_format: str = "lamstudio"
    workers: int = 1
    chunk_size: int = 1000
    format: FormatOptions = field(default_factory=FormatOptions)
    dedup: DedupOptions = field(default_factory=DedupOptions)
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    tool_modules: tuple[str, ...] = ()
    builtin_tools: bool = True
    exec_timeout_s: float = 5.0
    judge: JudgeConfig | None = None

    def __post_init__(self) -> None:
        if not self.stages:
            raise VerifyConfigError(f"stages: choose at least one of {', '.join(ALL_STAGES)}")
        if bad := [s for s in self.stages if s not in ALL_STAGES]:
            raise VerifyConfigError(f"unknown stage(s) {', '.join(bad)}; "
                                    f"choose from {', '.join(ALL_STAGES)}")
        get_format(self.from_format)  # UnknownFormat (a ValueError) names the choices
        for name in ("workers", "chunk_size"):
            if getattr(self, name) < 1:
                raise VerifyConfigError(f"{name} must be at least 1")
        if not 0 < self.dedup.threshold <= 1:
            raise VerifyConfigError("dedup threshold must be in (0, 1]")
        if self.exec_timeout_s <= 0:
            raise VerifyConfigError("exec_timeout_s must be positive")
        for m in self.tool_modules:
            if m.endswith(".py") and not Path(m).is_file():
                raise VerifyConfigError(f"tool module {m}: no such file")

    @classmethod
    def from_options(cls, *, stages: str | Sequence[str] = ALL_STAGES,
                     judge_url: str | None = None, judge_model: str | None = None,
                     judge_key_env: str | None = "OPENAI_API_KEY", judges: int = 1,
                     judge_timeout: float = 60.0, judge_cache: str | Path | None = None,
                     dedup_threshold: float = 0.9, strict_types: bool = False,
                     require_calls: bool = False, skip_unexecutable: bool = False,
                     compare_results: bool = True, tools: Sequence[str | Path] = (),
                     **rest: Any) -> VerifyConfig:
        """Build from flat options (what ``lamstudio verify`` takes): ``stages`` may be
        ``"format,dedup"``; the judge needs both URL and model; ``rest`` goes as is."""
        if isinstance(stages, str):
            stages = [s.strip() for s in stages.split(",") if s.strip()]
        if bool(judge_url) != bool(judge_model):
            raise VerifyConfigError("--judge-url and --judge-model go together")
        judge = JudgeConfig(judge_url, judge_model, judge_key_env, k=judges,
                            timeout_s=judge_timeout,
                            cache_dir=str(judge_cache) if judge_cache else None) \
            if judge_url and judge_model else None
        return cls(stages=tuple(stages), judge=judge, dedup=DedupOptions(threshold=dedup_threshold),
                   format=FormatOptions(lenient_types=not strict_types,
                                        require_calls=require_calls),
                   execution=ExecutionOptions(skip_unexecutable=skip_unexecutable,
                                              compare_results=compare_results),
                   tool_modules=tuple(str(t) for t in tools), **rest)

    def fingerprint(self) -> dict[str, Any]:
        """Everything that changes results (not ``workers``: any count gives the same)."""
        data = dataclasses.asdict(self)
        data.pop("workers")
        if data["judge"]:
            # Where the judge is reached and with which key does not change its verdicts,
            # and fixing those is how a run stopped by the judge's faults gets resumed.
            for k in ("timeout_s", "concurrency", "max_retries", "cache_dir", "url", "key_env"):
                data["judge"].pop(k)
        data["tool_modules"] = [str(Path(m).resolve()) if Path(m).exists() else m
                                for m in self.tool_modules]
        return json.loads(json.dumps(data, default=list))
