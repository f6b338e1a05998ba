"""What the tau2-bench domains share: the database as plain JSON data, tau2's tool schemas
and policy, and a canonical state hash.

lamstudio re-implements the domains' tools over plain dicts (tau2 keeps pydantic models;
the arguments meet the same models where tau2's tools build them: ``_tau2_models``);
``tests/envs/test_tau2_agreement.py`` replays every task's ground truth in both and compares
the final databases, ``tests/envs/test_tau2_random_calls.py`` the same for random calls
with wrongly typed arguments.
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import json
import math
import operator
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from lamstudio.envs._tau2_data import policy, pristine_db, tool_schemas


def canonical(value: Any) -> Any:
    """The database as tau2's pydantic models would dump it (``mode="json"``), made
    comparable: keys whose value is None dropped (pydantic fills optional fields with None,
    db.json omits them), numbers as floats (pydantic turns ``12`` into ``12.0`` for float
    fields; an unchecked assignment can leave ``True`` or ``2.0`` in an int field), and a
    non-finite float as None (pydantic writes null). Data that compares equal in Python
    canonicalizes equally (``True == 1 == 1.0``, ``-0.0 == 0.0``), which the reference
    runner relies on to re-hash only what changed."""
    if isinstance(value, Mapping):
        items = ((k, canonical(v)) for k, v in value.items())
        return {k: v for k, v in items if v is not None}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, int | float):
        try:
            number = float(value) + 0.0  # + 0.0: -0.0 becomes 0.0
        except OverflowError:  # an int past a float's range stays as it is
            return value
        return number if math.isfinite(number) else None
    return value


def entity_digest(value: Any) -> str:
    blob = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


_MOD = 2**256


def _entry(key: str, digest: str) -> int:
    return int(hashlib.sha256(f"{key}\0{digest}".encode()).hexdigest(), 16)


def table_sum(table: Mapping[str, Any]) -> int:
    return sum(_entry(k, entity_digest(v)) for k, v in table.items()) % _MOD


def _combine(parts: dict[str, str]) -> str:
    blob = json.dumps(sorted(parts.items()), separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def canonical_hash(state: Mapping[str, Any]) -> str:
    """The state hash of a tau2 database. A table hashes as the sum of its (key, entity
    digest) hashes modulo 2^256, so an environment re-hashes only the entities it touched
    (order-independent, as the tables are keyed)."""
    return _combine({t: f"{table_sum(v):064x}" if isinstance(v, Mapping) else entity_digest(v)
                     for t, v in state.items()})


class _Base:
    """One table of an untouched database plus its entities' digests (computed once)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._entries: dict[str, int] | None = None
        self.total = 0

    def entries(self) -> dict[str, int]:
        if self._entries is None:
            self._entries = {k: _entry(k, entity_digest(v)) for k, v in self.data.items()}
            self.total = sum(self._entries.values()) % _MOD
        return self._entries


class Table(MutableMapping):
    """A database table shared with its untouched original until an entity is fetched by
    key: then that entity is copied (copy-on-write), so a fresh environment costs nothing
    and a replay copies only what it reads by id. ``values()`` / ``items()`` are read-only
    views (searches scan without copying)."""

    def __init__(self, base: _Base) -> None:
        self._base, self._own, self._gone = base, {}, set()

    def __getitem__(self, key: str) -> Any:
        if key in self._own:
            return self._own[key]
        if key in self._gone:
            raise KeyError(key)
        value = self._own[key] = copy.deepcopy(self._base.data[key])
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._own[key] = value
        self._gone.discard(key)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._own.pop(key, None)
        self._gone.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._own or (key in self._base.data and key not in self._gone)

    def __iter__(self) -> Iterator[str]:
        yield from (k for k in self._base.data if k not in self._gone)
        yield from (k for k in self._own if k not in self._base.data)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def values(self) -> Any:  # type: ignore[override]
        return [v for _, v in self.items()]

    def items(self) -> Any:  # type: ignore[override]
        return [(k, self._own[k] if k in self._own else self._base.data[k]) for k in self]

    def sum(self) -> int:
        """``table_sum(self)``, from the untouched table's cached entries."""
        base = self._base.entries()
        total = self._base.total - sum(base[k] for k in self._own.keys() | self._gone
                                       if k in base)
        total += sum(_entry(k, entity_digest(v)) for k, v in self._own.items())
        return total % _MOD

    def plain(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in self.items()}


