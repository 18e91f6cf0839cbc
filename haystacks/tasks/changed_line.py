"""``changed_line``: the "Great Gatsby" test — one sentence of the text altered; find what changed.

A seeded, incongruous phrase from :data:`haystacks.needles.CHANGED_PHRASES` is inserted into the eligible
sentence nearest the requested depth (the builder picks it); the question reveals neither the line nor the
phrase. An answer is right when it states the inserted phrase or a close paraphrase of it: at least
:data:`PARAPHRASE_RECALL` of the phrase's content tokens (English words, stemmed, no stopwords; Chinese
characters, no function characters or measure words; :func:`haystacks.reading.phrase_recall`), in the
phrase's language or in the other language's rendering of the same phrase (the tables are parallel).
Quoting the whole altered sentence states the phrase; quoting only its unchanged part, or another sentence,
states none of it and earns nothing.

The threshold is measured on the labelled corpus (``answers/changed_line.jsonl``, 46 answers; README
"Grading"): every right answer (exact, a dropped measure word or adjective, synonyms, the other language's
rendering, the sentence quoted whole) recalls 0.56 or more; every wrong one (the unchanged half, another
sentence, an invented phrase, a refusal) 0.05 or less; 0.5 sits in the gap. An answer stating the phrase
while leaving another candidate open ("either A or B", 可能是A，也可能是B) is ``hedged``; one whose content
is mostly the question's own words (at least :data:`RESTATES_TASK`) restates the task: ``wrong_format``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from haystacks.errors import SpecError
from haystacks.needles import CHANGED_KEY, CHANGED_PHRASES, NeedlePlan, PlannedNeedle, check_depth, needle_rng
from haystacks.reading import content, hedges, is_refusal, phrase_recall
from haystacks.tasks.base import AnswerKey, Grade, Task
from haystacks.tasks.magic import check_seed, family
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = ["PARAPHRASE_RECALL", "ChangedLineTask", "phrase_forms"]

#: Share of the inserted phrase's content tokens an answer must state to locate it (see the docstring).
PARAPHRASE_RECALL = 0.5
#: An answer whose content is mostly the question's own words restates the task (``wrong_format``).
RESTATES_TASK = 0.4


_QUOTED = re.compile(r"[\"“”「」『』]")
_CLAIM = re.compile(
    r"\b(?:inserted|altered|changed|added)\s+(?:phrase|line|sentence|part|text)\b|\bthe\s+one\s+saying\b|"
    r"\bwas\s+altered\s+to\b|插入的(?:内容|是)|被改动的|改动过的句子|改动的是|被插入的"
)


def _claims(answer: str, key: AnswerKey) -> bool:
    """Whether the answer has named a sentence, quoted or claimed ("the inserted phrase is …") or part of
    the altered one: what makes an answer cut by its budget a commitment."""
    if _QUOTED.search(answer) or _CLAIM.search(answer):
        return True
    return bool(key.changed_sentence) and phrase_recall(answer, str(key.changed_sentence)) >= 0.3


def _names_a_sentence(answer: str, key: AnswerKey) -> bool:
    """Whether the answer names some sentence as the altered one: it quotes something, claims a line ("the
    altered line is the one saying..."), repeats part of the altered sentence, or is itself a short bare
    phrase ("you only got one shot")."""
    if _claims(answer, key):
        return True
    words = re.findall(r"[A-Za-z]+|[\u3400-\u9fff]", answer)
    return 0 < len(words) <= 24 and len(re.findall(r"[A-Za-z]+", answer)) <= 10


def phrase_forms(phrase: str) -> tuple[str, ...]:
    """The phrase and its rendering in the other language (same index in :data:`CHANGED_PHRASES`)."""
    for lang, table in CHANGED_PHRASES.items():
        if phrase in table:
            i = table.index(phrase)
            return (phrase, *(t[i] for other, t in CHANGED_PHRASES.items() if other != lang and i < len(t)))
    return (phrase,)


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
        # the phrase or the altered sentence quoted, with where it was and why: 140 tokens at most in the
        # corpus (p90 76)
        return 192

    def completion_budget(self, spec: CellSpec) -> int:
        # a base model's one line: the phrase (up to ~30 tokens in Chinese) or the altered sentence quoted
        return 96

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        recall = max(
            (
                phrase_recall(answer, form)
                for f in key.expected
                for form in (*phrase_forms(f.answer), *f.accept)
            ),
            default=0.0,
        )
        hedged = recall >= PARAPHRASE_RECALL and hedges(answer)
        located = recall >= PARAPHRASE_RECALL and not hedged
        found = tuple(f.answer for f in key.expected) if located else ()
        missed = tuple(f.answer for f in key.expected if f.answer not in found)
        abstained = is_refusal(answer)
        mine = content(answer, pairs=False)
        echo = len(mine & content(key.question)) / len(mine) if mine else 1.0
        names = _names_a_sentence(answer, key)
        if located:
            outcome = "found"
        elif hedged:
            outcome = "hedged"
        elif abstained:
            outcome = "abstained"
        elif names and not (echo >= RESTATES_TASK and not _QUOTED.search(answer)):
            outcome = "wrong"  # another sentence, the unchanged half, an invented phrase
        else:
            outcome = "wrong_format"  # restates the task or rambles: names no sentence
        return Grade(
            score=1.0 if located else 0.0,
            outcome=outcome,
            found=found,
            missed=missed,
            abstained=abstained,
            located=located,
            extra={"recall": round(recall, 3)},
            firm=located or abstained or hedged or (outcome == "wrong" and _claims(answer, key)),
        )


register(ChangedLineTask())
