"""An environment task checked before any episode starts: the environment exists, its
``initial_state`` loads, and every ground-truth call runs on a fresh instance.

The reward of an environment episode is "the final state equals the ground truth's".
A ground-truth call that cannot run (``"garbage((("``, an unknown action, an action the
environment refuses) changes nothing, so a broken ground truth would score an agent that
does nothing as a success: such a task is a ``bad_ground_truth`` reject instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lamstudio.agent._errors import TaskError
from lamstudio.agent._text import shown
from lamstudio.envs import EnvRunner, make_env


def check_env_task(name: str, initial_state: dict[str, Any] | None,
                   ground_truth: Sequence[Sequence[str]] | None) -> None:
    """Raise ``TaskError`` (``unknown_env``, ``env_unavailable``, ``bad_initial_state``,
    ``bad_ground_truth``) unless a task in environment ``name`` can be played and scored."""
    try:
        env = make_env(name, initial_state)
    except KeyError as exc:
        raise TaskError("unknown_env", str(exc.args[0]), "env") from None
    except Exception as exc:  # noqa: BLE001 - any failure to build it is this task's
        code, field = ("bad_initial_state", "initial_state") if initial_state is not None \
            else ("env_unavailable", "env")
        raise TaskError(code, f"environment {name!r} cannot start: "
                        f"{type(exc).__name__}: {exc}", field) from None
    runner = EnvRunner(env)
    for i, turn in enumerate(ground_truth or []):
        for j, call in enumerate(turn):
            # EnvRunner.run reports any failure (not a call, no such action, the action
            # refused or raised) as BFCL's "Error during execution: ..." result text.
            result = runner.run(call)
            if isinstance(result, str) and result.startswith(_FAILED):
                raise TaskError("bad_ground_truth", f"ground_truth[{i}][{j}] {shown(call)} "
                                f"cannot run: {result[len(_FAILED):][:300]}",
                                f"ground_truth[{i}][{j}]")


_FAILED = "Error during execution: "
