"""The one record every stage reads and writes: ``Trajectory`` (OpenAI chat shape).

``arguments`` is a dict in memory. A JSON *string* is accepted on input (that is how the
OpenAI API sends it) and parsed; broken JSON is a validation error, never silently kept.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lamstudio.io import JsonValueError, check_value, parse_json

Role = Literal["system", "user", "assistant", "tool"]


def _check_writable(t: Trajectory) -> None:
    """Only values that can be written and read back make a record (the readers' rules,
    ``io.check_value``): a model's lone surrogate, NaN or 5000-digit integer fails here,
    with its field path, instead of crashing a writer later. The error's type is the
    readers' reason code. All values are checked in one call; paths are only built when
    one fails (this runs on every record a reader validates)."""
    values = _values(t)
    try:
        check_value([v for v, *_ in values])
    except JsonValueError:
        pass
    else:
        return
    for value, fmt, i, k in values:
        try:
            check_value(value)
        except JsonValueError as exc:
            raise PydanticCustomError(exc.code, "{path}: {message}", {
                "path": fmt.format(i=i, k=k), "message": exc.message}) from None


def _values(t: Trajectory) -> list[tuple[Any, str, int, int]]:
    out: list[tuple[Any, str, int, int]] = [(t.id, "id", 0, 0), (t.source, "source", 0, 0)]
    if t.system is not None:
        out.append((t.system, "system", 0, 0))
    if t.meta:
        out.append((t.meta, "meta", 0, 0))
    for i, tool in enumerate(t.tools):
        fn = tool.function
        out += [(fn.name, "tools[{i}].function.name", i, 0),
                (fn.description, "tools[{i}].function.description", i, 0),
                (fn.parameters, "tools[{i}].function.parameters", i, 0)]
        if fn.model_extra:
            out.append((fn.model_extra, "tools[{i}].function", i, 0))
    for i, m in enumerate(t.messages):
        for value, fmt in ((m.content, "messages[{i}].content"),
                           (m.name, "messages[{i}].name"),
                           (m.tool_call_id, "messages[{i}].tool_call_id"),
                           (m.weight, "messages[{i}].weight")):
            if value is not None:
                out.append((value, fmt, i, 0))
        for k, c in enumerate(m.tool_calls or ()):
            if c.id is not None:
                out.append((c.id, "messages[{i}].tool_calls[{k}].id", i, k))
            out += [(c.function.name, "messages[{i}].tool_calls[{k}].function.name", i, k),
                    (c.function.arguments, "messages[{i}].tool_calls[{k}].function.arguments",
                     i, k)]
    return out


class _Strict(BaseModel):
    # Unknown keys are an error: a typo such as "tool_call" must not vanish silently.
    model_config = ConfigDict(extra="forbid")


class FunctionCall(_Strict):
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)

    @field_validator("arguments", mode="before")
    @classmethod
    def _parse_json_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return {}
            try:
                parsed = parse_json(text)
            except JsonValueError as exc:
                raise ValueError(
                    f"arguments is a string that is not valid JSON ({exc.message})"
                ) from None
            if not isinstance(parsed, dict):
                raise ValueError("arguments must be a JSON object")
            return parsed
        return value


class ToolCall(_Strict):
    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class FunctionSpec(BaseModel):
    # Tool schemas in the wild carry extra keys (strict, response, ...): keep them.
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


class ToolSpec(_Strict):
    type: Literal["function"] = "function"
    function: FunctionSpec


class Message(_Strict):
    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    # False keeps this message out of the loss; a float scales its loss.
    train: StrictBool | None = None
    weight: float | None = None

    @model_validator(mode="after")
    def _role_fields(self) -> Message:
        if self.tool_calls is not None and self.role != "assistant":
            raise ValueError(f"only assistant messages may carry tool_calls (role={self.role})")
        if self.tool_calls == []:
            self.tool_calls = None
        if self.role == "tool" and self.content is None:
            self.content = ""
        return self


class Trajectory(_Strict):
    id: str = Field(min_length=1)
    source: str = ""
    system: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    messages: list[Message] = Field(min_length=1)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _writable(self, info: ValidationInfo) -> Trajectory:
        # From JSON text (model_validate_json) strings cannot hold a lone surrogate and
        # integers are exact; NaN and depth are the readers' screen's job (io.needs_care
        # before the fast path). Values made in memory are checked: that is where a model's
        # reply or a tool's result comes in, and this walk would cost the hot read path ~40%.
        if info.mode != "json":
            _check_writable(self)
        return self

    @model_validator(mode="after")
    def _link_tool_calls(self) -> Trajectory:
        """Give every call an id and every tool result the id of the call it answers.

        Formats such as ShareGPT carry no ids: a result is linked to the oldest
        unanswered call (same name first). Explicit ids are kept as they are.
        """
        pending: list[ToolCall] = []
        for turn, msg in enumerate(self.messages):
            if msg.tool_calls:
                for k, call in enumerate(msg.tool_calls):
                    if call.id is None:
                        call.id = f"call_{turn}_{k}"
                    pending.append(call)
            elif msg.role == "tool" and msg.tool_call_id is None and pending:
                match = next((c for c in pending if c.function.name == msg.name), pending[0])
                msg.tool_call_id = match.id
                pending.remove(match)
                if msg.name is None:
                    msg.name = match.function.name
            elif msg.role == "tool":
                pending = [c for c in pending if c.id != msg.tool_call_id]
        return self

    # Convenience views used by many stages.
    def tool_names(self) -> list[str]:
        return [t.function.name for t in self.tools]

    def calls(self) -> list[FunctionCall]:
        return [c.function for m in self.messages for c in (m.tool_calls or [])]
