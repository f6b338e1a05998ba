"""GGUF export: sizes, times, and greedy agreement of each file in llama.cpp with the source.

    .venv/bin/python bench/export_gguf.py [--model smollm2-135m] [--types f16,q8_0,q4_k_m]
                                          [--prompts 20] [--new-tokens 48]

Exports ``--model`` (a registered name, a folder or a run) with ``lamstudio.train.export_gguf``
and times each file. Then ``--prompts`` held-out quickstart records are rendered with the
model's ``Renderer`` (the prompt ids lamstudio itself would send), answered greedily by
transformers (fp32) on the source and by llama.cpp on each file, from the same ids:

* same tokens: the answer's token ids are identical;
* same calls: ``parse_output`` gives the same calls and text (what eval would score);
* prefix: the mean share of the source's answer that is reproduced before the first
  different token.

It also checks that llama.cpp tokenizes every rendered prompt to the Renderer's ids.
Needs llama-cpp-python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _prompts(n: int, renderer, tmp: Path) -> list[list[int]]:
    from lamstudio.schema import Trajectory
    from lamstudio.synth import write_quickstart_data

    data = write_quickstart_data(tmp / "data", 0, n, seed=7)
    rows = [Trajectory.model_validate(json.loads(line))
            for line in data.heldout.read_text(encoding="utf-8").splitlines()]
    prompts = []
    for t in rows[:n]:
        last_user = max(i for i, m in enumerate(t.messages) if m.role == "user")
        prompts.append(renderer.prompt_ids(t, last_user + 1))
    return prompts


def _hf_answers(folder: str, prompts: list[list[int]], n: int, stop: list[int]):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    out = []
    with torch.no_grad():
        for ids in prompts:
            gen = model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False,
                                 eos_token_id=stop, pad_token_id=stop[0])
            out.append(_cut(gen[0, len(ids):].tolist(), stop))
    return out


def _cut(tokens: list[int], stop: list[int]) -> list[int]:
    for k, tok in enumerate(tokens):
        if tok in stop:
            return tokens[:k + 1]
    return tokens


def _llama_answers(path: Path, prompts: list[list[int]], n: int, stop: list[int],
                   renderer) -> tuple[list[list[int]], int, float]:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=2048, n_batch=512, verbose=False,
                          n_threads=2, seed=0)
    out, same_tok = [], 0
    start = time.perf_counter()
    try:
        for ids in prompts:
            text = renderer.tokenizer.decode(ids, skip_special_tokens=False)
            same_tok += llm.tokenize(text.encode("utf-8"), add_bos=False, special=True) == ids
            answer: list[int] = []
            for tok in llm.generate(ids, top_k=1, temp=0.0, reset=True):
                answer.append(int(tok))
                if tok in stop or len(answer) >= n:
                    break
            out.append(answer)
    finally:
        llm.close()
    return out, same_tok, time.perf_counter() - start


def _prefix(a: list[int], b: list[int]) -> float:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k / max(len(a), 1)


def _same_calls(renderer, a: list[int], b: list[int]) -> bool:
    pa, pb = (renderer.parse(renderer.decode(x)) for x in (a, b))
    return ([(c.name, c.arguments) for c in pa.calls], pa.content.strip(), pa.error_code) == \
        ([(c.name, c.arguments) for c in pb.calls], pb.content.strip(), pb.error_code)


def main() -> None:
    import torch
    from transformers import AutoTokenizer

    from lamstudio.models import resolve_model
    from lamstudio.render import Renderer
    from lamstudio.train import export_gguf

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--types", default="f16,q8_0,q4_k_m")
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--new-tokens", type=int, default=48)
    args = ap.parse_args()
    torch.set_num_threads(2)
    folder = resolve_model(args.model)
    renderer = Renderer(AutoTokenizer.from_pretrained(folder))
    stop = renderer.stop_token_ids
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = export_gguf(args.model, tmp / "gguf", [args.types], progress=False)
        prompts = _prompts(args.prompts, renderer, tmp)
        t0 = time.perf_counter()
        ref = _hf_answers(folder, prompts, args.new_tokens, stop)
        hf_s = time.perf_counter() - t0
        print(f"# GGUF export of {args.model} - {date.today()} - {platform.machine()}, "
              f"{os.cpu_count()} cores\n")
        print(f"{len(prompts)} held-out quickstart prompts, greedy, <= {args.new_tokens} new "
              f"tokens; source: transformers fp32 ({hf_s:.0f} s)\n")
        print("| type | size MB | export s | same tokens | same calls+text | prefix kept "
              "| prompt ids = Renderer's | llama.cpp s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for f in files:
            got, same_tok, secs = _llama_answers(f.path, prompts, args.new_tokens, stop,
                                                 renderer)
            exact = sum(a == b for a, b in zip(ref, got, strict=True))
            calls = sum(_same_calls(renderer, a, b) for a, b in zip(ref, got, strict=True))
            prefix = sum(_prefix(a, b) for a, b in zip(ref, got, strict=True)) / len(ref)
            n = len(ref)
            print(f"| {f.type} | {f.size / 1e6:.1f} | {f.seconds:.1f} | {exact}/{n} | "
                  f"{calls}/{n} | {prefix:.0%} | {same_tok}/{n} | {secs:.1f} |")


if __name__ == "__main__":
    main()
