"""Calendar, to-do list and reminders over an in-memory store.

Where the state lives: one store per process, seeded with a small fixed set of entries
(``SEED``). In a :class:`~lamstudio.tools.Sandbox` every call runs in a process forked
from a worker that never ran a tool, so the store starts from the seed every time: each
call is a pure function of its arguments (ids are deterministic: ``evt-4`` is always the
first event created). In-process
(``ToolRegistry.call``) the store persists across calls until
``lamstudio.tools.reset_tool_state()``. Multi-turn tasks whose state must carry over
between calls belong in ``lamstudio.envs``.
"""

from __future__ import annotations

import copy
from datetime import datetime, time, timedelta
from typing import Literal

from lamstudio.tools._decorator import tool
from lamstudio.tools._registry import register_state_reset
from lamstudio.tools.builtin._common import parse_date, parse_datetime

CATEGORY = "productivity"

SEED = {
    "events": [
        {"id": "evt-1", "title": "Team stand-up", "start": "2026-03-02T09:00",
         "end": "2026-03-02T09:15", "location": "Room 4", "attendees": ["ana", "li"]},
        {"id": "evt-2", "title": "Dentist", "start": "2026-03-02T14:00",
         "end": "2026-03-02T15:00", "location": "Clinic", "attendees": []},
        {"id": "evt-3", "title": "Quarterly review", "start": "2026-03-03T10:00",
         "end": "2026-03-03T12:00", "location": "Board room", "attendees": ["ana", "sam"]},
    ],
    "todos": [
        {"id": "todo-1", "title": "Send invoice", "due_date": "2026-03-02",
         "priority": "high", "done": False},
        {"id": "todo-2", "title": "Book flights", "due_date": "2026-03-06",
         "priority": "medium", "done": False},
        {"id": "todo-3", "title": "Renew passport", "due_date": None, "priority": "low",
         "done": True},
    ],
    "reminders": [
        {"id": "rem-1", "message": "Call the bank", "remind_at": "2026-03-02T11:00"},
    ],
}
_store: dict[str, list[dict]] = {}


@register_state_reset
def reset_store() -> None:
    """Put the calendar, to-dos and reminders back to ``SEED``."""
    _store.clear()
    _store.update(copy.deepcopy(SEED))


reset_store()


def _next_id(kind: str, prefix: str) -> str:
    numbers = [int(item["id"].split("-")[1]) for item in _store[kind]]
    return f"{prefix}-{max(numbers, default=0) + 1}"


def _minute(text: str, name: str) -> datetime:
    moment = parse_datetime(text, name)
    if moment.tzinfo is not None:
        raise ValueError(f"{name} must be a local date-time without offset, got {text!r}")
    return moment.replace(second=0, microsecond=0)


def _find(kind: str, item_id: str) -> dict:
    for item in _store[kind]:
        if item["id"] == item_id:
            return item
    raise ValueError(f"no {kind[:-1]} with id {item_id!r}")


@tool
def create_event(title: str, start: str, end: str, location: str = "",
                 attendees: list[str] | None = None) -> dict:
    """Add an event to the calendar; reports events it overlaps with.

    Args:
        title: Event title, e.g. "Lunch with Sam".
        start: Local start as ISO date-time, e.g. "2026-03-02T12:30".
        end: Local end as ISO date-time, after start.
        location: Where it takes place.
        attendees: Names or e-mail addresses of attendees.
    """
    if not title.strip():
        raise ValueError("title must not be empty")
    begin, finish = _minute(start, "start"), _minute(end, "end")
    if finish <= begin:
        raise ValueError("end must be after start")
    clashes = [e["id"] for e in _store["events"]
               if _minute(e["start"], "start") < finish and begin < _minute(e["end"], "end")]
    event = {"id": _next_id("events", "evt"), "title": title.strip(),
             "start": begin.isoformat(timespec="minutes"),
             "end": finish.isoformat(timespec="minutes"), "location": location,
             "attendees": list(attendees or [])}
    _store["events"].append(event)
    return {"event": event, "conflicts_with": clashes}


@tool
def list_events(date: str) -> dict:
    """Events on a given day, in start order.

    Args:
        date: ISO date, e.g. "2026-03-02".
    """
    day = parse_date(date, "date").isoformat()
    events = sorted((e for e in _store["events"] if e["start"][:10] == day),
                    key=lambda e: e["start"])
    return {"date": day, "events": events}


