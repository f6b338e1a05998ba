"""An environment task checked before any episode starts: the environment exists, its
``initial_state`` loads, and every ground-truth call runs on a fresh instance.

The reward of an environment episode is "the final state equals the ground truth's".
A ground-truth call that cannot run (``"garbage((("``, an unknown action, an action the
environment refuses) changes nothing, so a broken ground truth would score an agent that
does nothing as a success: such a task is a ``bad_ground_truth`` reject instead.
"""

from __future__ import annotations

from typing import Any

from lamstudio.agent._task import AgentTask, TaskError
from lamstudio.agent._text import shown


def check_env_task(task: AgentTask) -> None:
    """Raise ``TaskError`` (``unknown_env``, ``env_unavailable``, ``bad_initial_state``,
    ``bad_ground_truth``) unless ``task`` can be played and scored."""
    from lamstudio.envs import EnvRunner, make_env  # envs imports eval: bind at call time

    assert task.env is not None
    try:
        env = make_env(task.env, task.initial_state)
    except KeyError as exc:
        raise TaskError("unknown_env", str(exc.args[0]), "env") from None
    except Exception as exc:  # noqa: BLE001 - any failure to build it is this task's
        code, field = ("bad_initial_state", "initial_state") if task.initial_state \
            is not None else ("env_unavailable", "env")
        raise TaskError(code, f"environment {task.env!r} cannot start: "
                        f"{type(exc).__name__}: {exc}", field) from None
    runner = EnvRunner(env)
    for i, turn in enumerate(task.ground_truth or []):
        for j, call in enumerate(turn):
            why = _why_not(runner.methods, call)
            if why:
                raise TaskError("bad_ground_truth", f"ground_truth[{i}][{j}] {shown(call)} "
                                f"cannot run: {why}", f"ground_truth[{i}][{j}]")


def _why_not(methods: dict[str, Any], text: str) -> str:
    """Run one ground-truth call; why it failed, or "" when it ran."""
    from lamstudio.eval._multi_turn import parse_call

    try:
        name, args, kwargs = parse_call(text)
    except Exception as exc:  # noqa: BLE001 - SyntaxError, ValueError, RecursionError ...
        return f"not a call ({type(exc).__name__}: {str(exc)[:200]})"
    if name not in methods:
        return f"the environment has no action {shown(name)}"
    try:
        methods[name](*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the action refused or broke: say how
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return ""
