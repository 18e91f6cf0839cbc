"""Scoring: a cell's answer graded by its task (the task table owns each grade; this module applies it).

The text matching every grader uses (NFKC folding, Chinese and English numerals, whole-number matching,
abstention phrases, key binding) is :mod:`haystacks.grading`; each task's rule is its ``grade`` method in
:mod:`haystacks.tasks`. Both are pure. This module is the evals-side entry point: :func:`grade` for an
:class:`~haystacks.tasks.AnswerKey`, :func:`scored_text` for what part of an answer is graded, and
:func:`score_answer`, the first API (values only, no keys), kept for callers and tests of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from haystacks.grading import (
    contains_answer,
    is_abstention,
    normalize,
    number_candidates,
    parse_chinese_number,
    parse_english_number,
)
from haystacks.tasks import AnswerKey, Fact, Grade, get_task, grade_answer, task_names

__all__ = [
    "Grade",
    "Reading",
    "ScoreResult",
    "contains_answer",
    "grade",
    "is_abstention",
    "normalize",
    "number_candidates",
    "parse_chinese_number",
    "parse_english_number",
    "read_answer",
    "runs_to_end",
    "score_answer",
    "scored_text",
]

ScoreResult = Grade  # the first API's name


def grade(answer: str, key: AnswerKey) -> Grade:
    """Grade one answer with its cell's task."""
    return get_task(key.task).grade(answer, key)


def _template_markers() -> tuple[str, ...]:
    from haystacks.prompts import TEMPLATES

    parts = ("answer_prefix", "question_label", "context_open")
    marks = {getattr(t, part).strip() for t in TEMPLATES.values() for part in parts}
    return tuple(sorted(m for m in marks if m))


def scored_text(text: str, style: str, lines: int = 1) -> str:
    """The part of an answer that is graded: a base model's completion is read line by line, one line per
    asked fact, up to the line where it starts writing a new prompt.

    A base model prompted with an answer prefix (``答案：``) answers on the next line(s) — a list of three
    values comes one per line — then keeps writing (often more questions, answers, or the text again); only
    its answer lines are its answer. Chat answers are graded whole.

    Args:
        text: The model's output.
        style: ``completion`` or ``chat``.
        lines: Lines the answer may take (the number of asked facts).

    Returns:
        The text to grade (a completion's lines joined by newlines).
    """
    if style != "completion":
        return text
    markers = _template_markers()
    out: list[str] = []
    for line in text.strip().split("\n"):
        line = line.strip()
        if out and (not line or line.startswith(markers)):
            break
        if line:
            out.append(line)
        if len(out) >= max(1, lines):
            break
    return "\n".join(out)


def runs_to_end(text: str, scored: str) -> bool:
    """Whether the graded part of an answer runs to its end (so a budget that cut the answer cut it): a
    base model's answer lines followed by more text do not (:func:`scored_text`)."""
    rest = [line.strip() for line in text.strip().split("\n") if line.strip()]
    return rest == [line.strip() for line in scored.strip().split("\n") if line.strip()]


@dataclass(frozen=True)
class Reading:
    """How an answer was read: what of it was graded, the grade, and whether the budget cut it first.

    Attributes:
        scored: The graded part (:func:`scored_text`).
        grade: The task's grade of it.
        truncated: The budget cut the answer before it committed to anything: not scored.
    """

    scored: str
    grade: Grade
    truncated: bool


def read_answer(text: str, key: AnswerKey, *, style: str = "chat", cut: bool = False) -> Reading:
    """Read a model's answer the one way the suite reads answers (a run's cells, the labelled corpus): the
    graded part of it (:func:`scored_text`), then its task's grade, knowing whether its budget cut it
    (:func:`haystacks.tasks.grade_answer`: a cut answer is graded on what it committed to, or ``truncated``).

    Args:
        text: The answer as the model wrote it.
        key: Its cell's answer key.
        style: ``completion`` (a base model: its answer lines only) or ``chat`` (the whole answer).
        cut: The provider said the answer budget ran out.

    Returns:
        The :class:`Reading`.
    """
    scored = scored_text(text, style, lines=len(key.expected))
    ends = runs_to_end(text, scored)  # the graded text runs to the cut
    grade, truncated = grade_answer(get_task(key.task), scored, key, cut, ends_at_cut=ends)
    return Reading(scored, grade, truncated)


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
