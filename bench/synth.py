"""Benchmark ``synth apigen``: how much the pipeline adds to the generator's own time.

In one run, the same N prompts go
1. to the backend alone (``complete_many`` with the same concurrency), and
2. through ``lamstudio.synth.apigen`` (plan, prompt, generate, parse, format, execution in
   the sandbox, dedup, journal, outputs, report), without a judge so both send N requests;
generations/s of each and their ratio. A warm-up run of 8 generations pays one-time
imports first. The generator is the scripted OpenAI-compatible server (real HTTP on
127.0.0.1, in its own process) answering after ``--delay`` seconds, which stands for a
served model's latency; ``--local-model FOLDER`` repeats it on a local transformers model.

    .venv/bin/python bench/synth.py [--n 512] [--concurrency 32] [--delay 0.25 1.0]
                                    [--local-model DIR --local-n 16] [--no-append]

Target: the pipeline adds < 10% to the generator's own time at 32 concurrent requests.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tests.support.scripted_server
sys.path.insert(0, str(ROOT / "tests" / "synth"))  # the scripted generator of the tests

from synth_helpers import TOOLS, ScriptedServer, generator_script  # noqa: E402

from lamstudio.llm import ChatBackend, LocalBackend, OpenAIBackend  # noqa: E402
from lamstudio.synth import (  # noqa: E402
    ApigenConfig,
    BackendConfig,
    ToolPool,
    apigen,
    build_messages,
    load_seeds,
    load_templates,
    make_plan,
)


def prompts(cfg: ApigenConfig) -> list[dict[str, Any]]:
    """The requests the pipeline will send, built from the same public pieces."""
    pool = ToolPool.load(builtin=cfg.builtin_tools, modules=cfg.tool_modules)
    templates = {t.id: t for t in load_templates()}
    seeds = {s.id: s for s in load_seeds()}
    out = []
    for task in make_plan(pool, list(templates.values()), list(seeds.values()), cfg):
        msgs = build_messages(templates[task.template], [pool.tools[n].spec for n in task.tools],
                              task.style, task.n_calls, [seeds[s] for s in task.examples])
        out.append({"messages": msgs, "params": {
            "temperature": cfg.temperature, "top_p": cfg.top_p, "max_tokens": cfg.max_tokens,
            "seed": cfg.seed * 1_000_003 + task.index}})
    return out


def timed_alone(backend: ChatBackend, reqs: list[dict[str, Any]], concurrency: int) -> float:
    async def run() -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(r: dict[str, Any]) -> Any:
            async with sem:
                return await backend.complete(r["messages"], **r["params"])

        await asyncio.gather(*(one(r) for r in reqs))
        if hasattr(backend, "aclose"):
            await backend.aclose()

    t0 = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - t0


def timed_pipeline(cfg: ApigenConfig, backend: ChatBackend) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = apigen(cfg, restart=True, generator=backend)
    return time.perf_counter() - t0, result


def _serve(delay: float, conn: Any) -> None:
    """The scripted generator in its own process, as a real server would be: the
    pipeline's CPU work must not slow the server's replies through the GIL."""
    script = generator_script(lambda i: "good")

    def delayed(body: dict[str, Any]) -> Any:
        reply = script(body)
        reply.delay_s = delay
        return reply

    with ScriptedServer(delayed) as srv:
        conn.send((srv.base_url, srv.model))
        conn.recv()  # until told to stop


def scripted(args: argparse.Namespace, delay: float, tmp: Path) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(delay, child), daemon=True)
    server.start()
    url, model = parent.recv()
    try:
        gen = BackendConfig("openai", model, url, key_env=None)
        cfg = ApigenConfig(output=str(tmp / "scripted.jsonl"), generator=gen, n=args.n,
                           builtin_tools=False, tool_modules=(TOOLS,),
                           concurrency=args.concurrency, chunk_size=args.chunk)
        reqs = prompts(cfg)
        # One-time costs (importing datasketch/scipy for dedup: ~9 s on a busy machine)
        # are paid by a short warm-up run, not by the timed one.
        apigen(ApigenConfig(**{**cfg.__dict__, "n": 8}), restart=True)

        def backend() -> OpenAIBackend:
            return OpenAIBackend(url, model, api_key_env=None, concurrency=args.concurrency)

        alone = timed_alone(backend(), reqs, args.concurrency)
        piped, result = timed_pipeline(cfg, backend())
    finally:
        parent.send("stop")
        server.join(10)
    return {"n": args.n, "alone_s": alone, "pipeline_s": piped,
            "kept": result.tally.kept}


def local(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    gen = BackendConfig("local", args.local_model, batch_size=args.local_batch, threads=1)
    cfg = ApigenConfig(output=str(tmp / "local.jsonl"), generator=gen, n=args.local_n,
                       max_tokens=args.local_max_tokens, concurrency=args.local_batch,
                       chunk_size=args.local_batch * 2)
    # one torch thread: two were 10x slower on the busy 2-core machine (docs/synth.md)
    backend = LocalBackend(args.local_model, batch_size=args.local_batch, threads=1).load()
    reqs = prompts(cfg)
    alone = timed_alone(backend, reqs, args.local_batch)
    piped, result = timed_pipeline(cfg, backend)
    return {"n": args.local_n, "alone_s": alone, "pipeline_s": piped,
            "kept": result.tally.kept}


def line(name: str, r: dict[str, Any]) -> str:
    ratio = r["pipeline_s"] / r["alone_s"]
    return (f"| {name} | {r['n']} | {r['n'] / r['alone_s']:.2f} | "
            f"{r['n'] / r['pipeline_s']:.2f} | {ratio:.3f} ({100 * (ratio - 1):+.1f}%) | "
            f"{r['kept']} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--delay", type=float, nargs="+", default=[0.25, 1.0])
    ap.add_argument("--local-model")
    ap.add_argument("--local-n", type=int, default=16)
    ap.add_argument("--local-batch", type=int, default=8)
    ap.add_argument("--local-max-tokens", type=int, default=64)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as d:
        rows = [line(f"scripted server, {delay:g} s/reply, {args.concurrency} concurrent",
                     scripted(args, delay, Path(d))) for delay in args.delay]
        if args.local_model:
            rows.append(line(f"local {Path(args.local_model).name}, batch {args.local_batch}, "
                             f"{args.local_max_tokens} new tokens", local(args, Path(d))))
    after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    text = "\n".join([
        f"### {date.today()}: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        f"load before: `{load}`; after: `{after}`", "",
        "| generator | n | backend alone (gen/s) | whole pipeline (gen/s) | pipeline / alone "
        "| kept |", "|---|---|---|---|---|---|", *rows, ""])
    print(text)
    if not args.no_append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
