"""End to end: ``lamstudio quickstart`` with a nano model and a handful of steps writes every
artifact, and its numbers are computed from real generations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamstudio.cli import app
from lamstudio.quickstart import (
    QuickstartConfig,
    QuickstartError,
    prepare_out_dir,
    run_quickstart,
    summarize,
)

ARGS = ["--base", "scratch", "--size", "nano", "--steps", "4", "--n-train", "200",
        "--n-heldout", "10", "--seed", "3"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("qs") / "out"
    result = CliRunner().invoke(app, ["quickstart", "--out-dir", str(out), *ARGS])
    assert result.exit_code == 0, result.output
    assert "full-call exact match" in result.output
    return out


def test_every_artifact_is_written(run_dir: Path) -> None:
    for name in ("data/train.jsonl", "data/heldout.jsonl", "data/rejects.jsonl",
                 "tokenizer/tokenizer.json", "run/final/config.json", "train_log.jsonl",
                 "predictions.jsonl", "metrics.json", "report.html", "chat_template.jinja"):
        assert (run_dir / name).is_file(), name
    assert len((run_dir / "data/train.jsonl").read_text().splitlines()) == 200
    log = [json.loads(x) for x in (run_dir / "train_log.jsonl").read_text().splitlines()]
    assert log and all(r["loss"] > 0 for r in log)


def test_metrics_are_recomputed_from_the_saved_predictions(run_dir: Path) -> None:
    preds = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 10
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["metrics"] == summarize(preds)
    assert saved["run"]["steps_done"] == 4
    report = (run_dir / "report.html").read_text()
    assert "<svg" in report and "full-call exact match" in report
    from lamstudio.quickstart import pct

    assert pct(saved["metrics"]["parse_rate"]) in report


def test_the_time_cap_stops_training_and_says_so(tmp_path: Path) -> None:
    args = list(ARGS)
    args[args.index("--steps") + 1] = "50"
    result = CliRunner().invoke(app, ["quickstart", "--out-dir", str(tmp_path / "out"), *args,
                                      "--max-train-minutes", "0.0001"])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "out" / "metrics.json").read_text())["run"]
    assert run["steps_planned"] == 50 and run["steps_done"] < 50
    assert run["stopped_early"] == f"time cap 0.0001 min reached at step {run['steps_done']}"
    # Said first, before any number, in the output and at the top of the report.
    out = result.output
    assert "not comparable: the 0.0001-minute training cap" in out
    assert out.index("not comparable") < out.index("full-call exact match")
    assert "--max-train-minutes 0 trains them all" in " ".join(result.output.split())
    report = (tmp_path / "out" / "report.html").read_text()
    assert report.index("Not comparable") < report.index("<h2>")


def test_training_distribution_is_scored_on_queries_not_in_training(run_dir: Path) -> None:
    train_queries = {json.loads(x)["messages"][0]["content"]
                     for x in (run_dir / "data/train.jsonl").read_text().splitlines()}
    rows = [json.loads(x) for x in
            (run_dir / "predictions_train_distribution.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and not {r["query"] for r in rows} & train_queries
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["train_distribution_metrics"] == summarize(rows)
    assert "training phrasings" in (run_dir / "report.html").read_text()


def test_predictions_are_the_models_greedy_outputs(run_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lamstudio.quickstart import predict
    from lamstudio.quickstart._tokenizer import quickstart_template
    from lamstudio.render import Renderer
    from lamstudio.schema import Trajectory

    preds = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
    records = [Trajectory.model_validate(json.loads(x))
               for x in (run_dir / "data/heldout.jsonl").read_text().splitlines()[:2]]
    model = AutoModelForCausalLM.from_pretrained(str(run_dir / "run/final"))
    renderer = Renderer(AutoTokenizer.from_pretrained(str(run_dir / "tokenizer")),
                        template=quickstart_template())
    again = predict(model, renderer, records, batch_size=1)
    assert [r["output"] for r in again] == [p["output"] for p in preds[:2]]


def test_interrupted_run_leaves_no_report(tmp_path: Path) -> None:
    cfg = QuickstartConfig(out_dir=tmp_path / "out", size="nano", steps=1, n_train=50,
                           n_heldout=5, max_new_tokens=4)

    def interrupt(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_quickstart(cfg, on_eval=interrupt)
    assert (tmp_path / "out/run/final").is_dir()
    assert not (tmp_path / "out/metrics.json").exists()
    assert not (tmp_path / "out/report.html").exists()


def test_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(QuickstartError):
        prepare_out_dir(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
