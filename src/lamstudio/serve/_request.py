"""Check a ``/v1/chat/completions`` body and turn it into a ``ChatRequest``.

Every rejection is a 400 in OpenAI's error shape that names the offending field (``param``)
and says why (``code``), so a client sees what to fix instead of a 500 or a silently ignored
value. The body has been decoded by ``lamstudio.io.parse_json`` (``_body``): no value here is
too deep, too long a number, not finite or badly encoded; what is left is checking types and
ranges.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import orjson

from lamstudio.io import JsonValueError, parse_json
from lamstudio.serve._errors import bad_request, json_error, short

ROLES = ("system", "developer", "user", "assistant", "tool")
_NAME = re.compile(r"^[a-zA-Z0-9_.\-]{1,64}$")
MAX_STOPS = 4             # as OpenAI and vLLM
MAX_STOP_CHARS = 1024     # per stop string
MIN_TEMPERATURE = 0.01    # (0, 0.01) is raised to this, as vLLM does: 1e-300 overflows logits
SEED_RANGE = (-(2**63), 2**63 - 1)  # an int64, what the samplers take


@dataclass
class ChatRequest:
    messages: list[dict[str, Any]]        # chat-template messages; system first if any
    tools: list[dict[str, Any]]           # OpenAI tool specs as given (checked)
    tool_choice: str = "auto"             # auto | none | required | function
    function: str | None = None           # the named function when tool_choice="function"
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    stream: bool = False
    include_usage: bool = False
    model: str | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def parse_request(body: Any) -> ChatRequest:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object", code="invalid_json")
    # Unknown fields are ignored, as OpenAI-compatible servers do; logprobs cannot be.
    if body.get("logprobs"):
        raise bad_request("logprobs are not supported by this server", param="logprobs",
                          code="unsupported_parameter")
    tools = _tools(body.get("tools"))
    choice, function = _tool_choice(body.get("tool_choice"), tools)
    req = ChatRequest(messages=_messages(body.get("messages")), tools=tools,
                      tool_choice=choice, function=function, model=body.get("model"))
    _sampling(body, req)
    return req


def _messages(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("'messages' must be a non-empty list", param="messages")
    out: list[dict[str, Any]] = []
    open_calls: set[str] = set()  # ids of the latest assistant turn's calls not yet answered
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise bad_request(f"{where} must be an object", param=where)
        role = m.get("role")
        if role not in ROLES:
            raise bad_request(f"{where}.role is {short(role)}; expected one of "
                              f"{', '.join(ROLES)}",
                              param=f"{where}.role", code="invalid_role")
        msg: dict[str, Any] = {"role": "system" if role == "developer" else role,
                               "content": _content(m.get("content"), f"{where}.content")}
        if role == "assistant":
            calls = _assistant_calls(m.get("tool_calls"), where)
            if calls:
                msg["tool_calls"] = calls
                open_calls = {c["id"] for c in calls}
            elif msg["content"] is None:
                raise bad_request(f"{where} has neither content nor tool_calls",
                                  param=f"{where}.content")
        elif role == "tool":
            call_id, name = m.get("tool_call_id"), m.get("name")
            if not isinstance(call_id, str):
                raise bad_request(f"{where}.tool_call_id must be a string, got "
                                  f"{short(call_id)}", param=f"{where}.tool_call_id")
            if call_id not in open_calls:
                raise bad_request(
                    f"{where} answers tool_call_id {short(call_id)}, which is no call of the "
                    "preceding assistant message", param=f"{where}.tool_call_id",
                    code="unknown_tool_call_id")
            if name is not None and not isinstance(name, str):
                raise bad_request(f"{where}.name must be a string, got {short(name)}",
                                  param=f"{where}.name")
            open_calls.discard(call_id)
            msg["tool_call_id"] = call_id
            msg["name"] = name or _call_name(out, call_id)
            msg["content"] = msg["content"] or ""
        elif msg["content"] is None:
            raise bad_request(f"{where}.content is required", param=f"{where}.content")
        if role not in ("tool", "assistant") or (role == "assistant" and "tool_calls" not in msg):
            open_calls = set()
        out.append(msg)
    return out


def _content(raw: Any, where: str) -> str | None:
    """A string, or OpenAI's list of parts (text parts only)."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        texts = []
        for k, part in enumerate(raw):
            if not isinstance(part, dict) or part.get("type") != "text" \
                    or not isinstance(part.get("text"), str):
                raise bad_request(f"{where}[{k}]: only text parts are supported",
                                  param=f"{where}[{k}]")
            texts.append(part["text"])
        return "".join(texts)
    raise bad_request(f"{where} must be a string or a list of text parts", param=where)


