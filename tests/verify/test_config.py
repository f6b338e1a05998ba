"""``VerifyConfig`` refuses what cannot run where it is built, naming the option."""

from __future__ import annotations

import re

import pytest

from lamstudio.verify import JudgeConfig, VerifyConfig, VerifyConfigError


@pytest.mark.parametrize(("options", "message"), [
    ({"stages": "format,dedupe"}, "unknown stage(s) dedupe; choose from format, execution"),
    ({"stages": ""}, "stages: choose at least one"),
    ({"from_format": "xlam"}, "unknown format 'xlam'; choose one of: lamstudio"),
    ({"dedup_threshold": 0.0}, "dedup threshold must be in (0, 1]"),
    ({"dedup_threshold": 1.5}, "dedup threshold must be in (0, 1]"),
    ({"judge_url": "http://127.0.0.1:1/v1"}, "--judge-url and --judge-model go together"),
    ({"judge_model": "m"}, "--judge-url and --judge-model go together"),
    ({"judge_url": "http://x/v1", "judge_model": "m", "judges": 0}, "judge.k must be at least 1"),
    ({"workers": 0}, "workers must be at least 1"),
    ({"tools": ["no/such/tools.py"]}, "tool module no/such/tools.py: no such file"),
])
def test_bad_options_are_named(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        VerifyConfig.from_options(**options)


def test_options_map_onto_the_nested_config() -> None:
    cfg = VerifyConfig.from_options(stages=" format , semantic ", judge_url="http://x/v1",
                                    judge_model="m", judges=3, strict_types=True,
                                    dedup_threshold=0.8, compare_results=False, workers=2)
    assert cfg.stages == ("format", "semantic") and cfg.workers == 2
    assert cfg.judge == JudgeConfig("http://x/v1", "m", k=3)
    assert cfg.format.lenient_types is False and cfg.dedup.threshold == 0.8
    assert cfg.execution.compare_results is False


def test_a_config_built_directly_is_checked_too() -> None:
    with pytest.raises(VerifyConfigError, match="chunk_size must be at least 1"):
        VerifyConfig(chunk_size=0)
