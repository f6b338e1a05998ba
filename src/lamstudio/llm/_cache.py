"""On-disk response cache: one JSON file per request, named by a hash of the request.

The key covers what decides the answer (model, messages, tools, sampling parameters) and
nothing about where or how it was sent: the API key and the base URL never reach the key or
the files, so a cache directory can be shared without leaking credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lamstudio.io import atomic_path


def request_key(model: str, messages: list[dict[str, Any]],
                tools: list[dict[str, Any]] | None, params: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the request (key order does not matter)."""
    payload = {"model": model, "messages": messages, "tools": tools or None,
               "params": params}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ResponseCache:
    """``get(key)`` / ``put(key, body)``; files live under ``root/ab/abcdef....json``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))["response"]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or torn file: ask the backend again

    def put(self, key: str, response: dict[str, Any]) -> None:
        with atomic_path(self._path(key)) as tmp:
            tmp.write_text(json.dumps({"key": key, "response": response}), encoding="utf-8")

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0
