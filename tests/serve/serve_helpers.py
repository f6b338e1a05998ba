"""Shared by the serve tests: tool specs, an openai client, stream reassembly."""

from __future__ import annotations

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Local time in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def client(srv, key: str = "unused", **kw):
    from openai import OpenAI

    return OpenAI(base_url=srv.base_url, api_key=key, max_retries=0, timeout=120, **kw)


def reassemble(stream) -> dict:
    """Join a chat-completion stream the way clients do."""
    content, calls, finish, roles = "", {}, None, []
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        if delta.role:
            roles.append(delta.role)
        content += delta.content or ""
        for tc in delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            slot["id"] = tc.id or slot["id"]
            if tc.function:
                slot["name"] += tc.function.name or ""
                slot["arguments"] += tc.function.arguments or ""
        finish = choice.finish_reason or finish
    return {"content": content, "calls": [calls[k] for k in sorted(calls)],
            "finish_reason": finish, "roles": roles}
