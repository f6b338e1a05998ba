"""Training throughput: lamstudio (packed / padded) against TRL SFTTrainer, tokens/s and MFU.

    .venv/bin/python bench/train.py [--steps 10] [--rounds 1] [--batch 4] [--max-len 512]
                                    [--threads 1] [--json out.json]
    # the quickstart's pretrained base, LoRA r16 (all linear) in both trainers:
    .venv/bin/python bench/train.py --model smollm2-135m --batch 2 --max-len 1024 \
        --records 400 --steps 8 --threads 2 \
        --runs "lamstudio packed,TRL packed (bfd padding-free)"
    # on a GPU: a ~0.5B Llama built from config, bf16, SDPA or flash attention
    python bench/train.py --model 0.5b --batch 8 --max-len 2048 --records 4000 --steps 30 \
                          [--attn flash_attention_2] [--peak-tflops 989]

Builds, offline, a byte-level BPE and the ``tiny`` Llama (~6M parameters) on ~1,000
synthetic tool-calling records of varied length (1-4 tools, 1-3 turns, 0-2 calls per turn),
encodes them once with lamstudio's renderer (assistant-only labels), then trains, in the same
process, one after another, for the same number of optimizer steps, full fine-tuning, same
batch size in rows, same max length, same learning rate and schedule:

- lamstudio packed: ``lamstudio.train.train`` with ``data.packing=true`` (best-fit-decreasing
  packs, 4-D block-diagonal mask under SDPA);
- lamstudio padded: the same with ``data.packing=false`` (one example per row);
- TRL packed: ``SFTTrainer(packing=True)`` on the same token ids and labels (its default BFD
  packing, which turns on padding-free batches: one flattened row with position ids), with
  lamstudio's precision and memory settings (fp32, no gradient checkpointing): the fair one;
- TRL default: ``SFTTrainer`` as a user gets it (no packing, padded rows, and SFTConfig's own
  defaults ``bf16=True`` and ``gradient_checkpointing=True``).

The machine is shared and noisy: ``--rounds N`` repeats the four runs in a rotating order and
pools the per-step rates of all rounds before taking the median. One thread by default: on
this 2-core machine shared with other jobs, 2 OpenMP threads measured 12-16 s per step against
1.7 s with 1 thread (threads spin at barriers while the other core is taken); on a quiet
machine use ``--threads 2``. The default run (~4.5 min here) is dominated by "TRL default",
whose bf16 autocast + gradient checkpointing ran 14x slower than TRL in fp32 on this CPU.

``--model 0.5b`` is the GPU benchmark: hidden 1024, 24 layers, 16 heads, MLP 4096, the
embedding padded to 32,768 rows so that the output layer costs what a real vocabulary's
does (the BPE trained here has ~3k tokens; the extra rows are never targets), ~0.44B
parameters; it trains with bf16 autocast over fp32 master weights where the GPU has bf16
(lamstudio's ``precision: auto``; TRL's fair run is given ``bf16=True`` and the same weights).

MFU (model FLOPs utilisation) = real tokens/s x model FLOPs per token / peak FLOP/s. Model
FLOPs per token follow the PaLM paper's count, with each example's own length as the
attention context (packed examples attend only inside themselves) and the output layer
counted at trained positions only (lamstudio computes logits nowhere else; counting the
others would credit work that is not needed):
``6 * N_body + 6 * hidden * vocab * trained_share + 12 * layers * hidden * sum(n^2) / sum(n)``.
It is an average over the data, not a per-step count. The peak is bf16 dense tensor-core
FLOP/s, looked up from the GPU's name (H100/H200 SXM 989, H100 PCIe 756, A100 312, L40S
362 TFLOP/s) or given with ``--peak-tflops``; on a CPU MFU is printed only when
``--peak-tflops`` is given.

Throughput counts real tokens only (no padding): for lamstudio from the data plan, for TRL
from ``num_input_tokens_seen`` in ``non_padding`` mode. Per-step times are taken at
``on_step_end``; the first 2 steps of each run are warm-up and excluded. Prints the median
per-step tokens/s of each run and ratios against TRL packed (the named baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WARMUP = 2
NOUNS = ("city order flight hotel stock user invoice ticket song movie route device account "
         "package recipe meeting").split()
VERBS = "get find list search book cancel update track convert compute check".split()
SYLLABLES = "ka ro mi ten sul bar qui lo ven dra pe sto lin mar ex tro cal fi gen nu".split()


def word_pool(rng: random.Random, n: int = 1500) -> list[str]:
    """Made-up words, so the tokenizer sees varied text (synthetic data alone stops a BPE
    near a few hundred merges, FIELD_NOTES) and the model a realistic vocabulary size."""
    return NOUNS + VERBS + ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
                            for _ in range(n)]


def make_tools(rng: random.Random, n: int = 40) -> list[dict]:
    tools = []
    for i in range(n):
        props = {f"{rng.choice(NOUNS)}_{k}": {"type": rng.choice(["string", "integer"]),
                                              "description": f"the {rng.choice(NOUNS)}"}
                 for k in range(rng.randint(1, 4))}
        tools.append({"type": "function", "function": {
            "name": f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}_{i}",
            "description": f"{rng.choice(VERBS).title()} a {rng.choice(NOUNS)} by "
                           f"{' and '.join(props)}",
            "parameters": {"type": "object", "properties": props, "required": list(props)[:1]}}})
    return tools


def make_record(k: int, tools: list[dict], words: list[str], rng: random.Random) -> dict:
    offered = rng.sample(tools, rng.randint(1, 4))
    messages: list[dict] = []
    for _ in range(rng.randint(1, 3)):
        messages.append({"role": "user", "content": " ".join(
            rng.choices(words, k=rng.randint(4, 30))) + "?"})
        calls = []
        for _ in range(rng.choice([0, 1, 1, 2])):
            fn = rng.choice(offered)["function"]
            args = {p: (rng.randint(0, 99999) if spec["type"] == "integer"
                        else " ".join(rng.choices(NOUNS, k=rng.randint(1, 3))))
                    for p, spec in fn["parameters"]["properties"].items()}
            calls.append({"type": "function", "function": {"name": fn["name"],
                                                           "arguments": args}})
        if calls:
            messages.append({"role": "assistant", "tool_calls": calls})
            for c in calls:
                messages.append({"role": "tool", "name": c["function"]["name"],
                                 "content": json.dumps({"ok": True, "n": rng.randint(0, 99)})})
        messages.append({"role": "assistant", "content": " ".join(
            rng.choices(words, k=rng.randint(3, 25))) + "."})
    return {"id": f"r{k}", "source": "bench", "tools": offered, "messages": messages}


# Model shapes (lamstudio.train sizes or config dicts).
MODELS: dict[str, str | dict[str, int]] = {
    "tiny": "tiny",
    "0.5b": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                 num_attention_heads=16, num_key_value_heads=16, vocab_size=32768),
    # A real pretrained base (lamstudio.models): LoRA on the quickstart's generated data.
    "smollm2-135m": "registered",
}
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# bf16 dense tensor-core peak, TFLOP/s, by a piece of the device name (first match wins).
PEAK_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.4), ("H200", 989.4), ("A100", 312.0),
                    ("L40S", 362.0))


def prepare_registered(root: Path, n_records: int, name: str) -> dict[str, Any]:
    """A registered pretrained base and the quickstart's generated records, rendered with
    the base's own renderer (``chatml_tools`` for SmolLM2): what the quickstart trains."""
    from transformers import AutoConfig, AutoTokenizer

    from lamstudio.models import resolve_model
    from lamstudio.render import Renderer
    from lamstudio.schema import Trajectory
    from lamstudio.synth import generate, record_issues

    base = resolve_model(name)
    records = [r for r in generate("train", n_records, 0) if not record_issues(r)]
    data = root / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    tok = AutoTokenizer.from_pretrained(base)
    renderer = Renderer(tok)
    encoded = [renderer.encode(Trajectory.model_validate(r)) for r in records]
    prov = json.loads((Path(base) / "lamstudio_model.json").read_text())
    return {"data": data, "model": Path(base), "tokenizer": tok, "encoded": encoded,
            "params": prov["parameters"], "vocab": len(tok),
            "config": AutoConfig.from_pretrained(base)}


