"""The agent loop: run a model against tools or an environment and write each episode as a
``Trajectory`` record, ready for ``verify`` and ``train``.

>>> import asyncio
>>> from lamstudio.agent import EnvToolbox, env_tasks, run_episode
>>> from lamstudio.llm import OpenAIBackend
>>> backend = OpenAIBackend("http://127.0.0.1:8000/v1", "my-model", api_key_env=None)
>>> task = env_tasks("store")[0]
>>> episode = asyncio.run(run_episode(backend, task, EnvToolbox(task.env, None,
...                                                                 task.ground_truth)))
>>> episode.meta["agent"]["stop"], episode.meta["agent"]["reward"]

Each model reply comes in through ``read_reply`` (one place decides what happens to text,
calls and arguments that no writer could keep: see ``_reply.py``); an episode that still
fails is one reject with a reason, never the end of a run.

The model is any ``lamstudio.llm.ChatBackend`` (``OpenAIBackend`` for lamstudio serve, vLLM
or a hosted API; ``LocalBackend`` for a transformers model rendered and parsed by
``lamstudio.render``); ``open_backend(model, base_url)`` picks one of the two. The user is
a ``User``: ``ScriptedUser`` plays a task's follow-up turns; a simulated user implements
the same ``reply(messages)``.
"""

from lamstudio.agent._backend import open_backend
from lamstudio.agent._loop import (
    STOP_REASONS,
    AgentConfig,
    EpisodeError,
    is_fatal,
    make_record,
    run_episode,
)
from lamstudio.agent._principles import principles_block, with_principles
from lamstudio.agent._reply import Reply, read_reply, read_text
from lamstudio.agent._run import (
    AgentSummary,
    read_tasks,
    run_agent,
    run_tasks,
    write_summary,
)
from lamstudio.agent._task import AgentTask, TaskError, env_tasks, task_from_row
from lamstudio.agent._text import clean_text
from lamstudio.agent._tools import (
    EnvToolbox,
    SandboxToolbox,
    Toolbox,
    ToolOutcome,
    error_outcome,
    make_toolbox,
    schema_problems,
)
from lamstudio.agent._user import ScriptedUser, User

__all__ = [
    "AgentConfig", "AgentSummary", "AgentTask", "EnvToolbox", "EpisodeError", "Reply",
    "STOP_REASONS", "SandboxToolbox", "ScriptedUser", "TaskError", "ToolOutcome", "Toolbox",
    "User", "clean_text", "env_tasks", "error_outcome", "is_fatal", "make_record",
    "make_toolbox", "open_backend", "principles_block", "read_reply", "read_tasks",
    "read_text", "run_agent", "run_episode", "run_tasks", "schema_problems", "task_from_row",
    "with_principles", "write_summary",
]
