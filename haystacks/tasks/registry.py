"""The one task table: every task by name, the modules of this package loaded on first use.

Every module of ``haystacks.tasks`` except the machinery (``base``, ``registry``) is imported once and
registers its tasks, so adding a task is adding one module: nothing else names it. The table lists the first
families in the order of :data:`BUILTIN_MODULES`, then any other module's tasks in module-name order.
"""

from __future__ import annotations

import importlib
import pkgutil

from haystacks.errors import SpecError
from haystacks.tasks.base import Task

__all__ = ["BUILTIN_MODULES", "get_task", "register", "task_names", "tasks"]

#: Modules listed first, in this order (the rest of the package follows, by name).
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
        package = __name__.rsplit(".", 1)[0]
        found = sorted(
            f"{package}.{m.name}"
            for m in pkgutil.iter_modules(importlib.import_module(package).__path__)
            if m.name not in ("base", "registry") and not m.name.startswith("_")
        )
        order = [*BUILTIN_MODULES, *(m for m in found if m not in BUILTIN_MODULES)]
        for mod in order:
            importlib.import_module(mod)
        # a module imported earlier (a CLI importing one task's helpers) must not move its tasks up the table
        rank = {mod: i for i, mod in enumerate(order)}
        ranked = sorted(_TABLE.items(), key=lambda kv: rank.get(type(kv[1]).__module__, len(rank)))
        _TABLE.clear()
        _TABLE.update(ranked)


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