def prepare(root: Path, n_records: int, model: str = "tiny") -> dict[str, Any]:
    """Data file, tokenizer, tiny model, and the encoded examples (shared by every run)."""
    from transformers import AutoTokenizer

    if MODELS[model] == "registered":
        return prepare_registered(root, n_records, model)

    from lamstudio.render import Renderer
    from lamstudio.schema import Trajectory
    from lamstudio.train import build_model, count_params, train_tokenizer

    rng = random.Random(0)
    tools = make_tools(rng)
    words = word_pool(rng)
    records = [make_record(k, tools, words, rng) for k in range(n_records)]
    data = root / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    train_tokenizer(records, 8000, root / "tok")
    model = build_model(MODELS[model], root / "tok", root / "model")
    tok = AutoTokenizer.from_pretrained(root / "model")
    renderer = Renderer(tok)
    encoded = [renderer.encode(Trajectory.model_validate(r)) for r in records]
    return {"data": data, "model": root / "model", "tokenizer": tok, "encoded": encoded,
            "params": count_params(model), "vocab": len(tok), "config": model.config}


def flops_per_token(assets: dict[str, Any], max_len: int) -> float:
    """Model FLOPs (forward + backward) per real token, averaged over the records that fit."""
    from lamstudio.render import IGNORE_INDEX

    c = assets["config"]
    h, layers, vocab = c.hidden_size, c.num_hidden_layers, c.vocab_size
    body = assets["params"] - vocab * h  # tied embedding: the output layer is counted below
    fit = [e for e in assets["encoded"] if len(e.input_ids) <= max_len]
    if not fit:
        raise SystemExit(f"--max-len {max_len}: no record fits (shortest "
                         f"{min(len(e.input_ids) for e in assets['encoded'])} tokens)")
    tokens = sum(len(e.input_ids) for e in fit)
    trained = sum(lab != IGNORE_INDEX for e in fit for lab in e.labels)
    return (6 * body + 6 * h * vocab * trained / tokens
            + 12 * layers * h * sum(len(e.input_ids) ** 2 for e in fit) / tokens)


