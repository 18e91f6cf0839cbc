"""``changed_line``: the "Great Gatsby" test — one sentence of the text altered; find what changed.

A seeded, incongruous phrase from :data:`haystacks.needles.CHANGED_PHRASES` is inserted into the eligible
sentence nearest the requested depth (the builder picks it); the question reveals neither the line nor the
phrase. An answer is right when it names the inserted phrase, or quotes enough of the altered sentence (a
common run of at least half of it and at least 6 characters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haystacks.errors import SpecError
from haystacks.grading import is_abstention, quotes_sentence
from haystacks.needles import CHANGED_KEY, CHANGED_PHRASES, NeedlePlan, PlannedNeedle, check_depth, needle_rng
from haystacks.tasks.base import AnswerKey, Grade, Task, states_fact
from haystacks.tasks.magic import check_seed, family
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = ["ChangedLineTask"]


class ChangedLineTask(Task):
    name = "changed_line"
    summary = "one transcript sentence altered by an inserted phrase; the question does not say which"
    metric = "located"

    def plan(self, spec: CellSpec) -> NeedlePlan:
        check_seed(spec.seed)
        fam = family(spec.language)
        depth = check_depth(spec.depth)
        if spec.depths is not None:
            raise SpecError(f"explicit depths are for the multi task, not {self.name!r}")
        if spec.n_needles != 1:
            raise SpecError(f"n_needles={spec.n_needles} is for the multi task, not {self.name!r}")
        if spec.n_distractors:
            raise SpecError("the changed_line task takes no distractors")
        phrase = needle_rng(spec.seed, self.name, spec.language, "phrase").choice(
            CHANGED_PHRASES[spec.language]
        )
        change = PlannedNeedle(
            kind="changed", text=phrase, key=CHANGED_KEY[spec.language], answer=phrase, depth=depth
        )
        return NeedlePlan(
            needles=(),
            distractors=(),
            change=change,
            question=fam.changed_question,
            answers=(phrase,),
            absent_key=None,
            clause_sep=fam.clause_sep,
        )

    def answer_budget(self, spec: CellSpec) -> int:
        return 96  # the phrase (up to ~30 tokens in Chinese) or the altered sentence quoted

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        found = tuple(f.answer for f in key.expected if states_fact(answer, f, None))
        missed = tuple(f.answer for f in key.expected if f.answer not in found)
        quoted = key.changed_sentence is not None and quotes_sentence(answer, key.changed_sentence)
        located = bool(found) or quoted
        abstained = is_abstention(answer)
        if located:
            outcome = "found"
        elif abstained:
            outcome = "abstained"
        else:
            outcome = "wrong"
        return Grade(
            score=1.0 if located else 0.0,
            outcome=outcome,
            found=found,
            missed=missed,
            abstained=abstained,
            located=located,
        )


register(ChangedLineTask())
