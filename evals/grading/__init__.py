"""Grading answers: the task's deterministic grade, the optional LLM judge, and how well both agree with a
careful human.

Entry: :func:`grade` (an answer against its cell's :class:`~haystacks.tasks.AnswerKey`, by the cell's task:
the rule of each family lives with the task in :mod:`haystacks.tasks`, the text reading in
:mod:`haystacks.reading` and :mod:`haystacks.grading`).

Modules, by job:

* :mod:`.score`: :func:`grade`, :func:`scored_text` (which part of an answer is graded: a base model's
  answer lines), :func:`score_answer` (values without keys);
* :mod:`.judge`: the pinned LLM judge (the classic 1-10 rubric) and judge/grader agreement statistics;
* :mod:`.agreement`: the grader (and a judge) measured on the labelled answer corpus (``answers/``).
"""

from evals.grading.judge import judge_answer
from evals.grading.score import grade, runs_to_end, score_answer, scored_text

__all__ = ["grade", "judge_answer", "runs_to_end", "score_answer", "scored_text"]
