"""Scoring: a cell's answer graded by its task (the task table owns each grade; this module applies it).

The text matching every grader uses (NFKC folding, Chinese and English numerals, whole-number matching,
abstention phrases, key binding) is :mod:`haystacks.grading`; each task's rule is its ``grade`` method in
:mod:`haystacks.tasks`. Both are pure. This module is the evals-side entry point: :func:`grade` for an
:class:`~haystacks.tasks.AnswerKey`, :func:`scored_text` for what part of an answer is graded, and
:func:`score_answer`, the first API (values only, no keys), kept for callers and tests of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from haystacks.grading import (
    contains_answer,
    is_abstention,
    normalize,
    number_candidates,
    parse_chinese_number,
    parse_english_number,
)
from haystacks.tasks import AnswerKey, Fact, Grade, get_task, task_names

__all__ = [
    "Grade",
    "ScoreResult",
    "contains_answer",
    "grade",
    "is_abstention",
    "normalize",
    "number_candidates",
    "parse_chinese_number",
    "parse_english_number",
    "score_answer",
    "scored_text",
]

ScoreResult = Grade  # the first API's name


def grade(answer: str, key: AnswerKey) -> Grade:
    """Grade one answer with its cell's task."""
    return get_task(key.task).grade(answer, key)


def scored_text(text: str, style: str) -> str:
    """The part of an answer that is graded: a base model's completion is read up to its first line break.

    A base model prompted with an answer prefix (``答案：``) answers on that line, then keeps writing (often
    more questions and answers); only the answer line is its answer. Chat answers are graded whole.

    Args:
        text: The model's output.
        style: ``completion`` or ``chat``.

    Returns:
        The text to grade.
    """
    if style != "completion":
        return text
    return text.strip().split("\n", 1)[0].strip()


def answer_was_cut(text: str, style: str) -> bool:
    """Whether the graded part of an answer that hit the token limit was cut (completion: no line ended)."""
    return style != "completion" or "\n" not in text.strip()


def score_answer(
    task: str,
    answer: str,
    expected: Sequence[str],
    *,
    distractors: Sequence[str] = (),
    changed_sentence: str | None = None,
    language: str = "zh",
) -> Grade:
    """Grade an answer against bare values (no keys: values cannot be bound to them; see :func:`grade`).

    Raises:
        ValueError: Unknown task, or a needle task without expected answers.
    """
    if task not in task_names():
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(task_names())}")
    t = get_task(task)
    if t.has_depth and not expected:
        raise ValueError(f"task {task!r} needs at least one expected answer")
    key = AnswerKey(
        task=task,
        language=language,
        question="",
        expected=tuple(Fact(f"fact {i}", e) for i, e in enumerate(expected)),
        decoys=tuple(Fact(f"distractor {i}", d) for i, d in enumerate(distractors)),
        absent=None if t.has_depth else Fact("absent", ""),
        changed_sentence=changed_sentence,
    )
    return t.grade(answer, key)