def peak_flops(args: argparse.Namespace) -> float | None:
    """Peak FLOP/s for MFU: --peak-tflops, else looked up from the GPU's name, else None."""
    import torch

    if args.peak_tflops:
        return args.peak_tflops * 1e12
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    return next((t * 1e12 for key, t in PEAK_BF16_TFLOPS if key in name), None)


def step_clock() -> Any:
    """A TrainerCallback recording the time and tokens seen at every optimizer step."""
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.seen: list[int] = []

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.times, self.seen = [time.perf_counter()], [state.num_input_tokens_seen]

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.times.append(time.perf_counter())
            self.seen.append(state.num_input_tokens_seen)

    return Clock()


def steps_after_warmup(times: list[float], tokens: list[int]) -> list[tuple[int, float]]:
    """(real tokens, seconds) of every optimizer step after the warm-up steps."""
    dts = [b - a for a, b in zip(times, times[1:], strict=False)]
    return list(zip(tokens, dts, strict=False))[WARMUP:]


def summarize(pairs: list[tuple[int, float]]) -> dict[str, float]:
    """Median per-step tokens/s and the overall rate."""
    return {"median_tok_s": statistics.median(n / dt for n, dt in pairs),
            "overall_tok_s": sum(n for n, _ in pairs) / sum(dt for _, dt in pairs),
            "tokens_per_step": statistics.median(n for n, _ in pairs),
            "median_step_s": statistics.median(dt for _, dt in pairs), "steps": len(pairs)}


