"""The one task table: every task by name, its built-in modules loaded on first use."""

from __future__ import annotations

import importlib

from haystacks.errors import SpecError
from haystacks.tasks.base import Task

__all__ = ["BUILTIN_MODULES", "get_task", "register", "task_names", "tasks"]

#: Modules whose import registers the built-in tasks, in the order the tasks are listed.
BUILTIN_MODULES: tuple[str, ...] = (
    "haystacks.tasks.magic",
    "haystacks.tasks.changed_line",
    "haystacks.tasks.custom",
    "haystacks.tasks.associative",
    "haystacks.tasks.chain",
    "haystacks.tasks.aggregate",
    "haystacks.tasks.ordered",
    "haystacks.tasks.topical",
)

_TABLE: dict[str, Task] = {}
_loaded = False


def register(task: Task) -> Task:
    """Add a task to the table (a second task of the same name is a programming error)."""
    if not task.name:
        raise ValueError(f"{type(task).__name__} has no name")
    if task.name in _TABLE and type(_TABLE[task.name]) is not type(task):
        raise ValueError(f"task {task.name!r} is registered twice")
    _TABLE[task.name] = task
    return task


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in BUILTIN_MODULES:
            importlib.import_module(mod)


def tasks() -> dict[str, Task]:
    """Every task, by name, in table order."""
    _load()
    return dict(_TABLE)


def task_names() -> tuple[str, ...]:
    """The names users can pass to ``--task``."""
    return tuple(tasks())


def get_task(name: str) -> Task:
    """The task called ``name``.

    Raises:
        SpecError: Unknown task (the message lists the known ones).
    """
    table = tasks()
    try:
        return table[name]
    except KeyError:
        raise SpecError(f"unknown task {name!r}; choose from {', '.join(table)}") from None
