"""One decoded call and running it against plain methods: what the BFCL multi-turn checker,
the toy environments and the tau2 domains share. Calls given as text
(``"mv(source='a')"``) are parsed with ``ast`` and dispatched to methods, never ``eval``-ed."""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Call:
    """One decoded function call. ``arguments`` should be a dict; anything else is a
    format error the checker reports (it is kept as given so the report can show it)."""

    name: str
    arguments: Any

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}



def parse_call(text: str) -> tuple[str, list[Any], dict[str, Any]]:
    """``"mv(source='a', destination='b')"`` -> name, positional and keyword literals."""
    node = ast.parse(text.strip(), mode="eval").body
    plain = isinstance(node, ast.Call) and (
        isinstance(node.func, ast.Name) or (isinstance(node.func, ast.Attribute)
                                            and isinstance(node.func.value, ast.Name)))
    if not plain:
        raise ValueError(f"not a plain function call: {text[:80]!r}")
    name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
    args = [ast.literal_eval(a) for a in node.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    return name, args, kwargs


def result_text(value: Any) -> str:
    """Results are compared as text, the way BFCL stringifies them."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def dispatch(methods: dict[str, Callable[..., Any]], call: Call | str) -> str:
    try:
        if isinstance(call, str):
            name, args, kwargs = parse_call(call)
        else:
            name, args = call.name, []
            if not isinstance(call.arguments, dict):
                raise TypeError("arguments are not an object")
            kwargs = call.arguments
        if name not in methods:
            raise NameError(f"name '{name}' is not defined")
        return result_text(methods[name](*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - a failing call is a result the model sees
        return f"Error during execution: {exc}"


def state_hash(state: Any) -> str:
    """A stable digest of JSON-like state (keys sorted)."""
    blob = json.dumps(state, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()
