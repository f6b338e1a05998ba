"""A tool schema is checked against its meta-schema once: an agent resends the same tools
every turn, and the check costs ~10 s per MB of schema."""

from __future__ import annotations

import pytest

from lamstudio.serve import _request, parse_request
from lamstudio.serve._errors import ApiError


def _body(params: dict) -> dict:
    return {"messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": params}}]}


def test_a_valid_schema_is_checked_once_and_an_invalid_one_every_time(monkeypatch):
    calls = []
    real = _request._check_schema_once

    def counting(schema, param):
        calls.append(param)
        return real(schema, param)

    monkeypatch.setattr(_request, "_check_schema_once", counting)
    params = {"type": "object", "properties": {"q": {"type": "string"}}, "x-cache-test": 1}
    for _ in range(3):
        parse_request(_body(dict(reversed(params.items()))))  # key order does not matter
    assert len(calls) == 1
    bad = {"type": "object", "properties": {"q": {"type": 7}}, "x-cache-test": 2}
    for _ in range(2):
        with pytest.raises(ApiError):
            parse_request(_body(bad))
    assert len(calls) == 3
