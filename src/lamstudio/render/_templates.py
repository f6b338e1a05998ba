"""Chat templates: the lamstudio default, a Jinja environment that matches transformers',
and the checks that decide whether a model's own template can render tools.

We render with our own environment (the same options as ``apply_chat_template``: sandboxed,
``trim_blocks``/``lstrip_blocks``, a ``tojson`` that does not HTML-escape, ``{% generation %}``)
instead of transformers' private helpers, which move between versions. A test pins that our
rendering equals ``tokenizer.apply_chat_template(..., tokenize=False)``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

EOS_TOKEN = "<|end|>"
PAD_TOKEN = "<|pad|>"
TOOL_CALLS_MARKER = "[TOOL_CALLS]"
ROLE_TOKENS = {r: f"<|{r}|>" for r in ("system", "user", "assistant", "tool")}

# Added to a tokenizer that lamstudio trains (pad first so it gets id 0). One token per
# turn marker keeps prompts short and makes every turn boundary a token boundary, which is
# what makes training renders and inference prompts tokenize identically.
DEFAULT_SPECIAL_TOKENS: list[str] = [PAD_TOKEN, EOS_TOKEN, *ROLE_TOKENS.values(),
                                     TOOL_CALLS_MARKER]

DEFAULT_TEMPLATE: str = (
    resources.files("lamstudio") / "templates" / "lamstudio_default.jinja"
).read_text(encoding="utf-8")

# lamstudio's tool format inside a ChatML base's own turns (``<|im_start|>``/``<|im_end|>``):
# chosen automatically for a ChatML model whose own template renders no tools (SmolLM2).
CHATML_TOOLS_TEMPLATE: str = (
    resources.files("lamstudio") / "templates" / "chatml_tools.jinja"
).read_text(encoding="utf-8")
CHATML_TOKENS = ("<|im_start|>", "<|im_end|>")

# Templates lamstudio ships, by the name ``Renderer.template_name`` reports; ``Renderer``
# and ``data.template`` accept these names in place of Jinja source.
TEMPLATES: dict[str, str] = {"default": DEFAULT_TEMPLATE, "chatml_tools": CHATML_TOOLS_TEMPLATE}
# How each shipped template writes an assistant turn's calls (``render_calls(style=...)``).
CALL_STYLES: dict[str, str] = {"default": "marker", "chatml_tools": "fence"}

# Private-use characters that bracket {% generation %} output in a marked render; they are
# removed again before tokenizing, leaving exact character spans of the trained text.
GEN_OPEN, GEN_CLOSE = "\ue000", "\ue001"
_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


class _Generation(Extension):
    """``{% generation %}...{% endgeneration %}``: transparent, or bracketed when marking.

    Decided at compile time (each environment is either marking or not), so a render pays
    nothing for it; the body gets its own scope, as in transformers' call-block version.
    """

    tags = {"generation"}

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.extend(mark_generation=False)

    def parse(self, parser: Any) -> list[nodes.Node]:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        scoped = nodes.Scope(body, lineno=lineno)
        if not self.environment.mark_generation:
            return [scoped]
        return [nodes.Output([nodes.TemplateData(GEN_OPEN)], lineno=lineno), scoped,
                nodes.Output([nodes.TemplateData(GEN_CLOSE)], lineno=lineno)]


def _tojson(x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None,
            sort_keys: bool = False) -> str:
    # Same signature and defaults as transformers' override (Jinja's own escapes HTML).
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def _raise(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


@lru_cache(maxsize=32)
def compile_template(source: str, marked: bool = False) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[_Generation, loopcontrols])
    env.mark_generation = marked
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


def has_generation_blocks(source: str) -> bool:
    return bool(_GENERATION_TAG.search(source))


def render_template(source: str, messages: list[dict], tools: list[dict] | None, *,
                    add_generation_prompt: bool, marked: bool = False,
                    extra: dict[str, Any] | None = None) -> str:
    template = compile_template(source, marked)
    return template.render(messages=messages, tools=tools or None, documents=None,
                           add_generation_prompt=add_generation_prompt, **(extra or {}))


_PROBE_TOOL = "lamstudio_probe_tool"
_PROBE_CALL = "lamstudio_probe_call"


@lru_cache(maxsize=32)
def template_renders_tools(source: str) -> bool:
    """True if the template writes the tool list *and* the assistant's tool calls.

    Many chat templates silently ignore ``tools`` or ``tool_calls``; training with one of
    them would teach the model to answer without ever seeing a schema or emitting a call.
    """
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_0", "type": "function",
             "function": {"name": _PROBE_CALL, "arguments": {"x": 1}}}]},
        {"role": "tool", "tool_call_id": "call_0", "name": _PROBE_CALL, "content": "1"},
    ]
    tools = [{"type": "function", "function": {
        "name": _PROBE_TOOL, "description": "probe",
        "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}]
    try:
        text = render_template(source, messages, tools, add_generation_prompt=True,
                               extra={"bos_token": "", "eos_token": ""})
    except Exception:  # noqa: BLE001 - any template failure means "cannot render tools"
        return False
    return _PROBE_TOOL in text and _PROBE_CALL in text


def split_marked(text: str) -> tuple[str, list[tuple[int, int]]] | None:
    """Remove generation brackets; return the clean text and the bracketed spans.

    None when the brackets do not pair up (e.g. the content itself held the private-use
    characters), so the caller falls back to prefix rendering.
    """
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    start: int | None = None
    for piece in re.split(f"([{GEN_OPEN}{GEN_CLOSE}])", text):
        if piece == GEN_OPEN:
            if start is not None:
                return None
            start = pos
        elif piece == GEN_CLOSE:
            if start is None:
                return None
            spans.append((start, pos))
            start = None
        else:
            out.append(piece)
            pos += len(piece)
    if start is not None:
        return None
    return "".join(out), spans
