"""Serving throughput and latency: ``lamstudio serve`` under 1, 8 and 32 concurrent clients.

Baseline, measured in the same run on the same prompts: ``model.generate`` called directly,
one request at a time (greedy, same ``max_new_tokens``), i.e. what a script without a server
does. The server runs as a real ``lamstudio serve`` subprocess on 127.0.0.1 (transformers
engine, batching on); clients are threads posting with httpx. Each level is bounded by a
request count and a time cap.

    python bench/serve.py                      # a tiny model built here (seconds)
    python bench/serve.py --model PATH --requests 32 --max-tokens 16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
NAME = "lamstudio serve"
CITIES = ["Paris", "Tokyo", "London", "Rome", "Oslo", "Lima", "Cairo", "Quito"]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


def _messages(k: int) -> list[dict]:
    return [{"role": "user", "content": f"What is the weather in {CITIES[k % len(CITIES)]}?"}]


def build_tiny(folder: Path) -> Path:
    from lamstudio.train import build_model, train_tokenizer

    texts = [f"What is the weather in {c}? It is {k} C." for k, c in enumerate(CITIES * 20)]
    tok = train_tokenizer(texts, 800, folder)
    build_model("tiny", tok, folder)
    return folder


def baseline(model: str, n: int, max_tokens: int, threads: int, label: str = "") -> dict:
    """Direct transformers generate, one request at a time (after one warm-up call)."""
    import torch

    from lamstudio.serve import TransformersEngine

    torch.set_num_threads(threads)
    eng = TransformersEngine(model)  # for the same renderer and prompt as the server
    from lamstudio.schema import Trajectory

    lat = []
    t0 = time.perf_counter()
    for k in range(-1, n):  # k = -1: warm-up, not counted
        if k == 0:
            lat, t0 = [], time.perf_counter()
        s = time.perf_counter()
        text = eng.renderer.prompt_text(Trajectory(id="b", tools=TOOLS, messages=_messages(k)))
        ids = torch.tensor([eng.tokenizer(text, add_special_tokens=False)["input_ids"]])
        with torch.inference_mode():
            eng.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                               do_sample=False, max_new_tokens=max_tokens,
                               eos_token_id=eng.renderer.stop_token_ids,
                               pad_token_id=eng.pad_id)
        lat.append(time.perf_counter() - s)
    return _summary(f"transformers generate, 1 at a time (baseline{label})", 1, lat,
                    time.perf_counter() - t0)


def _summary(name: str, clients: int, lat: list[float], wall: float, **extra) -> dict:
    lat = sorted(lat)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    return {"name": name, "clients": clients, "requests": len(lat), "wall_s": round(wall, 2),
            "req_per_s": round(len(lat) / wall, 3), "p50_s": round(statistics.median(lat), 3),
            "p95_s": round(p95, 3), **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, threads: int, max_batch: int,
                 engine: str = "transformers") -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "lamstudio", "serve", "--model", model,
                             "--engine", engine, "--port", str(port), "--threads", str(threads),
                             "--max-batch", str(max_batch), "--max-queue", "256",
                             "--model-id", "bench"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(6000):  # vLLM takes minutes to load and compile
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            if proc.poll() is not None:
                raise SystemExit("the server exited during start-up") from None
            time.sleep(0.1)
    raise SystemExit("the server did not start in 10 minutes")


def _health(base: str) -> dict:
    """lamstudio's batch counters; vLLM's /health has none."""
    try:
        return httpx.get(base + "/health").json()
    except ValueError:
        return {}


def level(base: str, clients: int, n: int, max_tokens: int, cap_s: float) -> dict:
    deadline = time.monotonic() + cap_s
    health0 = _health(base)

    def one(k: int) -> float | None:
        if time.monotonic() > deadline:
            return None
        body = {"model": "bench", "messages": _messages(k), "tools": TOOLS,
                "max_tokens": max_tokens, "temperature": 0}
        s = time.perf_counter()
        r = httpx.post(base + "/v1/chat/completions", json=body, timeout=600)
        r.raise_for_status()
        return time.perf_counter() - s

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        got = [x for x in pool.map(one, range(n)) if x is not None]
    wall = time.perf_counter() - t0
    health = _health(base)
    extra = {}
    if health:
        batches = health["batches"] - health0["batches"]
        extra["mean_batch"] = round((health["requests"] - health0["requests"])
                                    / max(batches, 1), 2)
    return _summary(f"{NAME}, {clients} concurrent", clients, got, wall, **extra)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model folder (default: a tiny model built here)")
    ap.add_argument("--requests", type=int, default=32, help="requests per level")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--cap-s", type=float, default=300, help="time cap per level")
    ap.add_argument("--engine", default="transformers", help="lamstudio serve --engine")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(build_tiny(Path(tmp) / "tiny"))
        # The baseline runs before and after the server: load on a shared machine drifts.
        rows = [baseline(model, args.requests, args.max_tokens, args.threads, ", before")]
        print(json.dumps(rows[-1]), flush=True)
        global NAME
        NAME = f"lamstudio serve --engine {args.engine}"
        proc, base = start_server(model, args.threads, args.max_batch, args.engine)
        try:
            level(base, 2, 4, args.max_tokens, 60)  # warm-up, not reported
            for c in (int(x) for x in args.clients.split(",")):
                rows.append(level(base, c, args.requests, args.max_tokens, args.cap_s))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            proc.terminate()
            proc.wait(30)
        rows.append(baseline(model, args.requests, args.max_tokens, args.threads, ", after"))
        print(json.dumps(rows[-1]), flush=True)
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                         f"Python {platform.python_version()}",
              "date": time.strftime("%Y-%m-%d %H:%M"), "load": os.getloadavg(),
              "model": args.model or "tiny (6.3M, random weights, built here)",
              "max_tokens": args.max_tokens, "max_batch": args.max_batch, "rows": rows}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    # The ratio is against the mean of the two baseline runs.
    base_rps = (rows[0]["req_per_s"] + rows[-1]["req_per_s"]) / 2
    print("\n| run | clients | req/s | p50 s | p95 s | mean batch | vs baseline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['name']} | {r['clients']} | {r['req_per_s']} | {r['p50_s']} | "
              f"{r['p95_s']} | {r.get('mean_batch', '-')} | {r['req_per_s'] / base_rps:.2f}x |")


if __name__ == "__main__":
    main()
