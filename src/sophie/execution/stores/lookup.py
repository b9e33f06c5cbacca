"""Finding one task by id or id prefix: the query both SQL stores run, with their parameter mark."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sophie.errors import UnknownNameError
from sophie.execution.stores.rows import TASK_COLUMNS, task_from_row
from sophie.execution.tasks import Task

__all__ = ["find_task"]

_SELECT_TASK = f"SELECT {', '.join(TASK_COLUMNS)} FROM task"


def find_task(execute: Callable[..., Any], task_id: str, *, mark: str, practice_id: str | None = None) -> Task:
    """Return the task whose id is ``task_id``, or the one task whose id starts with it.

    Args:
        execute: The store's ``execute(sql, params)``.
        task_id: An id or the start of one.
        mark: The store's parameter mark (``?`` or ``%s``).
        practice_id: Look only among this practice's tasks.

    Raises:
        UnknownNameError: No task (or more than one) matches.
    """
    where, params = ("", ()) if practice_id is None else (f" AND practice_id = {mark}", (practice_id,))
    row = execute(f"{_SELECT_TASK} WHERE id = {mark}{where}", (task_id, *params)).fetchone()
    if row is None:
        pattern = task_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = execute(f"{_SELECT_TASK} WHERE id LIKE {mark} ESCAPE '\\'{where} LIMIT 2", (pattern, *params)).fetchall()
        if len(rows) != 1:
            raise UnknownNameError("task", task_id if practice_id is None else f"{task_id} in practice {practice_id}")
        row = rows[0]
    return task_from_row(row)
