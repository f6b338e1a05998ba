"""PRAct's principles: one block after the task's system prompt, what the model saw is what
the record keeps."""

from __future__ import annotations

import asyncio

from lamstudio.agent import (
    AgentConfig,
    AgentTask,
    ScriptedUser,
    principles_block,
    run_episode,
    with_principles,
)
from lamstudio.llm import ChatResult


class Echo:
    """Answers at once and remembers the system prompt it was sent."""

    model = "echo"

    def __init__(self) -> None:
        self.systems: list[str | None] = []

    async def complete(self, messages, tools=None, **params):
        self.systems.append(messages[0]["content"] if messages[0]["role"] == "system"
                            else None)
        return ChatResult(content="done", tool_calls=[])


class NoTools:
    def specs(self):
        return []

    def run(self, calls):
        return []

    def report(self):
        return {}


def test_the_block_is_numbered_and_blank_principles_are_dropped():
    block = principles_block(["Authenticate  the user\nfirst.", " ", "Read before writing."])
    assert block.splitlines() == ["# Action principles", "Follow these principles when you act:",
                                  "1. Authenticate the user first.", "2. Read before writing."]
    assert principles_block([]) == "" and principles_block(["  "]) == ""


def test_no_principles_leave_the_system_prompt_as_it_is():
    assert with_principles("Policy.", []) == "Policy."
    assert with_principles(None, []) is None
    assert with_principles(None, ["Be brief."]).startswith("# Action principles")
    assert with_principles("Policy.\n", ["Be brief."]) == \
        "Policy.\n\n# Action principles\nFollow these principles when you act:\n1. Be brief."


def test_the_model_sees_the_principles_and_the_record_says_so():
    task = AgentTask("t1", [{"role": "user", "content": "hi"}], system="Policy.")
    backend = Echo()
    record = asyncio.run(run_episode(backend, task, NoTools(), ScriptedUser([]),
                                     AgentConfig(principles=("Be brief.",))))
    assert backend.systems == [with_principles("Policy.", ["Be brief."])]
    assert record.system == backend.systems[0]
    assert record.meta["agent"]["principles"] == ["Be brief."]
    plain = asyncio.run(run_episode(Echo(), task, NoTools(), ScriptedUser([])))
    assert plain.system == "Policy." and "principles" not in plain.meta["agent"]
