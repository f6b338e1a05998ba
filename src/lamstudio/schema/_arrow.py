"""Arrow/Parquet and HF ``datasets`` representation of a ``Trajectory``.

Arrow aligns nested structs across rows and fills the gaps with nulls, which corrupts
heterogeneous tool schemas and arguments. So those travel as JSON strings: ``tools``,
``meta`` and each call's ``arguments``.
"""

from __future__ import annotations

import json
from typing import Any

from lamstudio.io import parse_json
from lamstudio.schema._models import Trajectory


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def to_arrow_row(t: Trajectory) -> dict[str, Any]:
    messages = []
    for m in t.messages:
        calls = None
        if m.tool_calls:
            calls = [{"id": c.id, "type": c.type,
                      "function": {"name": c.function.name,
                                   "arguments": _dumps(c.function.arguments)}}
                     for c in m.tool_calls]
        messages.append({"role": m.role, "content": m.content, "tool_calls": calls,
                         "tool_call_id": m.tool_call_id, "name": m.name,
                         "train": m.train, "weight": m.weight})
    return {"id": t.id, "source": t.source, "system": t.system,
            "tools": _dumps([s.model_dump(exclude_none=True) for s in t.tools]),
            "messages": messages, "meta": _dumps(t.meta)}


def from_arrow_row(row: dict[str, Any]) -> dict[str, Any]:
    """Arrow row -> plain record dict (validate it with ``validate_record``)."""
    out = dict(row)
    for key in ("tools", "meta"):
        if isinstance(out.get(key), str):
            out[key] = parse_json(out[key])
    messages = []
    for m in out.get("messages") or []:
        m = {k: v for k, v in dict(m).items() if v is not None}
        messages.append(m)
    out["messages"] = messages
    return {k: v for k, v in out.items() if v is not None}


def arrow_schema():  # pragma: no cover - trivial
    import pyarrow as pa

    call = pa.struct([("id", pa.string()), ("type", pa.string()),
                      ("function", pa.struct([("name", pa.string()),
                                              ("arguments", pa.string())]))])
    message = pa.struct([("role", pa.string()), ("content", pa.string()),
                         ("tool_calls", pa.list_(call)), ("tool_call_id", pa.string()),
                         ("name", pa.string()), ("train", pa.bool_()),
                         ("weight", pa.float64())])
    return pa.schema([("id", pa.string()), ("source", pa.string()), ("system", pa.string()),
                      ("tools", pa.string()), ("messages", pa.list_(message)),
                      ("meta", pa.string())])
