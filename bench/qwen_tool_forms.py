"""What Qwen2.5-Coder actually emits zero-shot when offered tools, and whether lamstudio reads it.

    .venv/bin/python bench/qwen_tool_forms.py [--model qwen2.5-coder-0.5b] [--limit 5]
        [--suite bfcl:...|records.jsonl] [--engine llamacpp|transformers]
        [--out out/qwen-forms.jsonl]

The suite's cases (by default the first ``--limit`` of BFCL's simple_python, multiple,
parallel, parallel_multiple and irrelevance; or a JSONL file of lamstudio records, e.g. the
quickstart's held-out split) are rendered exactly as ``lamstudio eval`` renders them (the
model's own chat template, ``tools`` branch), decoded greedily, and each output is sorted by
its form (``<tool_call>`` tags, bare JSON, fenced JSON, text; how many calls) and parsed by
``lamstudio.render.parse_output``; ``lamstudio eval``'s checker scores it. The llama.cpp
engine runs the joined Q4_K_M GGUF the registry keeps in the cache (llama-cpp-python, ~6x
faster here); ``transformers`` runs the prepared fp32 folder, as ``lamstudio eval`` does.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import time
from pathlib import Path
from typing import Any

SUITE = "bfcl:simple_python,multiple,parallel,parallel_multiple,irrelevance"


def form_of(text: str) -> str:
    """The shape of one output, as the table in docs/models.md names it."""
    s = text.strip()
    if "<tool_call>" in s:
        return "tags"
    if s.startswith(("{", "[")):
        return "bare JSON"
    if re.search(r"```[a-z]*\s*[\[{]", s):
        return "fenced JSON" if s.startswith("```") else "text + fenced JSON"
    return "text"


def _llamacpp(gguf: Path, max_new: int) -> Any:
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), n_ctx=4096, n_threads=2, verbose=False)

    def run(ids: list[int]) -> str:
        out = llm.create_completion(prompt=ids, max_tokens=max_new, temperature=0.0,
                                    top_k=1)
        return out["choices"][0]["text"]
    return run


def _transformers(folder: Path, renderer: Any, max_new: int) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(2)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()

    def run(ids: list[int]) -> str:
        with torch.no_grad():
            out = model.generate(torch.tensor([ids]), max_new_tokens=max_new, do_sample=False,
                                 eos_token_id=renderer.stop_token_ids)
        return renderer.decode(out[0, len(ids):].tolist())
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--limit", type=int, default=5)
    ap.add_argument("--suite", default=SUITE)
    ap.add_argument("--engine", default="llamacpp", choices=["llamacpp", "transformers"])
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--out", type=Path, default=Path("out/qwen-forms.jsonl"))
    args = ap.parse_args()

    from transformers import AutoTokenizer

    from lamstudio.eval._score import score_case
    from lamstudio.eval._suite import load_suite
    from lamstudio.models import get_entry, resolve_model
    from lamstudio.render import Renderer, parse_output
    from lamstudio.schema import Trajectory

    folder = Path(resolve_model(args.model))
    renderer = Renderer(AutoTokenizer.from_pretrained(folder))
    run = (_llamacpp(get_entry(args.model).require_file(), args.max_new_tokens)
           if args.engine == "llamacpp" else
           _transformers(folder, renderer, args.max_new_tokens))
    cases = load_suite(args.suite, limit=args.limit)
    forms: collections.Counter[str] = collections.Counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start, tokens = time.monotonic(), 0
    with args.out.open("w", encoding="utf-8") as fh:
        for case in cases:
            t = Trajectory(id=case.id, system=case.system, tools=case.tools(),
                           messages=case.turns[0])
            ids = renderer.prompt_ids(t)
            text = run(ids)
            tokens += len(renderer.tokenizer(text, add_special_tokens=False)["input_ids"])
            parsed = parse_output(text)
            score = score_case(case, {"output": text})
            form = form_of(text)
            n = len(parsed.calls)
            key = f"{form}, {'no call' if n == 0 else '1 call' if n == 1 else 'several calls'}"
            forms[key] += 1
            row = {"id": case.id, "category": case.category, "form": form,
                   "calls": n, "parse_error": parsed.error_code, "valid": score["valid"],
                   "code": score["code"], "output": text}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(f"{case.id:28} {form:18} calls={n} parse={parsed.error_code or 'ok':14} "
                  f"valid={score['valid']!s:5} {text[:70]!r}", flush=True)
    took = time.monotonic() - start
    print(f"\n{len(cases)} cases, {args.engine}, {took:.0f} s, {tokens / took:.1f} tokens/s "
          "(prefill included)")
    for key, count in forms.most_common():
        print(f"{count:4}  {key}")


if __name__ == "__main__":
    main()
