"""A to-do list with a calendar: tasks can be added, completed, deleted; events scheduled
and cancelled, never overlapping."""

from __future__ import annotations

import copy
from typing import Any

from lamstudio.envs._base import EnvError

DEFAULT_STATE: dict[str, Any] = {
    "next_id": 3,
    "tasks": {"1": {"title": "buy milk", "done": False, "due": "2026-11-23"},
              "2": {"title": "call mum", "done": True, "due": ""}},
    "events": {},
}


def _minutes(hhmm: str) -> int:
    try:
        h, m = hhmm.split(":")
        value = int(h) * 60 + int(m)
    except ValueError:
        raise EnvError(f"time {hhmm!r} is not HH:MM") from None
    if not 0 <= value < 24 * 60:
        raise EnvError(f"time {hhmm!r} is out of range")
    return value


class TodoCalendar:
    write_tools = frozenset({"add_task", "complete_task", "delete_task", "schedule_event",
                              "cancel_event"})

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state = copy.deepcopy(state if state is not None else DEFAULT_STATE)

    def _new_id(self) -> str:
        self.state["next_id"] += 1
        return str(self.state["next_id"] - 1)

    def add_task(self, title: str, due: str = "") -> dict[str, Any]:
        """Add a task to the to-do list.

        Args:
            title: What has to be done.
            due: Due date as YYYY-MM-DD, or empty for none.
        """
        if not title.strip():
            raise EnvError("a task needs a title")
        task_id = self._new_id()
        self.state["tasks"][task_id] = {"title": title, "done": False, "due": due}
        return {"task_id": task_id}

    def complete_task(self, task_id: str) -> dict[str, Any]:
        """Mark a task as done.

        Args:
            task_id: The id of the task.
        """
        task = self._task(task_id)
        task["done"] = True
        return {"task_id": task_id, "done": True}

    def delete_task(self, task_id: str) -> dict[str, Any]:
        """Delete a task.

        Args:
            task_id: The id of the task.
        """
        self._task(task_id)
        del self.state["tasks"][task_id]
        return {"deleted": task_id}

    def list_tasks(self, include_done: bool = False) -> list[dict[str, Any]]:
        """List tasks, open ones only unless asked otherwise.

        Args:
            include_done: Also list completed tasks.
        """
        return [{"task_id": k, **t} for k, t in self.state["tasks"].items()
                if include_done or not t["done"]]

    def schedule_event(self, title: str, date: str, start: str, end: str) -> dict[str, Any]:
        """Put an event in the calendar; it may not overlap another one that day.

        Args:
            title: Name of the event.
            date: Day as YYYY-MM-DD.
            start: Start time as HH:MM.
            end: End time as HH:MM, after start.
        """
        s, e = _minutes(start), _minutes(end)
        if e <= s:
            raise EnvError("an event must end after it starts")
        for ev_id, ev in self.state["events"].items():
            if ev["date"] == date and s < _minutes(ev["end"]) and _minutes(ev["start"]) < e:
                raise EnvError(f"overlaps event {ev_id} ({ev['title']})")
        event_id = self._new_id()
        self.state["events"][event_id] = {"title": title, "date": date, "start": start,
                                          "end": end}
        return {"event_id": event_id}

    def cancel_event(self, event_id: str) -> dict[str, Any]:
        """Remove an event from the calendar.

        Args:
            event_id: The id of the event.
        """
        if event_id not in self.state["events"]:
            raise EnvError(f"no event {event_id}")
        del self.state["events"][event_id]
        return {"cancelled": event_id}

    def list_events(self, date: str) -> list[dict[str, Any]]:
        """The events of one day, by start time.

        Args:
            date: Day as YYYY-MM-DD.
        """
        day = [{"event_id": k, **v} for k, v in self.state["events"].items()
               if v["date"] == date]
        return sorted(day, key=lambda v: v["start"])

    def _task(self, task_id: str) -> dict[str, Any]:
        if task_id not in self.state["tasks"]:
            raise EnvError(f"no task {task_id}")
        return self.state["tasks"][task_id]
