"""Convert throughput on xLAM-60k-shaped rows, against the cost of merely parsing them.

    .venv/bin/python bench/convert.py [--rows 200000] [--repeats 3] [--profile]

Generates ``--rows`` rows shaped like Salesforce/xlam-function-calling-60k (JSON-string
``tools`` and ``answers``, flat Python-typed parameters, 0-4 calls, 1-5 tools from a pool
of 400 APIs) into a temporary JSONL file, then measures in the same run, alternating:

- floor: ``json.loads`` of every line and of its embedded ``tools`` and ``answers``;
- lamstudio: ``lamstudio.sources._convert.convert(..., "apigen", out.jsonl)``, i.e. read,
  map, validate, check ids, write JSONL and the rejects file, exactly as the CLI does.

Prints rows/s for both (median of the repeats) and the ratio, a per-stage cost breakdown on
a slice, and with ``--profile`` the top of a cProfile of one conversion.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from lamstudio.io import JsonlWriter, read_rows
from lamstudio.schema import IdRegistry, validate_record
from lamstudio.sources import apigen
from lamstudio.sources import lamstudio as lamstudio_fmt
from lamstudio.sources._convert import convert

TARGET = 0.25
TYPES = ["str", "int", "float", "bool", "str, optional", "int, optional", "List[int]",
         "List[str]", "Dict", "Dict[str, Any], optional", "float, optional", "bool, optional",
         "List[Union[int, float]]", "Union[int, float]", "Any"]
WORDS = ("search fetch get list find compute convert check lookup calculate city user order "
         "stock weather flight hotel video comment page price rate symbol date query limit "
         "offset country language id name email zip amount currency").split()


def _value(type_str: str, rng: random.Random):
    base = type_str.split(",")[0]
    if base.startswith("List"):
        return [rng.randint(-100, 100) for _ in range(rng.randint(1, 5))]
    if base.startswith("Dict"):
        return {rng.choice(WORDS): rng.choice(WORDS)}
    return {"int": lambda: rng.randint(0, 10**6), "float": lambda: round(rng.uniform(-90, 90), 4),
            "bool": lambda: rng.random() < 0.5}.get(base, lambda: " ".join(
                rng.choices(WORDS, k=rng.randint(1, 4))))()


def make_pool(rng: random.Random, n: int = 400) -> list[dict]:
    pool = []
    for i in range(n):
        params = {}
        for _ in range(rng.randint(0, 6)):
            t = rng.choice(TYPES)
            p = {"description": " ".join(rng.choices(WORDS, k=rng.randint(4, 14))) + ".",
                 "type": t}
            if rng.random() < 0.7:
                p["default"] = "" if "optional" in t else _value(t, rng)
            params[f"{rng.choice(WORDS)}_{len(params)}"] = p
        pool.append({"name": f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{i}",
                     "description": " ".join(rng.choices(WORDS, k=rng.randint(6, 20))) + ".",
                     "parameters": params})
    return pool


def generate(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    pool = make_pool(rng)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(rows):
            tools = rng.sample(pool, rng.randint(1, 5))
            answers = []
            for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3, 4])):
                tool = rng.choice(tools)
                args = {k: _value(p["type"], rng) for k, p in tool["parameters"].items()
                        if rng.random() < 0.8}
                answers.append({"name": tool["name"], "arguments": args})
            query = " ".join(rng.choices(WORDS, k=rng.randint(6, 30))) + "?"
            fh.write(json.dumps({"id": i, "query": query, "answers": json.dumps(answers),
                                 "tools": json.dumps(tools)}) + "\n")


def floor(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds to json.loads every line and its tools and answers."""
    w0, c0 = time.perf_counter(), time.process_time()
    with open(path, "rb") as fh:
        for line in fh:
            row = json.loads(line)
            json.loads(row["tools"])
            json.loads(row["answers"])
    return time.perf_counter() - w0, time.process_time() - c0


