"""Chat request -> prompt text, with the model's ``Renderer`` and a forced call prefix.

``tool_choice="required"`` appends the text the template writes before a function name
(``[TOOL_CALLS][{"name":"`` for lamstudio's template, ``<tool_call>\\n{"name": "`` for
Hermes-style ones): the model must name a function. A named function appends everything up
to and including the brace that opens its arguments
(``[TOOL_CALLS][{"name":"get_weather","arguments":{``). Decoding after the prefix is not
constrained. The prefixes are found by rendering a probe call with the template itself, so
they follow whatever template the model trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from lamstudio.render import Renderer, RenderError
from lamstudio.schema import Trajectory
from lamstudio.serve._errors import bad_request
from lamstudio.serve._request import ChatRequest

_PROBE_NAME = "lamstudio_probe_fn"
_PROBE_ARG = "lamstudio_probe_arg"


@dataclass
class CallPrefixes:
    required: str    # text before the first function name
    named_head: str  # the same
    named_tail: str  # text after the name, up to and including the arguments' "{"

    def named(self, name: str) -> str:
        return self.named_head + name + self.named_tail


def call_prefixes(renderer: Renderer) -> CallPrefixes | None:
    """The template's call prefixes, or None when they cannot be found in its output."""
    user = {"role": "user", "content": "x"}
    call = {"role": "assistant", "content": "", "tool_calls": [{"id": "call_0", "function": {
        "name": _PROBE_NAME, "arguments": {_PROBE_ARG: 1}}}]}
    tools = [{"type": "function", "function": {"name": _PROBE_NAME, "parameters": {
        "type": "object", "properties": {_PROBE_ARG: {"type": "integer"}}}}}]
    try:
        head = renderer.prompt_text(Trajectory(id="probe", tools=tools, messages=[user]))
        full, _ = renderer.render_with_spans(
            Trajectory(id="probe", tools=tools, messages=[user, call]))
    except (RenderError, ValidationError):
        return None
    if not full.startswith(head):
        return None
    out = full[len(head):]
    i = out.find(_PROBE_NAME)
    k = out.find(f'"{_PROBE_ARG}"', i)
    b = out.rfind("{", 0, k)
    if min(i, k, b) < 0:
        return None
    return CallPrefixes(required=out[:i], named_head=out[:i],
                        named_tail=out[i + len(_PROBE_NAME):b + 1])


class Prompter:
    """Builds ``(prompt_text, forced_prefix)`` for requests, with one renderer."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.prefixes = call_prefixes(renderer)

    def build(self, req: ChatRequest) -> tuple[str, str]:
        msgs = list(req.messages)
        system = msgs.pop(0)["content"] if msgs and msgs[0]["role"] == "system" else None
        if not msgs:
            raise bad_request("'messages' holds only a system message", param="messages")
        # tool_choice="none": the tools are not shown to the model at all.
        tools = req.tools if req.tool_choice != "none" else []
        try:
            t = Trajectory(id="request", system=system, tools=tools, messages=msgs)
            text = self.renderer.prompt_text(t)
        except ValidationError as exc:
            raise bad_request(f"messages: {_first_error(exc)}", param="messages") from None
        except RenderError as exc:
            raise bad_request(f"the chat template cannot render this conversation: {exc}",
                              param="messages", code="template_error") from None
        return text, self._prefix(req)

    def _prefix(self, req: ChatRequest) -> str:
        if req.tool_choice not in ("required", "function"):
            return ""
        if self.prefixes is None:
            raise bad_request("tool_choice 'required' or a named function is not supported "
                              "with this model's chat template (its call format could not "
                              "be found)", param="tool_choice")
        if req.tool_choice == "required":
            return self.prefixes.required
        return self.prefixes.named(req.function or "")


def _first_error(exc: ValidationError) -> Any:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
