"""ReAct text: Thought / Action / Observation / Final Answer blocks.

Row shape (lamstudio's choice; ReAct data has no single standard row)::

    {"id": "hotpot-17", "question": "Which is older, X or Y?",
     "tools": [...optional, flat or OpenAI-wrapped...], "system": "optional",
     "trajectory": "Thought: I should look up X.\\nAction: search\\n"
                   "Action Input: {\\"query\\": \\"X\\"}\\nObservation: X was founded in 1901.\\n"
                   "Thought: Now Y.\\nAction: search\\nAction Input: Y\\n"
                   "Observation: Y dates from 1887.\\nThought: Y is older.\\nFinal Answer: Y"}

Parsing (each keyword starts a line; other lines continue the current block):

- ``Question:`` is a user turn (the row's ``question`` field is the first one).
- ``Thought:`` is the content of the assistant turn that follows: the one carrying the next
  ``Action``, or a separate assistant turn before ``Final Answer``.
- ``Action: name`` + ``Action Input: ...`` is a tool call. The input is a JSON object, or
  any other text, which becomes ``{"<param>": text}`` where ``<param>`` is the tool's only
  parameter when the offered tool has exactly one, else ``input``. FireAct's
  ``Action: Search[Paris]`` works the same way, and ``Finish[answer]`` is a final answer.
  Several Actions before the next Observation are parallel calls in one turn.
- ``Observation:`` is the result of the oldest unanswered call.
- Numbered keywords (``Thought 2:``) are accepted. Text before the first keyword is a
  Thought (LangChain prompts end in ``Thought:``).

A block out of order (an Observation or Action Input with no Action, two Thoughts in a
row, a Thought with nothing after it, an empty Action) rejects the row with
``react_parse_error`` and the line of the trajectory text. A dump writes the LangChain
style (JSON Action Input); block text is stripped, and a line inside a block that starts
with a keyword would be read back as a new block.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lamstudio.io import JsonValueError, Reject, parse_json
from lamstudio.schema import Trajectory
from lamstudio.sources._base import SourceError, dump_with, load_with, require
from lamstudio.sources._chat import dumps, normalize_tools, optional_str

NAME = "react"
_KEY = re.compile(r"^(Question|Thought|Action Input|Action|Observation|Final Answer)"
                  r"(?:\s+\d+)?\s*:[ \t]?(.*)$")
_BRACKET = re.compile(r"^([A-Za-z_][\w.\-]*)\[(.*)\]$", re.S)

Block = tuple[str, int, str]  # (keyword, 1-based line in the trajectory text, text)


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    text = require(row, "trajectory", str)
    tools = normalize_tools(row.get("tools"))
    question = optional_str(row, "question")
    messages = [] if question is None else [{"role": "user", "content": question}]
    messages += _Parser(_single_params(tools)).run(_blocks(text))
    out: dict[str, Any] = {"id": row.get("id"), "tools": tools, "messages": messages}
    for key in ("system", "source", "meta"):
        if row.get(key) is not None:
            out[key] = row[key]
    return out


def _blocks(text: str) -> list[Block]:
    blocks: list[list[Any]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        m = _KEY.match(line)
        if m:
            blocks.append([m.group(1), n, m.group(2)])
        elif blocks:
            blocks[-1][2] += "\n" + line
        elif line.strip():
            blocks.append(["Thought", n, line])
    return [(k, n, body.strip()) for k, n, body in blocks]


def _single_params(tools: list[dict[str, Any]]) -> dict[str, str]:
    """Tool name -> its only parameter, for tools that have exactly one."""
    out = {}
    for tool in tools:
        fn = tool.get("function") or {}
        props = (fn.get("parameters") or {}).get("properties")
        if isinstance(props, dict) and len(props) == 1 and isinstance(fn.get("name"), str):
            out[fn["name"]] = next(iter(props))
    return out


def _error(line: int, message: str) -> SourceError:
    return SourceError("react_parse_error", f"trajectory line {line}: {message}", "trajectory")


class _Parser:
    """Blocks -> messages; one pass, with the little state ReAct needs."""

    def __init__(self, single_params: dict[str, str]) -> None:
        self.single = single_params
        self.messages: list[dict[str, Any]] = []
        self.thought: tuple[int, str] | None = None
        self.call: dict[str, Any] | None = None  # the last Action, until its Action Input
        self.calls_turn: dict[str, Any] | None = None  # assistant turn still taking Actions
        self.unanswered = 0
        self._input_seen = False

    def run(self, blocks: list[Block]) -> list[dict[str, Any]]:
        for kind, line, text in blocks:
            getattr(self, "_" + kind.lower().replace(" ", "_"))(line, text)
        if self.thought is not None:
            raise _error(self.thought[0], "Thought is not followed by an Action or Final Answer")
        return self.messages

    def _question(self, line: int, text: str) -> None:
        self._no_thought("Question")
        self.calls_turn = self.call = None
        self.messages.append({"role": "user", "content": text})

    def _thought(self, line: int, text: str) -> None:
        self._no_thought("Thought")
        self.thought, self.calls_turn, self.call = (line, text), None, None

    def _action(self, line: int, text: str) -> None:
        m = _BRACKET.match(text)
        name, arg = (m.group(1), m.group(2)) if m else (text, None)
        if not name or "\n" in name:
            raise _error(line, f"Action must name one tool, got {text!r}")
        if name.lower() == "finish" and arg is not None:  # FireAct's final answer
            self._final_answer(line, arg)
            return
        self.call = {"type": "function", "function": {
            "name": name, "arguments": {} if arg is None else self._arguments(name, arg)}}
        self._input_seen = arg is not None
        if self.calls_turn is None:
            thought = self.thought[1] if self.thought else None
            self.calls_turn = {"role": "assistant", "content": thought, "tool_calls": []}
            self.messages.append(self.calls_turn)
            self.thought = None
        self.calls_turn["tool_calls"].append(self.call)
        self.unanswered += 1

    def _action_input(self, line: int, text: str) -> None:
        if self.call is None or self._input_seen:
            raise _error(line, "Action Input without an Action before it")
        fn = self.call["function"]
        fn["arguments"] = self._arguments(fn["name"], text)
        self._input_seen = True

    def _arguments(self, name: str, text: str) -> dict[str, Any]:
        try:
            value = parse_json(text)
        except JsonValueError as exc:
            if exc.code != "bad_json":  # a value that cannot be kept exactly
                raise SourceError(exc.code, f"arguments of {name}: {exc.message}") from None
            value = text
        if isinstance(value, dict):
            return value
        return {self.single.get(name, "input"): value}

    def _observation(self, line: int, text: str) -> None:
        if self.unanswered == 0:
            raise _error(line, "Observation without an Action before it")
        self._no_thought("Observation")
        self.unanswered -= 1
        self.calls_turn = self.call = None
        self.messages.append({"role": "tool", "content": text})

    def _final_answer(self, line: int, text: str) -> None:
        if self.thought is not None:
            self.messages.append({"role": "assistant", "content": self.thought[1]})
            self.thought = None
        self.calls_turn = self.call = None
        self.messages.append({"role": "assistant", "content": text})

    def _no_thought(self, what: str) -> None:
        if self.thought is not None:
            raise _error(self.thought[0], f"Thought is followed by {what}, expected an Action "
                                          "or a Final Answer")


def to_row(t: Trajectory) -> dict[str, Any]:
    msgs = t.messages
    row: dict[str, Any] = {"id": t.id}
    start = 1 if msgs and msgs[0].role == "user" else 0
    if start:
        row["question"] = msgs[0].content or ""
    lines: list[str] = []
    for i in range(start, len(msgs)):
        m = msgs[i]
        if m.role == "user":
            lines.append(f"Question: {m.content or ''}")
        elif m.role == "tool":
            lines.append(f"Observation: {m.content or ''}")
        elif m.role == "assistant" and m.tool_calls:
            if m.content is not None:
                lines.append(f"Thought: {m.content}")
            for c in m.tool_calls:
                lines += [f"Action: {c.function.name}",
                          f"Action Input: {dumps(c.function.arguments)}"]
        elif m.role == "assistant":
            nxt = msgs[i + 1] if i + 1 < len(msgs) else None
            thought = nxt is not None and nxt.role == "assistant" and not nxt.tool_calls
            lines.append(f"{'Thought' if thought else 'Final Answer'}: {m.content or ''}")
        else:
            raise SourceError("unsupported_message",
                              f"record {t.id!r}: ReAct text cannot hold a {m.role} message "
                              "inside the conversation", f"messages[{i}]")
    row["trajectory"] = "\n".join(lines)
    if t.tools:
        row["tools"] = [s.model_dump(exclude_none=True) for s in t.tools]
    for key in ("system", "source", "meta"):
        if getattr(t, key):
            row[key] = getattr(t, key)
    return row


def load(path: str | os.PathLike[str],
         on_reject: Callable[[Reject], None] | None = None) -> Iterator[Trajectory]:
    return load_with(path, from_row, on_reject=on_reject)


def dump(records: Iterable[Trajectory], path: str | os.PathLike[str]) -> int:
    return dump_with(records, path, to_row)