def run_lamstudio(assets: dict[str, Any], out: Path, args: argparse.Namespace,
                  packing: bool) -> list[tuple[int, float]]:
    from lamstudio.train import load_config, train

    cfg = load_config(base={
        "run_dir": str(out), "seed": 0,
        "model": {"name_or_path": str(assets["model"]), "attn_implementation": args.attn},
        "data": {"sources": [{"path": str(assets["data"])}], "max_len": args.max_len,
                 "packing": packing},
        "train": {"mode": "lora" if args.lora else "full", "max_steps": args.steps,
                  "batch_size": args.batch, "lr": 1e-3, "warmup_ratio": 0.05,
                  "logging_steps": 10, "save_steps": 10**9, "threads": args.threads,
                  "report_to": []},
        "lora": {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": LORA_TARGETS}})
    clock = step_clock()
    result = train(cfg, callbacks=[clock])
    return steps_after_warmup(clock.times, result.step_tokens)


def run_trl(assets: dict[str, Any], out: Path, args: argparse.Namespace,
            packing: bool, defaults: bool = False) -> list[tuple[int, float]]:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()  # what lamstudio's precision "auto" picks
    # The same token ids and assistant-only labels lamstudio trains on (TRL takes a
    # pre-tokenized dataset with "input_ids" and "labels" as is); over-long ones dropped
    # as lamstudio does.
    rows = [{"input_ids": e.input_ids, "labels": e.labels} for e in assets["encoded"]
            if len(e.input_ids) <= args.max_len]
    config = SFTConfig(
        output_dir=str(out), max_steps=args.steps, per_device_train_batch_size=args.batch,
        learning_rate=1e-3, lr_scheduler_type="cosine", warmup_steps=0.05, logging_steps=10,
        max_length=args.max_len,
        packing=packing, save_strategy="no", report_to="none", use_cpu=not cuda, seed=0,
        include_num_input_tokens_seen="non_padding", disable_tqdm=True,
        dataloader_num_workers=0,
        **({} if defaults else {"bf16": bf16, "gradient_checkpointing": False}))
    # Full fine-tuning in lamstudio keeps fp32 master weights under bf16 autocast; TRL
    # gets the same (its SFTConfig default is bf16=True too).
    model = AutoModelForCausalLM.from_pretrained(assets["model"], dtype=torch.float32,
                                                 attn_implementation=args.attn)
    peft_config = None
    if args.lora:  # the same adapter lamstudio trains
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                 target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                         processing_class=assets["tokenizer"], peft_config=peft_config)
    clock = step_clock()
    trainer.add_callback(clock)
    torch.set_num_threads(args.threads)
    trainer.train()
    seen = clock.seen
    return steps_after_warmup(clock.times, [b - a for a, b in zip(seen, seen[1:], strict=False)])


RUNS = {
    "lamstudio packed": lambda a, o, x: run_lamstudio(a, o, x, packing=True),
    "lamstudio padded": lambda a, o, x: run_lamstudio(a, o, x, packing=False),
    "TRL packed (bfd padding-free)": lambda a, o, x: run_trl(a, o, x, packing=True),
    "TRL default (padded bf16 ckpt)": lambda a, o, x: run_trl(a, o, x, packing=False,
                                                                defaults=True),
}
BASELINE = "TRL packed (bfd padding-free)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", choices=list(MODELS), default="tiny")
    ap.add_argument("--attn", default="sdpa", help="sdpa | flash_attention_2 | eager")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="peak FLOP/s for MFU (default: looked up from the GPU's name)")
    ap.add_argument("--runs", default=",".join(RUNS),
                    help="comma-separated subset of: " + ", ".join(RUNS))
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--lora", action=argparse.BooleanOptionalAction, default=None,
                    help="LoRA r16 on all linear layers, both trainers (default: on for "
                         "smollm2-135m, off otherwise)")
    args = ap.parse_args()
    if args.lora is None:
        args.lora = MODELS[args.model] == "registered"

    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        assets = prepare(root, args.records, args.model)
        lens = sorted(len(e.input_ids) for e in assets["encoded"])
        fpt, peak = flops_per_token(assets, args.max_len), peak_flops(args)
        print(f"{args.model} model: {assets['params'] / 1e6:.2f}M params, vocab "
              f"{assets['vocab']} (embedding {assets['config'].vocab_size}), "
              f"{fpt / 1e9:.2f} GFLOP/token; "
              f"{len(lens)} records, tokens median {lens[len(lens) // 2]}, max {lens[-1]}; "
              f"setup {time.perf_counter() - t0:.0f}s")
        names = [n.strip() for n in args.runs.split(",") if n.strip()]
        unknown = [n for n in names if n not in RUNS]
        if unknown or BASELINE not in names:
            ap.error(f"--runs: unknown {unknown} (the baseline {BASELINE!r} is required)")
        pooled: dict[str, list[tuple[int, float]]] = {name: [] for name in names}
        for rnd in range(args.rounds):
            for name in names[rnd % len(names):] + names[: rnd % len(names)]:
                t1 = time.perf_counter()
                pairs = RUNS[name](assets, root / f"run{rnd}-{names.index(name)}", args)
                pooled[name] += pairs
                r = summarize(pairs)
                print(f"round {rnd + 1} {name:34s} {r['median_tok_s']:8,.0f} tok/s "
                      f"(median step) {r['tokens_per_step']:6,.0f} tok/step "
                      f"[{time.perf_counter() - t1:.0f}s]", flush=True)
        results = {name: summarize(p) for name, p in pooled.items()}
    for r in results.values():
        r["mfu"] = r["median_tok_s"] * fpt / peak if peak else None
    base = results[BASELINE]["median_tok_s"]
    print(f"\nreal tokens/s, {args.rounds} rounds x {args.steps} steps "
          f"(first {WARMUP} of each run excluded); ratio against {BASELINE}:")
    for name, r in results.items():
        mfu = f"  MFU {r['mfu']:6.1%}" if r["mfu"] is not None else ""
        print(f"  {name:34s} median {r['median_tok_s']:7,.0f}  overall "
              f"{r['overall_tok_s']:7,.0f}  {r['median_tok_s'] / base:5.2f}x{mfu}")
    if peak is None:
        print("MFU: no peak known for this device (give --peak-tflops)")
    if args.json:
        args.json.write_text(json.dumps({
            "date": date.today().isoformat(), "machine": platform.machine(),
            "cores": os.cpu_count(), "device": device_name(),
            "flops_per_token": fpt, "peak_flops": peak,
            "args": {k: v for k, v in vars(args).items() if k != "json"},
            "results": results}, indent=1))


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return platform.processor() or platform.machine()  # processor() is often "" on Linux


if __name__ == "__main__":
    main()