@tool
def delete_event(event_id: str) -> dict:
    """Remove an event from the calendar.

    Args:
        event_id: The event's id, e.g. "evt-2".
    """
    event = _find("events", event_id)
    _store["events"].remove(event)
    return {"deleted": event_id, "title": event["title"]}


@tool
def find_free_slots(date: str, duration_minutes: int, day_start: str = "09:00",
                    day_end: str = "17:00") -> dict:
    """Free periods of at least the given length between events on a day.

    Args:
        date: ISO date, e.g. "2026-03-02".
        duration_minutes: Minimum length of a slot (5 to 720).
        day_start: Start of the working day, "HH:MM".
        day_end: End of the working day, "HH:MM", after day_start.
    """
    day = parse_date(date, "date")
    if not 5 <= duration_minutes <= 720:
        raise ValueError("duration_minutes must be between 5 and 720")
    try:
        opens = datetime.combine(day, time.fromisoformat(day_start))
        closes = datetime.combine(day, time.fromisoformat(day_end))
    except ValueError:
        raise ValueError("day_start and day_end must be times such as 09:00") from None
    if closes <= opens:
        raise ValueError("day_end must be after day_start")
    busy = sorted((_minute(e["start"], "start"), _minute(e["end"], "end"))
                  for e in _store["events"] if e["start"][:10] == day.isoformat())
    slots, cursor = [], opens
    for begin, finish in busy + [(closes, closes)]:
        begin = min(max(begin, opens), closes)
        if begin - cursor >= timedelta(minutes=duration_minutes):
            slots.append({"start": cursor.isoformat(timespec="minutes"),
                          "end": begin.isoformat(timespec="minutes")})
        cursor = max(cursor, min(finish, closes))
    return {"date": day.isoformat(), "free_slots": slots}


@tool
def add_todo(title: str, due_date: str | None = None,
             priority: Literal["low", "medium", "high"] = "medium") -> dict:
    """Add an item to the to-do list.

    Args:
        title: What needs doing.
        due_date: ISO date it is due, if any.
        priority: low, medium or high.
    """
    if not title.strip():
        raise ValueError("title must not be empty")
    due = parse_date(due_date, "due_date").isoformat() if due_date else None
    item = {"id": _next_id("todos", "todo"), "title": title.strip(), "due_date": due,
            "priority": priority, "done": False}
    _store["todos"].append(item)
    return {"todo": item}


@tool
def list_todos(status: Literal["open", "done", "all"] = "open",
               due_before: str | None = None) -> dict:
    """To-do items, highest priority first, then by due date.

    Args:
        status: open, done or all.
        due_before: Only items due on or before this ISO date.
    """
    limit = parse_date(due_before, "due_before").isoformat() if due_before else None
    rank = {"high": 0, "medium": 1, "low": 2}
    items = [t for t in _store["todos"]
             if status == "all" or t["done"] == (status == "done")]
    if limit:
        items = [t for t in items if t["due_date"] and t["due_date"] <= limit]
    items.sort(key=lambda t: (rank[t["priority"]], t["due_date"] or "9999", t["id"]))
    return {"count": len(items), "todos": items}


@tool
def complete_todo(todo_id: str) -> dict:
    """Mark a to-do item as done.

    Args:
        todo_id: The item's id, e.g. "todo-1".
    """
    item = _find("todos", todo_id)
    if item["done"]:
        raise ValueError(f"{todo_id} is already done")
    item["done"] = True
    return {"todo": item}


@tool
def set_reminder(message: str, remind_at: str) -> dict:
    """Schedule a reminder message.

    Args:
        message: What to be reminded of.
        remind_at: Local ISO date-time, e.g. "2026-03-05T08:00".
    """
    if not message.strip():
        raise ValueError("message must not be empty")
    when = _minute(remind_at, "remind_at").isoformat(timespec="minutes")
    reminder = {"id": _next_id("reminders", "rem"), "message": message.strip(),
                "remind_at": when}
    _store["reminders"].append(reminder)
    return {"reminder": reminder}


@tool
def list_reminders(date: str | None = None) -> dict:
    """Scheduled reminders in time order, optionally only those on one day.

    Args:
        date: ISO date to filter on.
    """
    day = parse_date(date, "date").isoformat() if date else None
    items = sorted((r for r in _store["reminders"] if not day or r["remind_at"][:10] == day),
                   key=lambda r: r["remind_at"])
    return {"reminders": items}
