"""Small multi-turn tasks on lamstudio's own environments (user turns + ground-truth calls;
an empty ground-truth turn is one the agent should decline)."""

from __future__ import annotations

from typing import Any

TASKS: list[dict[str, Any]] = [
    {"id": "todo_0", "env": "todo",
     "turns": ["Add a task 'write report' due 2026-11-30.",
               "Mark the new task and 'buy milk' as done."],
     "ground_truth": [["add_task(title='write report', due='2026-11-30')"],
                      ["complete_task(task_id='3')", "complete_task(task_id='1')"]]},
    {"id": "todo_1", "env": "todo",
     "turns": ["Schedule 'standup' on 2026-11-24 from 09:00 to 09:15 and 'review' that day "
               "from 10:00 to 11:00.", "Cancel the standup."],
     "ground_truth": [["schedule_event(title='standup', date='2026-11-24', start='09:00', "
                       "end='09:15')",
                       "schedule_event(title='review', date='2026-11-24', start='10:00', "
                       "end='11:00')"],
                      ["cancel_event(event_id='3')"]]},
    {"id": "todo_2", "env": "todo",
     "turns": ["What is still open on my list?", "Delete 'buy milk'."],
     "ground_truth": [["list_tasks()"], ["delete_task(task_id='1')"]]},
    {"id": "store_0", "env": "store",
     "turns": ["Alice wants two lamps.", "Actually, cancel that order."],
     "ground_truth": [["place_order(customer='alice', product='lamp', quantity=2)"],
                      ["cancel_order(order_id='o1')"]]},
    {"id": "store_1", "env": "store",
     "turns": ["Send 10 from alice to bob, then have bob buy a mug."],
     "ground_truth": [["transfer(sender='alice', recipient='bob', amount=10.0)",
                       "place_order(customer='bob', product='mug', quantity=1)"]]},
    {"id": "store_2", "env": "store",
     "turns": ["How much money does bob have?", "Bob wants to buy a lamp with it."],
     "ground_truth": [["get_balance(customer='bob')"], []]},
]
