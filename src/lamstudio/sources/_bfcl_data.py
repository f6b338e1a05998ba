"""Where BFCL's files are and what BFCL itself assumes about them (bfcl-eval 2026.3.23)."""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from lamstudio.sources._base import SourceError

# Question files of BFCL v4 by category -> does a possible-answer file come with it?
# (``format_sensitivity`` is not a question file, see ``bfcl.iter_raw``.)
CATEGORIES: dict[str, bool] = {
    "simple_python": True, "simple_java": True, "simple_javascript": True,
    "multiple": True, "parallel": True, "parallel_multiple": True,
    "irrelevance": False,
    "live_simple": True, "live_multiple": True, "live_parallel": True,
    "live_parallel_multiple": True, "live_irrelevance": False, "live_relevance": False,
    "multi_turn_base": True, "multi_turn_long_context": True,
    "multi_turn_miss_func": True, "multi_turn_miss_param": True,
    "memory": True, "web_search": True,
}
FILE_PREFIX = "BFCL_v4_"

# Class -> doc file in data/multi_turn_func_doc/ (bfcl_eval's MULTI_TURN_FUNC_DOC_FILE_MAPPING,
# copied so that a copy of BFCL's files converts without the package; a test compares them).
CLASS_DOC_FILES: dict[str, str] = {
    "GorillaFileSystem": "gorilla_file_system.json", "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json", "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json", "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json", "VehicleControlAPI": "vehicle_control.json",
    "WebSearchAPI": "web_search.json", "MemoryAPI_kv": "memory_kv.json",
    "MemoryAPI_vector": "memory_vector.json", "MemoryAPI_rec_sum": "memory_rec_sum.json",
}
# The memory file names the class "MemoryAPI": BFCL picks the backend (one category per
# backend: memory_kv, memory_vector, memory_rec_sum) when it runs, so the tools are not fixed.
MEMORY_BACKENDS = ("MemoryAPI_kv", "MemoryAPI_vector", "MemoryAPI_rec_sum")

# What BFCL sends as the user turn of a miss_func "holdout" turn, whose question is empty
# (DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC in bfcl_eval/constants/default_prompts.py).
HOLDOUT_USER_PROMPT = "I have updated some more functions you can choose from. What about now?"


def bfcl_data_dir() -> Path:
    """``bfcl_eval/data`` of the installed bfcl-eval package (not imported, only located)."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("bfcl-eval is not installed; its data ships in the package: "
                          "pip install --no-deps bfcl-eval")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not data.is_dir():
        raise ImportError(f"bfcl-eval is installed but has no data directory at {data}")
    return data


def category_of(record_id: str) -> str:
    """BFCL's rule (``extract_test_category_from_id``): the id up to its last ``_``."""
    return record_id.split(":", 1)[0].rsplit("_", 1)[0]


def category_of_file(path: str | Path) -> str | None:
    name = Path(path).name.split(".")[0]
    return name[len(FILE_PREFIX):] if name.startswith(FILE_PREFIX) else None


def class_docs(class_name: str, doc_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The function docs of one multi-turn API class (a fresh copy: callers may edit it)."""
    if class_name not in CLASS_DOC_FILES:
        raise SourceError("unknown_class", f"involved class {class_name!r} has no function docs "
                          f"(known: {', '.join(CLASS_DOC_FILES)})", "involved_classes")
    folder = Path(doc_dir) if doc_dir else bfcl_data_dir() / "multi_turn_func_doc"
    text = _read_docs(str(folder / CLASS_DOC_FILES[class_name]))
    return json.loads(text)


@lru_cache(maxsize=64)
def _read_docs(path: str) -> str:
    # Cached as JSON text so every caller gets its own objects.
    try:
        with open(path, encoding="utf-8") as fh:
            docs = [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        raise SourceError("missing_func_doc", f"cannot read function docs {path}: {exc}",
                          "involved_classes") from exc
    return json.dumps(docs)
