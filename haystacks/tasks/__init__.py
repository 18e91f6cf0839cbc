"""The task table: one object per task owns its needle plan, question, answer budget, grade and metric.

``get_task(name)`` is the only way the builder CLI, the runner, the planner, the scorer and the reports learn
about a task; see :mod:`haystacks.tasks.base` for the interface and one module per family beside it.
"""

from haystacks.tasks.base import (
    OUTCOMES,
    AnswerKey,
    Fact,
    Grade,
    Task,
    grade_absent,
    grade_answer,
    grade_facts,
    grade_one,
    is_truncated,
)
from haystacks.tasks.registry import get_task, register, task_names, tasks

__all__ = [
    "OUTCOMES",
    "AnswerKey",
    "Fact",
    "Grade",
    "Task",
    "get_task",
    "grade_absent",
    "grade_answer",
    "grade_facts",
    "grade_one",
    "is_truncated",
    "register",
    "task_names",
    "tasks",
]
