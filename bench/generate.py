"""Generation speed: the llama.cpp engine vs transformers fp32, same model, prompts, settings.

Both engines answer the same BFCL prompts (``simple_python`` and ``multiple``, rendered by
the model's ``Renderer`` exactly as ``lamstudio eval`` does) greedily with the same token
budget, in one run:

* batch 1: one prompt at a time, a cold prefill each (llama.cpp keeps no prefix); prefill
  tokens/s = prompt tokens / time of the prompt's forward pass, decode tokens/s = generated
  tokens / the rest;
* batched: every prompt at once, as ``lamstudio eval`` runs them (transformers:
  ``greedy_generate``, left-padded batches of ``--batch``; llama.cpp: the engine's
  requests one after another with the shared prompt prefix kept in the KV cache);
* llama.cpp multi-sequence (not shipped, measured to justify that): ``llama_batch`` with
  one sequence id per prompt, greedy, decoded together.

Answers are compared: llama.cpp on the model's own GGUF (SmolLM2: Q4_1; ``--as q8_0``: that
file re-quantized, e.g. to the type ``lamstudio export --gguf q8_0`` writes) against transformers
on the prepared fp32 folder (the same weights, dequantized), and, with ``--f32``, llama.cpp
on an F32 GGUF re-quantized from the same file (the numerically comparable pair).

    python bench/generate.py                     # smollm2-135m, 16 prompts, 64 tokens
    python bench/generate.py --as q8_0           # the same GGUF re-quantized to Q8_0
    python bench/generate.py --model FILE.gguf --prompts 8 --f32
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any


def prompts_of(renderer: Any, n: int) -> list[list[int]]:
    from lamstudio.eval import load_suite, prompt_ids

    half = max(1, n // 2)
    cases = load_suite("bfcl:simple_python", half) + load_suite("bfcl:multiple", n - half)
    return [prompt_ids(renderer, (c.turns[0], c.tools(), c.system)) for c in cases]


# -- transformers ----------------------------------------------------------------------
def hf_batch1(model: Any, renderer: Any, prompts: list[list[int]], new: int) -> dict:
    import torch

    stops = renderer.stop_token_ids
    pre = dec = 0.0
    out, n_new = [], 0
    for ids in prompts:
        x = torch.tensor([ids])
        with torch.inference_mode():
            t0 = time.perf_counter()
            model(x)
            t1 = time.perf_counter()
            row = model.generate(input_ids=x, attention_mask=torch.ones_like(x),
                                 do_sample=False, max_new_tokens=new, eos_token_id=stops,
                                 pad_token_id=stops[0])[0, len(ids):].tolist()
            t2 = time.perf_counter()
        pre, dec = pre + (t1 - t0), dec + max(1e-9, (t2 - t1) - (t1 - t0))
        cut = next((k for k, t in enumerate(row) if t in stops), len(row))
        out.append(renderer.decode(row[:cut]))
        n_new += cut
    return _rates(prompts, out, n_new, pre, dec)


def hf_batched(model: Any, renderer: Any, prompts: list[list[int]], new: int,
               batch: int) -> dict:
    from lamstudio.eval import greedy_generate

    t0 = time.perf_counter()
    gens = greedy_generate(model, renderer, prompts, max_new_tokens=new, batch_size=batch)
    wall = time.perf_counter() - t0
    out = [g.text for g in gens]
    n_new = sum(len(renderer.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in out)
    return {"texts": out, "new_tokens": n_new, "wall_s": wall, "tokens_per_s": n_new / wall}


# -- llama.cpp -------------------------------------------------------------------------
def cpp_run(engine: Any, prompts: list[list[int]], new: int, cold: bool) -> dict:
    from lamstudio.llm import Sampling

    stops = set(engine.renderer.stop_token_ids)
    before = dict(engine.stats)
    out, n_new = [], 0
    t0 = time.perf_counter()
    for ids in prompts:
        if cold:
            engine.forget()
        seq: list[int] = []

        def on_token(tok: int, seq: list[int] = seq) -> bool:
            if tok in stops:
                return True
            seq.append(tok)
            return len(seq) >= new

        engine.generate(ids, Sampling(), on_token)
        out.append(engine.renderer.decode(seq))
        n_new += len(seq)
    wall = time.perf_counter() - t0
    pre = engine.stats["prefill_s"] - before["prefill_s"]
    dec = engine.stats["decode_s"] - before["decode_s"]
    res = _rates(prompts, out, n_new, pre, dec)
    res.update(wall_s=wall, tokens_per_s=n_new / wall,
               reused_tokens=engine.stats["reused_tokens"] - before["reused_tokens"])
    return res


def cpp_multiseq(engine: Any, prompts: list[list[int]], new: int) -> dict:
    """All prompts as separate sequences of one llama_batch, greedy (not what ships)."""
    import llama_cpp
    import numpy as np

    llm, n = engine._llm, len(prompts)
    cp = llama_cpp.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = 8192, 4096, 512, n
    cp.n_threads = cp.n_threads_batch = engine.threads
    ctx = llama_cpp.llama_init_from_model(llm._model.model, cp)
    batch = llama_cpp.llama_batch_init(4096, 0, n)
    nv, stops = llm.n_vocab(), set(engine.renderer.stop_token_ids)

    def put(i: int, tok: int, pos: int, seq: int, logits: bool) -> None:
        batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, pos, 1
        batch.seq_id[i][0], batch.logits[i] = seq, logits

    t0 = time.perf_counter()
    k, last = 0, {}
    for s, ids in enumerate(prompts):
        for j, tok in enumerate(ids):
            put(k, tok, j, s, j == len(ids) - 1)
            k += 1
        last[s] = k - 1
    batch.n_tokens = k
    assert llama_cpp.llama_decode(ctx, batch) == 0
    outs: list[list[int]] = [[] for _ in prompts]
    pos, live = {s: len(p) for s, p in enumerate(prompts)}, set(range(n))
    while live:
        step = {}
        for s in sorted(live):
            row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, last[s]),
                                        shape=(nv,))
            tok = int(row.argmax())
            if tok in stops or len(outs[s]) >= new:
                live.discard(s)
            else:
                outs[s].append(tok)
                step[s] = tok
        if not step:
            break
        for i, (s, tok) in enumerate(step.items()):
            put(i, tok, pos[s], s, True)
            last[s], pos[s] = i, pos[s] + 1
        batch.n_tokens = len(step)
        assert llama_cpp.llama_decode(ctx, batch) == 0
    wall = time.perf_counter() - t0
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
    n_new = sum(map(len, outs))
    return {"texts": [engine.renderer.decode(o) for o in outs], "new_tokens": n_new,
            "wall_s": wall, "tokens_per_s": n_new / wall}


def _rates(prompts: list[list[int]], texts: list[str], n_new: int, pre: float,
           dec: float) -> dict:
    n_prompt = sum(map(len, prompts))
    return {"texts": texts, "new_tokens": n_new, "prompt_tokens": n_prompt,
            "prefill_s": pre, "decode_s": dec, "prefill_tokens_per_s": n_prompt / pre,
            "decode_tokens_per_s": n_new / dec, "tokens_per_s": n_new / (pre + dec)}


FTYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7}  # llama_ftype values


def requantized(gguf: Path, folder: Path, kind: str = "f32") -> Path:
    """``gguf`` re-quantized to ``kind`` (f32: the same weights as the dequantized folder)."""
    import llama_cpp

    out = folder / f"{gguf.stem}.{kind.upper()}.gguf"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize, params.nthread = FTYPES[kind], True, 2
    if llama_cpp.llama_model_quantize(str(gguf).encode(), str(out).encode(),
                                      ctypes.byref(params)) != 0:
        raise RuntimeError(f"cannot re-quantize {gguf} to F32")
    return out


def same(a: list[str], b: list[str]) -> str:
    from lamstudio.eval._decode import decode_output

    calls = sum(decode_output(x)[0] == decode_output(y)[0] for x, y in zip(a, b, strict=True))
    text = sum(x == y for x, y in zip(a, b, strict=True))
    return f"{text}/{len(a)} identical texts, {calls}/{len(a)} identical decoded calls"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--gguf", default=None)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--f32", action="store_true", help="also compare an F32 GGUF")
    ap.add_argument("--as", dest="as_type", choices=sorted(FTYPES), default=None,
                    help="run llama.cpp on the model's GGUF re-quantized to this type")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch
    from transformers import AutoModelForCausalLM

    from lamstudio.llm import LlamaCppModel, default_threads

    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    engine = LlamaCppModel(args.model, gguf=args.gguf, threads=threads)
    if args.as_type:
        keep = tempfile.mkdtemp()
        path = requantized(engine.gguf, Path(keep), args.as_type)
        engine.close()
        engine = LlamaCppModel(args.model, gguf=str(path), threads=threads)
    folder, renderer = engine.files.folder, engine.renderer
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    prompts = prompts_of(renderer, args.prompts)
    new, load = args.max_new_tokens, os.getloadavg()
    cpp_run(engine, prompts[:1], 4, cold=True)  # warm-up both
    hf_batched(model, renderer, prompts[:1], 4, 1)

    r = {"hf_b1": hf_batch1(model, renderer, prompts, new),
         "cpp_b1": cpp_run(engine, prompts, new, cold=True),
         "hf_batched": hf_batched(model, renderer, prompts, new, args.batch),
         "cpp_batched": cpp_run(engine, prompts, new, cold=False)}
    r["cpp_seq_k"] = cpp_run(engine, prompts[:args.batch], new, cold=False)
    r["cpp_multiseq"] = cpp_multiseq(engine, prompts[:args.batch], new)
    if args.f32:
        with tempfile.TemporaryDirectory() as tmp:
            f32 = LlamaCppModel(folder, gguf=str(requantized(engine.gguf, Path(tmp))),
                                threads=threads)
            r["cpp_f32_b1"] = cpp_run(f32, prompts, new, cold=True)
            f32.close()
    report(args, r, threads, load, engine, len(prompts))


def report(args: Any, r: dict, threads: int, load: tuple, engine: Any, n: int) -> None:
    h1, c1, hb, cb = r["hf_b1"], r["cpp_b1"], r["hf_batched"], r["cpp_batched"]
    print(f"\n## generate: {args.model} ({engine.gguf.name}), {n} BFCL prompts, greedy, "
          f"<= {args.max_new_tokens} new tokens, {threads} threads")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; date {time.strftime('%Y-%m-%d %H:%M')}; load before "
          f"{load[0]:.2f} / after {os.getloadavg()[0]:.2f}\n")
    print("| engine | setting | prefill tok/s | decode tok/s | generated tok/s | ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    rows = [("transformers fp32", "batch 1", h1, h1), ("llama.cpp", "batch 1", c1, h1)]
    if "cpp_f32_b1" in r:
        rows.append(("llama.cpp F32 GGUF", "batch 1", r["cpp_f32_b1"], h1))
    rows += [("transformers fp32", f"batched ({args.batch})", hb, hb),
             ("llama.cpp", "batched (sequential + prefix cache)", cb, hb),
             ("llama.cpp multi-seq (not shipped)", f"{args.batch} seqs", r["cpp_multiseq"],
              None)]
    for name, setting, x, base in rows:
        pre = f"{x['prefill_tokens_per_s']:.0f}" if "prefill_tokens_per_s" in x else "-"
        dec = f"{x['decode_tokens_per_s']:.1f}" if "decode_tokens_per_s" in x else "-"
        ratio = f"{x['tokens_per_s'] / base['tokens_per_s']:.2f}x" if base else "-"
        print(f"| {name} | {setting} | {pre} | {dec} | {x['tokens_per_s']:.1f} | {ratio} |")
    print(f"\nanswers, llama.cpp vs transformers (batch 1): {same(c1['texts'], h1['texts'])}")
    if "cpp_f32_b1" in r:
        print(f"answers, llama.cpp F32 GGUF vs transformers: "
              f"{same(r['cpp_f32_b1']['texts'], h1['texts'])}")
    print(f"answers, llama.cpp batched vs batch 1: {same(cb['texts'], c1['texts'])} "
          f"({cb['reused_tokens']} prompt tokens reused from the KV cache)")
    print(f"answers, transformers batched vs batch 1: {same(hb['texts'], h1['texts'])}")
    k = args.batch
    print(f"answers, llama.cpp multi-seq vs one at a time: "
          f"{same(r['cpp_multiseq']['texts'], c1['texts'][:k])}; multi-seq "
          f"{r['cpp_multiseq']['tokens_per_s']:.1f} tok/s vs one at a time "
          f"{r['cpp_seq_k']['tokens_per_s']:.1f} on the same {k} prompts")
    if args.json:
        args.json.write_text(json.dumps({k: {a: b for a, b in v.items() if a != "texts"}
                                         for k, v in r.items()}, indent=2))


if __name__ == "__main__":
    main()
