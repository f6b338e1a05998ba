"""Running models on suites: a tiny local Llama (transformers) and a real OpenAI-compatible
HTTP server on 127.0.0.1 (tests/support/scripted_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lamstudio.eval._run import OpenAIGenerator, TransformersGenerator, run_cases
from lamstudio.eval._score import score_all, summarize
from lamstudio.eval._suite import load_suite


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from lamstudio.eval._bfcl import load_category
    from lamstudio.train import build_model, train_tokenizer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("eval-model")
    texts = [json.dumps(e.raw) for e in load_category("simple_python")[:200]]
    tok = train_tokenizer(texts, 1000, root / "tok")
    build_model("nano", tok, root / "model")
    return root / "model"


def test_transformers_backend_batches_greedily_and_every_case_is_scored(tiny_model) -> None:
    cases = load_suite("bfcl:simple_python,irrelevance", limit=3)
    one = TransformersGenerator(str(tiny_model), batch_size=1, max_new_tokens=12)
    many = TransformersGenerator(str(tiny_model), batch_size=4, max_new_tokens=12)
    preds1, preds4 = run_cases(cases, one), run_cases(cases, many)
    assert set(preds4) == {c.id for c in cases}
    # Left padding in a batch must not change greedy output.
    assert [preds1[c.id]["output"] for c in cases] == [preds4[c.id]["output"] for c in cases]
    results = score_all(cases, preds4)
    assert len(results) == 6 and all(r["code"] for r in results)
    # A random model calls nothing: simple cases fail with a reason, irrelevance ones pass.
    summary = summarize(results)
    assert summary["categories"]["simple_python"]["correct"] == 0
    assert all(r["pattern"] for r in results if not r["valid"])


def test_openai_backend_passes_tools_natively_and_maps_names_back() -> None:
    from tests.support.scripted_server import Reply, ScriptedServer

    cases = load_suite("bfcl:simple_python", limit=4)
    answers = {c.turns[0][-1]["content"]: c for c in cases}

    def script(body):
        case = answers[body["messages"][-1]["content"]]
        (name, params), = case.ground_truth[0].items()
        offered = [t["function"]["name"] for t in body["tools"]]
        assert all("." not in n for n in offered)  # the API's name rule
        args = {k: next(v for v in vals if v != "") for k, vals in params.items()
                if any(v != "" for v in vals)}
        return Reply(tool_calls=[{"name": name.replace(".", "_"), "arguments": args}])

    with ScriptedServer(script) as srv:
        preds = run_cases(cases, OpenAIGenerator(srv.base_url, srv.model, api_key_env=None))
    results = score_all(cases, preds)
    assert [r["valid"] for r in results] == [True] * 4, results
    assert any("." in r["calls"][0]["name"] for r in results)  # mapped back to the original


def test_openai_backend_multi_turn_agent_loop_scores_ground_truth() -> None:
    from tests.support.scripted_server import Reply, ScriptedServer

    from lamstudio.tools import parse_call

    case = load_suite("bfcl:multi_turn_base", limit=1)[0]
    steps = []
    for turn in case.ground_truth:
        calls = []
        for text in turn:
            name, args, kwargs = parse_call(text)
            assert not args or name == "sort"
            if args:
                kwargs = {"file_name": args[0]}
            calls.append({"name": name, "arguments": kwargs})
        steps += [Reply(tool_calls=calls), Reply(content="done")]
    with ScriptedServer(steps) as srv:
        preds = run_cases([case], OpenAIGenerator(srv.base_url, srv.model, api_key_env=None))
        sent = srv.requests
    turns = preds[case.id]["turns"]
    assert len(turns) == len(case.ground_truth)
    assert any(m["role"] == "tool" for m in sent[-1]["messages"])  # it saw the results
    assert score_all([case], preds)[0]["valid"]


def test_progress_moves_after_every_batch_while_generating(tiny_model, tmp_path) -> None:
    from lamstudio.eval import evaluate

    cases = load_suite("bfcl:simple_python", limit=6)
    gen = TransformersGenerator(str(tiny_model), batch_size=2, max_new_tokens=4)
    ticks: list[int] = []
    run_cases(cases, gen, tick=lambda: ticks.append(1))
    assert len(ticks) == 6
    # eval's own progress: a "generating" phase sized to the suite, ticked per case
    phases: dict[str, list[int]] = {}

    def progress(label: str, total: int):
        phases[label] = [total, 0]
        return lambda: phases[label].__setitem__(1, phases[label][1] + 1)

    evaluate(str(tiny_model), "bfcl:simple_python", limit=4, batch_size=2, max_new_tokens=4,
             out=tmp_path / "ev", progress=progress)
    assert phases["generating"] == [4, 4] and phases["scoring"] == [4, 4]


def test_generator_reports_each_batch_as_it_finishes(tiny_model) -> None:
    cases = load_suite("bfcl:simple_python", limit=5)
    gen = TransformersGenerator(str(tiny_model), batch_size=2, max_new_tokens=4)
    seen: list[int] = []
    gen([(c.turns[0], c.tools(), c.system) for c in cases], on_done=seen.append)
    assert seen == [2, 2, 1]