def lamstudio(path: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of the real convert: read, map, validate, ids, write JSONL."""
    w0, c0 = time.perf_counter(), time.process_time()
    tally = convert([path], "apigen", out)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    assert tally.balanced and tally.rejected == 0, tally.to_dict()
    return wall, cpu


def breakdown(path: Path, out: Path, n: int) -> dict[str, float]:
    """CPU seconds per stage over the first ``n`` rows, streamed one row at a time as
    convert does (accumulating rows would make the garbage collector dominate)."""
    clock = time.process_time
    t = dict.fromkeys(STAGES, 0.0)
    ids = IdRegistry()
    rows = read_rows(path)
    with JsonlWriter(out) as w:
        for i in range(n):
            t0 = clock()
            r = next(rows)
            t1 = clock()
            raw = apigen.from_row(r.value)
            raw["id"] = str(raw["id"])
            t2 = clock()
            record = validate_record(raw).record
            t3 = clock()
            ids.claim(record.id, f"f:{i}")
            t4 = clock()
            w.write_json(record.model_dump_json(exclude_none=True))
            t5 = clock()
            lamstudio_fmt.to_row(record)
            t6 = clock()
            for k, a, b in zip(STAGES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6),
                               strict=True):
                t[k] += b - a
    return t


STAGES = ("read_rows (json.loads of the line)",
          "apigen.from_row (json.loads tools+answers, mapping)",
          "validate_record (pydantic model + consistency)",
          "IdRegistry.claim",
          "write (model_dump_json + JsonlWriter.write_json)",
          "[not in the path] lamstudio.to_row (model_dump to a dict)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile one conversion")
    ap.add_argument("--results", type=Path, help="append a section to this RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "xlam60k-like.jsonl", Path(tmp) / "out.jsonl"
        t0 = time.perf_counter()
        generate(src, args.rows)
        size = src.stat().st_size / 2**20
        print(f"generated {args.rows:,} rows ({size:.0f} MiB) in {time.perf_counter() - t0:.1f} s")
        floors, ours = [], []
        for r in range(args.repeats):
            floors.append(floor(src))
            ours.append(lamstudio(src, out))
            print(f"  repeat {r + 1}: floor {args.rows / floors[-1][0]:,.0f} rows/s, "
                  f"lamstudio {args.rows / ours[-1][0]:,.0f} rows/s (wall)")
        res = {}
        for k, name in enumerate(("wall", "cpu")):
            f_rate = args.rows / statistics.median(x[k] for x in floors)
            l_rate = args.rows / statistics.median(x[k] for x in ours)
            res[name] = (f_rate, l_rate, l_rate / f_rate)
            print(f"[{name}] floor {f_rate:,.0f} rows/s, lamstudio convert --from apigen "
                  f"{l_rate:,.0f} rows/s: ratio {l_rate / f_rate:.1%} "
                  f"({'meets' if l_rate / f_rate >= TARGET else 'BELOW'} the {TARGET:.0%} target)")
        n = min(args.rows, 20_000)
        stages = breakdown(src, out, n)
        total = sum(v for k, v in stages.items() if not k.startswith("[not"))
        print(f"CPU per stage, streamed over {n:,} rows (µs/row, share of the path):")
        for name, sec in stages.items():
            share = "" if name.startswith("[not") else f"{sec / total:6.1%}"
            print(f"  {name:<60} {sec / n * 1e6:7.1f} {share}")
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(convert, [src], "apigen", out)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        if args.results:
            append_results(args, res, stages, n)


def append_results(args, res, stages, n) -> None:
    path = args.results
    (wf, wl, wr), (cf, cl, cr) = res["wall"], res["cpu"]
    out = ["" if path.exists() else "# Benchmark results\n",
           f"\n## convert: xLAM-60k-shaped rows (bench/convert.py, {date.today()})\n\n",
           f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
           f"{platform.python_version()}, shared with other jobs; {args.rows:,} generated rows, "
           f"median of {args.repeats} alternating repeats. Baseline (floor): `json.loads` of "
           "each line and of its `tools` and `answers` strings.\n\n",
           "| path | rows/s (wall) | rows/s (CPU time) |\n| --- | ---: | ---: |\n",
           f"| floor: json.loads line + tools + answers | {wf:,.0f} | {cf:,.0f} |\n",
           f"| lamstudio convert --from apigen (read, map, validate, write JSONL) | {wl:,.0f} "
           f"| {cl:,.0f} |\n",
           f"| **ratio** (target {TARGET:.0%}) | **{wr:.1%}** | **{cr:.1%}** |\n\n",
           f"CPU per stage, streamed over {n:,} rows:\n\n| stage | µs/row |\n| --- | ---: |\n"]
    out += [f"| {k} | {v / n * 1e6:.1f} |\n" for k, v in stages.items()]
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(out))


if __name__ == "__main__":
    main()
