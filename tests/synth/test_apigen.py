"""``synth apigen`` against a scripted OpenAI-compatible server (real HTTP on 127.0.0.1):
every stage, every reject path, resume, yields, provenance, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synth_helpers import TOOLS, Fail, ScriptedServer, generator_script  # noqa: E402

from lamstudio.synth import (  # noqa: E402
    ApigenConfig,
    ApigenConfigError,
    BackendConfig,
    ToolPool,
    apigen,
    tools_from_file,
)
from lamstudio.verify import JournalMismatch  # noqa: E402

BEHAVIOURS = ["good", "judge_fail", "empty", "prose", "bad_json", "truncated", "bad_shape",
              "wrong_name", "bad_type", "style_mismatch"]


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def config(tmp_path: Path, srv: ScriptedServer, **kw) -> ApigenConfig:
    backend = BackendConfig("openai", srv.model, srv.base_url, key_env=None)
    kw.setdefault("judge", backend)
    return ApigenConfig(output=str(tmp_path / "out.jsonl"), generator=backend,
                        builtin_tools=False, tool_modules=(TOOLS,), chunk_size=8, **kw)


def test_every_reject_path_and_the_books_balance(tmp_path):
    behaviour = lambda i: BEHAVIOURS[i % len(BEHAVIOURS)]  # noqa: E731
    with ScriptedServer(generator_script(behaviour)) as srv:
        result = apigen(config(tmp_path, srv, n=40, styles={"simple": 1.0}))
    kept, rejects = read(result.output), read(result.rejects)
    assert len(kept) + len(rejects) == 40 == result.tally.generated
    assert result.tally.balanced() and result.tally.kept == len(kept)
    codes = Counter(f"{r['stage']}/{r['code']}" for r in rejects)
    for code in ("parse/empty_output", "parse/no_json", "parse/invalid_json", "parse/truncated",
                 "parse/bad_shape", "format/IFN", "format/IAT", "format/style_mismatch",
                 "semantic/judge_fail"):
        assert codes[code] == 4, (code, codes)
    # every tool of the pool is executable: "good" generations that called explode() fail
    # in the sandbox, the rest are kept with the result inserted
    goods = [i for i in range(40) if behaviour(i) == "good"]
    assert len(kept) + codes["execution/tool_error"] == len(goods)
    assert codes["execution/tool_error"] >= 1 and kept
    for r in kept:
        assert r["messages"][-1]["role"] == "tool"
        assert r["meta"]["checks_passed"] == ["format", "execution", "semantic", "dedup"]
    assert all(r["output"] is not None for r in rejects)
    assert result.tally.to_dict()["rejected_by_reason"] == dict(codes)


def test_provenance_and_the_prompt(tmp_path):
    with ScriptedServer(generator_script(lambda i: "good")) as srv:
        result = apigen(config(tmp_path, srv, n=6, styles={"multiple": 1.0}, seed=3))
        prompts = [r for r in srv.requests if "seed" in r]
    rec = read(result.output)[0]
    gen = rec["meta"]["generator"]
    assert gen["name"] == "lamstudio.synth.apigen" and gen["model"] == srv.model
    assert gen["prompt_template"] in {"apigen-v1", "apigen-terse", "apigen-persona"}
    assert len(gen["seed_examples"]) == 2 and gen["seed"] == 3
    assert rec["meta"]["category"] == "multiple" and rec["meta"]["tool_category"] in (
        "maths", "words")
    # the seed examples of the style come first, and the tools are shown in the prompt
    assert gen["seed_examples"][0] in ("seed-003", "seed-004")
    asked = {r["seed"]: r for r in prompts}  # requests arrive in any order
    prompt = asked[3 * 1_000_003 + gen["task"]]["messages"][-1]["content"]
    for tool in rec["tools"]:
        assert f'"name": "{tool["function"]["name"]}"' in prompt
    assert prompts[0]["temperature"] == 0.7 and prompts[0]["max_tokens"] == 384


def test_every_style_and_per_group_yields_in_report(tmp_path):
    with ScriptedServer(generator_script(lambda i: "good")) as srv:
        result = apigen(config(tmp_path, srv, n=40, seed=1))
    y = result.tally.to_dict()
    assert set(y["by_style"]) == {"simple", "multiple", "parallel", "parallel_multiple",
                                  "irrelevance"}
    assert set(y["by_category"]) == {"maths", "words"}
    kept = read(result.output)
    irr = [r for r in kept if r["meta"]["category"] == "irrelevance"]
    assert irr and all("tool_calls" not in r["messages"][-1] for r in irr)
    par = [r for r in kept if r["meta"]["category"] == "parallel"]
    assert par and all(len(r["messages"][1]["tool_calls"]) >= 2 for r in par)
    html = result.report.read_text()
    for word in ("generated", "parsed", "semantic", "Per style", "Per category", "maths"):
        assert word in html
    summary = json.loads(result.summary.read_text())
    assert summary["yields"]["generated"] == 40


def test_quotas_no_judge_and_dedup(tmp_path):
    behaviour = lambda i: "duplicate" if i % 2 else "good"  # noqa: E731
    with ScriptedServer(generator_script(behaviour)) as srv:
        result = apigen(config(tmp_path, srv, n=12, judge=None, styles={"simple": 1.0},
                               quotas={"words": 12}))
    y = result.tally.to_dict()
    assert y["by_category"].keys() == {"words"}
    assert y["skipped_checks"]["semantic/no_judge"] == 12  # all reached it; dups after
    assert any("no judge" in n for n in result.notes)
    dups = [r for r in read(result.rejects) if r["stage"] == "dedup"]
    assert dups and all(r["code"] in ("exact_duplicate", "near_duplicate") for r in dups)
    assert y["kept"] + len(dups) == 12


def test_same_seed_same_data_and_resume_after_a_fault(tmp_path):
    def script_with_fault(body):
        if "seed" in body and body["seed"] >= 20:  # a refused key: no retry fixes it
            return Fail(401, "no key")
        return generator_script(lambda i: "good")(body)

    full = tmp_path / "full"
    full.mkdir()
    with ScriptedServer(generator_script(lambda i: "good")) as srv:
        ref = apigen(config(full, srv, n=30))
    with ScriptedServer(script_with_fault) as srv:
        with pytest.raises(Exception) as exc:
            apigen(config(tmp_path, srv, n=30))
    assert "401" in str(exc.value)
    journal = tmp_path / "out.jsonl.journal"
    assert (journal / "chunk-00000001.json").exists()  # tasks 0-15 committed
    assert not (tmp_path / "out.jsonl").exists()
    with ScriptedServer(generator_script(lambda i: "good")) as srv:
        with pytest.raises(JournalMismatch):
            apigen(config(tmp_path, srv, n=31))
        resumed = apigen(config(tmp_path, srv, n=30))
        asked = {r["seed"] for r in srv.requests if "seed" in r}
    assert resumed.resumed_tasks == 16 and min(asked) == 16
    assert (tmp_path / "out.jsonl").read_text() == (full / "out.jsonl").read_text()
    assert resumed.tally.to_dict() == ref.tally.to_dict()
    assert not journal.exists()


def test_tool_file_xlam_and_openai_specs(tmp_path):
    xlam = {"query": "q", "answers": "[]", "tools": json.dumps([
        {"name": "get_stock", "description": "Quote.", "parameters": {
            "symbol": {"description": "ticker", "type": "str", "default": "AAPL"},
            "days": {"description": "window", "type": "int"}}}])}
    spec = {"type": "function", "function": {"name": "weather", "description": "w",
                                             "parameters": {"type": "dict", "properties": {
                                                 "city": {"type": "string"}}}},
            "category": "travel"}
    (tmp_path / "xlam.jsonl").write_text(json.dumps(xlam) + "\n")
    (tmp_path / "specs.json").write_text(json.dumps([spec]))
    tools = list(tools_from_file(tmp_path / "xlam.jsonl")) + list(
        tools_from_file(tmp_path / "specs.json"))
    stock = tools[0].spec["function"]["parameters"]
    assert stock["required"] == ["days"] and stock["properties"]["days"]["type"] == "integer"
    assert tools[1].category == "travel" and not tools[1].executable
    assert tools[1].spec["function"]["parameters"]["type"] == "object"
    pool = ToolPool.load(builtin=False, files=[str(tmp_path / "xlam.jsonl"),
                                               str(tmp_path / "specs.json")])
    assert set(pool.categories) == {"xlam", "travel"}
    with ScriptedServer(generator_script(lambda i: "good")) as srv:
        cfg = ApigenConfig(output=str(tmp_path / "o.jsonl"), n=8, builtin_tools=False,
                           styles={"simple": 1.0},
                           generator=BackendConfig("openai", srv.model, srv.base_url,
                                                   key_env=None),
                           tool_files=(str(tmp_path / "xlam.jsonl"), str(tmp_path / "specs.json")))
        result = apigen(cfg)
    y = result.tally.to_dict()
    assert y["kept"] == 8 and y["skipped_checks"]["execution/no_executable_tool"] == 8


def test_bad_options_are_named(tmp_path):
    b = BackendConfig("openai", "m", "http://127.0.0.1:9/v1")
    with pytest.raises(ApigenConfigError, match="unknown style"):
        ApigenConfig(output=str(tmp_path / "o.jsonl"), generator=b, styles={"weird": 1})
    with pytest.raises(ApigenConfigError, match="quotas"):
        ApigenConfig(output=str(tmp_path / "o.jsonl"), generator=b, n=2, quotas={"x": 3})
    with pytest.raises(ApigenConfigError, match="needs a URL"):
        ApigenConfig(output=str(tmp_path / "o.jsonl"), generator=BackendConfig("openai", "m"))
    with pytest.raises(ValueError, match="unknown tool categor"):
        apigen(ApigenConfig(output=str(tmp_path / "o.jsonl"), generator=b, n=2,
                            quotas={"nope": 1}))


def test_cli_end_to_end(tmp_path):
    with ScriptedServer(generator_script(lambda i: BEHAVIOURS[i % 3])) as srv:
        proc = subprocess.run(
            [sys.executable, "-m", "lamstudio", "synth", "apigen", "--url", srv.base_url,
             "--model", srv.model, "--key-env", "NO_SUCH_KEY", "--judge-url", srv.base_url,
             "--no-builtin-tools", "--tools", TOOLS, "--n", "9", "--style", "simple=1",
             "-o", str(tmp_path / "cli.jsonl")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "generated 9 = kept" in proc.stdout and "parse" not in proc.stderr
    assert (tmp_path / "cli.report.html").exists()
    bad = subprocess.run([sys.executable, "-m", "lamstudio", "synth", "apigen", "--url",
                          "http://x/v1", "--style", "odd=1", "-o", str(tmp_path / "b.jsonl")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown style" in bad.stderr
