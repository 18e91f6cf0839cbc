"""The task table: one object per task owns its needle plan, question, answer budget, grade and metric.

``get_task(name)`` is the only way the builder CLI, the runner, the planner, the scorer and the reports learn
about a task; see :mod:`haystacks.tasks.base` for the interface and one module per family beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haystacks.answer_key import ScoreDetail
from haystacks.spec import CellSpec
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

if TYPE_CHECKING:
    from haystacks.needles import NeedlePlan

__all__ = [
    "OUTCOMES",
    "AnswerKey",
    "Fact",
    "Grade",
    "ScoreDetail",
    "Task",
    "get_task",
    "grade_absent",
    "grade_answer",
    "grade_facts",
    "grade_one",
    "is_truncated",
    "plan_needles",
    "register",
    "task_names",
    "tasks",
]


def plan_needles(
    task: str,
    seed: int,
    language: str,
    depth: float,
    n_needles: int = 1,
    depths: tuple[float, ...] | None = None,
    n_distractors: int = 0,
) -> NeedlePlan:
    """Draw a cell's needles from its seed through the task table (the first API's entry, once in needles).

    Args:
        task: A task name (:func:`haystacks.tasks.task_names`).
        seed: The cell's seed.
        language: ``"zh"`` or ``"en"``.
        depth: Requested depth in percent (multi: the first needle's, unless ``depths`` is given).
        n_needles: Multi: number of needles (1 means the default, :data:`DEFAULT_MULTI_NEEDLES`).
        depths: Multi: explicit depths, one per needle.
        n_distractors: Number of distractors (0 means :data:`DEFAULT_DISTRACTORS` for the distractor task).

    Returns:
        The plan.

    Raises:
        SpecError: Unknown task or language, a depth outside 0..100, bad counts.
    """
    spec = CellSpec(
        task=task,
        length=1,
        depth=depth,
        seed=seed,
        language=language,
        n_needles=n_needles,
        depths=depths,
        n_distractors=n_distractors,
    )
    return get_task(task).plan(spec)
