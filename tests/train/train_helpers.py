"""Helpers for the train tests: two small tool-calling sources and a minimal recipe."""

from __future__ import annotations

import json
import random
from pathlib import Path

CITIES = ["Paris", "Lima", "Oslo", "Cairo", "Quito", "Delhi", "Tokyo", "Rome"]
WEATHER = {"type": "function", "function": {
    "name": "weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def weather_record(k: int, rng: random.Random) -> dict:
    city = rng.choice(CITIES)
    return {"id": f"w{k}", "source": "weather", "tools": [WEATHER], "messages": [
        {"role": "user", "content": f"What is the weather in {city}?"},
        {"role": "assistant", "tool_calls": [
            {"type": "function", "function": {"name": "weather", "arguments": {"city": city}}}]},
        {"role": "tool", "name": "weather", "content": str(k % 30)},
        {"role": "assistant", "content": f"{k % 30} C"}]}


def convert_record(k: int, rng: random.Random) -> dict:
    amount = rng.randint(1, 999)
    return {"id": f"c{k}", "source": "convert", "messages": [
        {"role": "user", "content": f"{amount} USD in EUR?"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {
            "name": "convert", "arguments": {"usd": amount}}}]}]}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def recipe(assets: dict[str, Path], run_dir: Path, **sections: dict) -> dict:
    """A minimal recipe dict for the nano model (a few steps, seq len 128, 1 thread)."""
    base = {
        "run_dir": str(run_dir), "seed": 0,
        "model": {"name_or_path": str(assets["model"])},
        "data": {"sources": [{"path": str(assets["weather"])},
                             {"path": str(assets["convert"])}],
                 "max_len": 128},
        "train": {"mode": "lora", "max_steps": 4, "batch_size": 2, "lr": 1e-3,
                  "logging_steps": 2, "save_steps": 2, "threads": 1, "report_to": []},
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return base