@functools.cache
def _pristine_tables(domain: str) -> dict[str, _Base]:
    return {k: _Base(v) for k, v in pristine_db(domain).items() if isinstance(v, dict)}


def calculate(expression: str) -> str:
    """tau2's calculator: digits, + - * / ( ) . and spaces only, evaluated with Python's
    arithmetic. tau2 ``eval``s it; here a walk of the parsed expression gives the same
    results and errors, except that a power whose result would be huge (``9**9**9``, which
    never returns in tau2) is refused: a model's call must not hang an episode."""
    if not all(char in "0123456789+-*/(). " for char in expression):
        raise ValueError("Invalid characters in expression")
    tree = ast.parse(expression.strip(), mode="eval")
    return str(round(float(_arith(tree.body)), 2))


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv}
_MAX_POWER_BITS = 1 << 16  # 2**65536 is as far as a calculator result needs to go


def _arith(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _arith(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, exp = _arith(node.left), _arith(node.right)
        if isinstance(base, int) and isinstance(exp, int) and exp > 0 and \
                abs(base) > 1 and base.bit_length() * exp > _MAX_POWER_BITS:
            raise ValueError("Result too large")
        return base ** exp
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_arith(node.left), _arith(node.right))
    raise ValueError("Invalid expression")


class Tau2Env:
    """Base of ``tau2:<domain>`` environments. ``state`` is the domain database (db.json's
    JSON); the tools are the methods named in tau2's schemas, nothing else."""

    domain: str = ""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        if state is None:
            bases, rest = _pristine_tables(self.domain), pristine_db(self.domain)
        else:  # the caller's data is never written either
            bases = {k: _Base(v) for k, v in state.items() if isinstance(v, dict)}
            rest = state
        self.state: dict[str, Any] = {k: Table(b) for k, b in bases.items()}
        self.state.update({k: copy.deepcopy(v) for k, v in rest.items() if k not in bases})

    # Not public methods: every public method of an environment is an action.
    @property
    def system(self) -> str:
        return policy(self.domain)

    @property
    def tools(self) -> list[dict[str, Any]]:
        return [{"type": s["type"], "function": s["function"]}
                for s in tool_schemas(self.domain)]

    @property
    def write_tools(self) -> frozenset[str]:
        return frozenset(s["function"]["name"] for s in tool_schemas(self.domain)
                         if s.get("x-tau2-kind") == "write")

    def _actions(self) -> dict[str, Callable[..., Any]]:
        return {s["function"]["name"]: getattr(self, s["function"]["name"])
                for s in tool_schemas(self.domain)}

    def _result_text(self, value: Any) -> str:
        """What the agent sees: strings as they are, anything else as JSON (as tau2)."""
        return value if isinstance(value, str) else json.dumps(value)

    def _state_hash(self) -> str:
        # Equals canonical_hash(self._plain()), touching only the copied entities.
        return _combine({t: f"{v.sum():064x}" if isinstance(v, Table) else entity_digest(v)
                         for t, v in self.state.items()})

    def _plain(self) -> dict[str, Any]:
        """The database as plain JSON data (a copy)."""
        return {k: v.plain() if isinstance(v, Table) else copy.deepcopy(v)
                for k, v in self.state.items()}

    def calculate(self, expression: str) -> str:
        return calculate(expression)

    def transfer_to_human_agents(self, summary: str) -> str:
        return "Transfer successful"