def _assistant_calls(raw: Any, where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request(f"{where}.tool_calls must be a list", param=f"{where}.tool_calls")
    calls = []
    for k, c in enumerate(raw):
        p = f"{where}.tool_calls[{k}]"
        fn = c.get("function") if isinstance(c, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) \
                or not isinstance(c.get("id"), str):
            raise bad_request(f"{p} needs an 'id' and a 'function' with a 'name'", param=p)
        args = fn.get("arguments", "{}")
        if isinstance(args, str):  # OpenAI sends arguments as a JSON string
            try:
                args = parse_json(args) if args.strip() else {}
            except JsonValueError as exc:
                raise json_error(exc, f"{p}.function.arguments",
                                 f"{p}.function.arguments") from None
        if not isinstance(args, dict):
            raise bad_request(f"{p}.function.arguments must be a JSON object",
                              param=f"{p}.function.arguments")
        calls.append({"id": c["id"], "type": "function",
                      "function": {"name": fn["name"], "arguments": args}})
    return calls


def _call_name(messages: list[dict[str, Any]], call_id: str) -> str | None:
    for m in reversed(messages):
        for c in m.get("tool_calls") or []:
            if c["id"] == call_id:
                return c["function"]["name"]
    return None


def _tools(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("'tools' must be a list", param="tools")
    seen: set[str] = set()
    for i, t in enumerate(raw):
        p = f"tools[{i}]"
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(t, dict) or t.get("type", "function") != "function" \
                or not isinstance(fn, dict):
            raise bad_request(f"{p} must be {{'type': 'function', 'function': {{...}}}}",
                              param=p)
        name = fn.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise bad_request(f"{p}.function.name must be 1-64 letters, digits, '_', '-' or "
                              f"'.', got {short(name)}", param=f"{p}.function.name")
        if name in seen:
            raise bad_request(f"{p}: tool {name!r} is listed twice", param=f"{p}.function.name")
        seen.add(name)
        _check_schema(fn.get("parameters"), f"{p}.function.parameters")
    return raw


# Schemas already found valid, by their canonical JSON: an agent resends the same tools every
# turn, and checking against the 2020-12 meta-schema costs ~10 s per MB of schema.
_VALID: OrderedDict[bytes, None] = OrderedDict()
_VALID_MAX = 512
_VALID_LOCK = threading.Lock()


def _check_schema(schema: Any, param: str) -> None:
    if schema is None:
        return
    if not isinstance(schema, dict):
        raise bad_request(f"{param} must be a JSON Schema object", param=param,
                          code="invalid_schema")
    try:
        key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        key = None  # the full check below says what is wrong
    if key is not None:
        with _VALID_LOCK:
            if key in _VALID:
                _VALID.move_to_end(key)
                return
    _check_schema_once(schema, param)
    if key is not None:
        with _VALID_LOCK:
            _VALID[key] = None
            if len(_VALID) > _VALID_MAX:
                _VALID.popitem(last=False)


def _check_schema_once(schema: dict[str, Any], param: str) -> None:
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = "/".join(str(p) for p in exc.path)
        raise bad_request(f"{param} is not a valid JSON Schema: {exc.message}"
                          + (f" (at {path})" if path else ""), param=param,
                          code="invalid_schema") from None
    except Exception as exc:  # noqa: BLE001 - e.g. "$schema": [1] (unhashable): still a 400
        raise bad_request(f"{param} cannot be checked as a JSON Schema "
                          f"({type(exc).__name__}: {short(str(exc), 120)})", param=param,
                          code="invalid_schema") from None
    if schema.get("type", "object") != "object":
        raise bad_request(f"{param} must describe an object (type 'object')", param=param,
                          code="invalid_schema")


def _tool_choice(raw: Any, tools: list[dict[str, Any]]) -> tuple[str, str | None]:
    if raw is None:
        return ("auto" if tools else "none"), None
    if raw in ("auto", "none", "required"):
        if raw == "required" and not tools:
            raise bad_request("tool_choice 'required' needs tools", param="tool_choice")
        return raw, None
    fn = raw.get("function") if isinstance(raw, dict) else None
    name = fn.get("name") if isinstance(fn, dict) else None
    if not isinstance(name, str):
        raise bad_request("tool_choice must be 'auto', 'none', 'required' or "
                          "{'type': 'function', 'function': {'name': ...}}",
                          param="tool_choice")
    if name not in {t["function"]["name"] for t in tools}:
        raise bad_request(f"tool_choice names {short(name)}, which is not in 'tools'",
                          param="tool_choice")
    return "function", name


def _number(body: dict[str, Any], key: str, lo: float, hi: float, default: float) -> float:
    v = body.get(key)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise bad_request(f"{key} must be a number in [{lo}, {hi}], got {short(v)}",
                          param=key)
    return float(v)


def _sampling(body: dict[str, Any], req: ChatRequest) -> None:
    req.temperature = _number(body, "temperature", 0.0, 2.0, 1.0)
    if 0 < req.temperature < MIN_TEMPERATURE:
        req.temperature = MIN_TEMPERATURE
    req.top_p = _number(body, "top_p", 0.0, 1.0, 1.0)
    if req.top_p == 0:
        raise bad_request("top_p must be greater than 0", param="top_p")
    for key in ("max_completion_tokens", "max_tokens"):
        v = body.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise bad_request(f"{key} must be a positive integer, got {short(v)}",
                              param=key)
        req.max_tokens = v
        break
    n = body.get("n", 1)
    if n != 1:
        raise bad_request(f"n={short(n)} is not supported: this server returns one choice "
                          "(n=1)",
                          param="n", code="unsupported_parameter")
    req.stop = _stops(body.get("stop"))
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not SEED_RANGE[0] <= seed <= SEED_RANGE[1]):
        raise bad_request(f"seed must be an integer in [-2**63, 2**63 - 1], got {short(seed)}",
                          param="seed")
    req.seed = seed
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("stream must be true or false", param="stream")
    req.stream = stream
    opts = body.get("stream_options") or {}
    req.include_usage = bool(isinstance(opts, dict) and opts.get("include_usage"))


def _stops(stop: Any) -> list[str]:
    stops = [stop] if isinstance(stop, str) else stop if stop is not None else []
    if not isinstance(stops, list) or len(stops) > MAX_STOPS \
            or not all(isinstance(s, str) and 0 < len(s) <= MAX_STOP_CHARS for s in stops):
        raise bad_request(f"stop must be a string or a list of up to {MAX_STOPS} strings of "
                          f"1 to {MAX_STOP_CHARS} characters", param="stop")
    return stops
