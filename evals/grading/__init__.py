"""Grading answers: the task's deterministic grade, the optional LLM judge, and how well both agree with a
careful human.

Entry: :func:`read_answer` (a model's answer read the one way the suite reads answers: the graded part,
then the grade of its cell's task against the :class:`~haystacks.tasks.AnswerKey`, knowing whether the budget
cut it). The rule of each family lives with the task in :mod:`haystacks.tasks`, the text reading in
:mod:`haystacks.reading` and :mod:`haystacks.grading`.

Modules, by job:

* :mod:`.score`: :func:`read_answer` (the runner's and the corpus's one reading), :func:`grade`,
  :func:`scored_text` (which part of an answer is graded: a base model's answer lines), :func:`score_answer`
  (values without keys);
* :mod:`.judge`: the pinned LLM judge (the classic 1-10 rubric) and judge/grader agreement statistics;
* :mod:`.agreement`: the grader (and a judge) measured on the labelled answer corpus (``answers/``).
"""

from evals.grading.judge import judge_answer
from evals.grading.score import Reading, grade, read_answer, runs_to_end, score_answer, scored_text

__all__ = ["Reading", "grade", "judge_answer", "read_answer", "runs_to_end", "score_answer", "scored_text"]
