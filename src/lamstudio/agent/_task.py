"""What one episode starts from: ``AgentTask``, read from a JSONL row or an env's task list.

Three row shapes are read (the first that fits):

* a lamstudio record (has ``messages``): the messages before its first assistant turn are
  the prompt, its later ``user`` messages are played as the user's next turns, and its
  ``tools`` (by name) choose which tools are offered;
* a prompt row: ``{"id", "prompt": "...", "system", "tools", "turns": [...]}``
  (``tools`` as specs or names; ``turns`` are further user messages);
* an environment task (``lamstudio.envs.TASKS`` shape): ``{"id", "env", "turns",
  "ground_truth", "initial_state"}``; the first turn is the prompt, the rest follow.

Every row goes through the same checks first (``id``, ``system``, ``env``, ``meta``, and
values no writer can keep); a row that fails any check is one ``TaskError`` with a code
and the field, which ``read_tasks`` writes as a reject. A task that names an environment
is checked against it before any episode starts (``_env_check.py``): the environment
exists, its ``initial_state`` loads, and every ground-truth call runs on it; a ground
truth that cannot run is ``bad_ground_truth`` (it would score an agent that does nothing
as a success).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamstudio.agent._env_check import check_env_task
from lamstudio.agent._errors import TaskError
from lamstudio.io import JsonValueError, check_value
from lamstudio.schema import Trajectory


@dataclass
class AgentTask:
    id: str
    messages: list[dict[str, Any]]  # the prompt (user/system messages before the first answer)
    system: str | None = None
    tools: list[str] | None = None  # names to offer; None = every tool the toolbox has
    turns: list[str] = field(default_factory=list)  # scripted follow-up user messages
    env: str | None = None
    initial_state: dict[str, Any] | None = None
    ground_truth: list[list[str]] | None = None  # env tasks: calls per user turn
    meta: dict[str, Any] = field(default_factory=dict)
    file: str = ""  # where the task came from, for the rejects file
    line: int = 0


def task_from_row(value: Any, line: int = 0, env: str | None = None) -> AgentTask:
    """One task from a JSON row; ``env`` is the default environment (``--env``)."""
    task_id = _common(value, line)
    if "messages" in value:
        task = _from_record(value, task_id, env)
    elif "prompt" in value:
        task = _from_prompt(value, task_id, env)
    elif "env" in value or "turns" in value:
        task = _from_env_task(value, task_id, env)
    else:
        raise TaskError("not_a_task", "a task needs 'messages' (a record), 'prompt', or "
                        "'turns' (an environment task)")
    if task.env:
        check_env_task(task.env, task.initial_state, task.ground_truth)
    return task


def _common(value: Any, line: int) -> str:
    """The checks every row shape shares; the task's id."""
    if not isinstance(value, dict):
        raise TaskError("not_an_object", f"expected a JSON object, got {type(value).__name__}")
    try:  # rows read from files passed parse_json; rows made in code may hold anything
        check_value(value)
    except JsonValueError as exc:
        raise TaskError(exc.code, f"the row holds a value no writer can keep: {exc.message}"
                        ) from None
    rid = value.get("id")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, (str, int))):
        raise TaskError("bad_id", f"'id' must be a string or an integer, got "
                        f"{type(rid).__name__}", "id")
    for key in ("system", "env"):
        _opt_str(value, key)
    meta = value.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise TaskError("bad_meta", f"'meta' must be an object, got {type(meta).__name__}",
                        "meta")
    return str(rid) if rid not in (None, "") else f"task-{line}"


def _from_record(value: dict[str, Any], task_id: str, env: str | None) -> AgentTask:
    try:
        # "env" says where the task runs; it is not a field of the record itself.
        rec = Trajectory.model_validate({**{k: v for k, v in value.items() if k != "env"},
                                         "id": task_id})
    except ValueError as exc:
        raise TaskError("invalid_record", f"not a valid record: {_first_line(exc)}",
                        "messages") from None
    msgs = [m.model_dump(exclude_none=True) for m in rec.messages]
    first = next((i for i, m in enumerate(msgs) if m["role"] == "assistant"), len(msgs))
    prompt = msgs[:first]
    if not any(m["role"] == "user" for m in prompt):
        raise TaskError("no_prompt", "the record has no user message before its first "
                        "assistant message", "messages")
    turns = [m.get("content") or "" for m in msgs[first:] if m["role"] == "user"]
    return AgentTask(id=task_id, messages=prompt, system=rec.system,
                     tools=rec.tool_names() or None, turns=turns,
                     env=value.get("env") or env, meta=dict(rec.meta))


def _from_prompt(value: dict[str, Any], task_id: str, env: str | None) -> AgentTask:
    prompt = value["prompt"]
    if not isinstance(prompt, str) or not prompt.strip():
        raise TaskError("empty_prompt", "'prompt' must be a non-empty string", "prompt")
    return AgentTask(id=task_id, messages=[{"role": "user", "content": prompt}],
                     system=_opt_str(value, "system"), tools=_tool_names(value.get("tools")),
                     turns=_turns(value.get("turns", [])), env=value.get("env") or env,
                     meta=dict(value.get("meta") or {}))


def _from_env_task(value: dict[str, Any], task_id: str, env: str | None) -> AgentTask:
    turns = _turns(value.get("turns"))
    if not turns:
        raise TaskError("no_turns", "an environment task needs at least one user turn",
                        "turns")
    truth = value.get("ground_truth")
    if truth is not None and (not isinstance(truth, list) or not all(
            isinstance(t, list) and all(isinstance(c, str) for c in t) for t in truth)):
        raise TaskError("bad_ground_truth", "'ground_truth' must be a list of turns, each a "
                        "list of call strings", "ground_truth")
    state = value.get("initial_state")
    if state is not None and not isinstance(state, dict):
        raise TaskError("bad_initial_state", "'initial_state' must be an object",
                        "initial_state")
    name = value.get("env") or env
    if not name:
        raise TaskError("no_env", "an environment task needs 'env' (or --env)", "env")
    return AgentTask(id=task_id, messages=[{"role": "user", "content": turns[0]}],
                     system=_opt_str(value, "system"), turns=turns[1:], env=str(name),
                     initial_state=state, ground_truth=truth,
                     meta=dict(value.get("meta") or {}))


def env_tasks(env: str | None = None) -> list[AgentTask]:
    """lamstudio's own environment tasks (``lamstudio.envs.TASKS``), optionally one env's."""
    from lamstudio.envs import TASKS

    return [task_from_row(t) for t in TASKS if env is None or t["env"] == env]


def _turns(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise TaskError("bad_turns", "'turns' must be a list of strings", "turns")
    return list(value)


def _tool_names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TaskError("bad_tools", "'tools' must be a list of names or tool specs", "tools")
    names = []
    for k, t in enumerate(value):
        fn = t.get("function", t) if isinstance(t, dict) else None
        name = t if isinstance(t, str) else fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str) or not name:
            raise TaskError("bad_tools", f"tools[{k}] is neither a name nor a tool spec "
                            "with a function name", f"tools[{k}]")
        names.append(name)
    return names or None


def _opt_str(value: dict[str, Any], key: str) -> str | None:
    got = value.get(key)
    if got is not None and not isinstance(got, str):
        raise TaskError(f"bad_{key}", f"'{key}' must be a string", key)
    return got


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return " / ".join(lines[:3])
