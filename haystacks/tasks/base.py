"""The task table's building blocks: a task is one object that owns everything about itself.

A :class:`Task` draws its needles and question from a cell's seed (:meth:`Task.plan`), says how many answer
tokens it needs (:meth:`Task.answer_budget`), grades an answer (:meth:`Task.grade`), and declares its metric,
whether it has a depth axis and which run options it reads. The builder CLI, the runner, the planner, the
scorer and the reports all look tasks up in one table (:func:`haystacks.tasks.get_task`); none of them
branches on a task's name. Adding a task is one module (a :class:`Task` subclass, registered with
:func:`register`) plus its tests.

Grading lives with the task because the right answer is defined by the needles the task planted; it is a
pure function of the answer text and the :class:`AnswerKey` (which a result record carries, so a run can be
regraded without rebuilding its haystacks).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from haystacks.errors import SpecError
from haystacks.grading import (
    bind_numbers,
    contains_answer,
    is_abstention,
    normalize,
    number_candidates,
    number_positions,
    numbers_in_order,
)

if TYPE_CHECKING:
    from haystacks.needles import NeedlePlan
    from haystacks.spec import CellSpec

__all__ = [
    "OUTCOMES",
    "AnswerKey",
    "Fact",
    "Grade",
    "Task",
    "grade_facts",
    "grade_one",
    "rng",
    "states_fact",
]

#: Every outcome a graded answer can have (the dashboard's error taxonomy adds ``truncated``, ``error`` and
#: ``model_length``, which the runner sets from the call's status).
OUTCOMES: tuple[str, ...] = (
    "found",  # every asked fact stated under its own key
    "partial",  # some of them
    "abstained",  # says the text does not contain it (right for no_needle, a miss elsewhere)
    "decoy",  # took a distractor's value (or another item's)
    "misbound",  # stated a right value under the wrong key
    "hallucinated",  # stated a value that is nowhere in the text (no_needle: any value for the asked key)
    "wrong",  # answered something else
    "wrong_format",  # gave no value at all (no number where a number was asked) and did not abstain
)


def rng(seed: int, task: str, language: str, what: str) -> random.Random:
    """A local RNG for one draw of one cell (never the global one): same seed, same draw, everywhere."""
    return random.Random(f"{seed}:{task}:{language}:{what}")


@dataclass(frozen=True)
class Fact:
    """One fact an answer is graded on.

    Attributes:
        key: How the fact is named ("上海的神秘数字" / "the magic number for Oslo").
        answer: Its canonical answer ("4729183").
        label: The bare key an answer names it by ("上海" / "Oslo"); binds values to keys. "" = unbound.
        accept: Other forms that count as the answer (an English name for a Chinese one, say).
    """

    key: str
    answer: str
    label: str = ""
    accept: tuple[str, ...] = ()

    def forms(self) -> tuple[str, ...]:
        """The answer and every accepted form."""
        return (self.answer, *self.accept)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "answer": self.answer, "label": self.label, "accept": list(self.accept)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Fact:
        return cls(str(d["key"]), str(d["answer"]), str(d.get("label") or ""), tuple(d.get("accept") or ()))


@dataclass(frozen=True)
class AnswerKey:
    """Everything a grader needs about a cell, and nothing else (no context, no tokenizer).

    Attributes:
        task: Task name.
        language: Question language.
        question: The question asked.
        expected: The asked facts, in question order.
        decoys: Facts in the text that are *not* asked (distractors, other items); stating one is a decoy.
        absent: ``no_needle``: the asked key, present nowhere in the text.
        changed_sentence: ``changed_line``: the altered sentence as it stands in the context.
        params: Task-specific grading parameters (e.g. ``("op", "sum")``).
    """

    task: str
    language: str
    question: str
    expected: tuple[Fact, ...] = ()
    decoys: tuple[Fact, ...] = ()
    absent: Fact | None = None
    changed_sentence: str | None = None
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "language": self.language,
            "question": self.question,
            "expected": [f.to_dict() for f in self.expected],
            "decoys": [f.to_dict() for f in self.decoys],
            "absent": self.absent.to_dict() if self.absent is not None else None,
            "changed_sentence": self.changed_sentence,
            "params": {k: v for k, v in self.params},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AnswerKey:
        absent = d.get("absent")
        return cls(
            task=str(d["task"]),
            language=str(d.get("language") or "zh"),
            question=str(d.get("question") or ""),
            expected=tuple(Fact.from_dict(f) for f in d.get("expected") or ()),
            decoys=tuple(Fact.from_dict(f) for f in d.get("decoys") or ()),
            absent=Fact.from_dict(absent) if absent else None,
            changed_sentence=d.get("changed_sentence"),
            params=tuple(sorted((d.get("params") or {}).items())),
        )


@dataclass(frozen=True)
class Grade:
    """The grade of one answer.

    Attributes:
        score: In [0, 1]: the fraction of asked facts found under their own keys (no_needle: 1 for a clean
            abstention).
        outcome: One of :data:`OUTCOMES`.
        found: Expected answers stated under their key.
        missed: Expected answers not so stated.
        misbound: Expected answers stated, but under another key.
        abstained: The answer says the text does not contain it.
        hallucinated: The answer states a value the text does not hold for the asked key.
        distractors_found: Decoy values the answer states.
        located: ``changed_line``: whether the altered line was identified.
        extra: Task-specific detail (JSON-ready).
    """

    score: float
    outcome: str
    found: tuple[str, ...] = ()
    missed: tuple[str, ...] = ()
    misbound: tuple[str, ...] = ()
    abstained: bool = False
    hallucinated: bool = False
    distractors_found: tuple[str, ...] = ()
    located: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def detail(self) -> dict[str, Any]:
        """The JSON-ready ``score_detail`` of a result record."""
        d: dict[str, Any] = {
            "outcome": self.outcome,
            "found": list(self.found),
            "missed": list(self.missed),
            "misbound": list(self.misbound),
            "abstained": self.abstained,
            "hallucinated": self.hallucinated,
            "distractors_found": list(self.distractors_found),
        }
        if self.located is not None:
            d["located"] = self.located
        d.update(self.extra)
        return d


def _numeric(fact: Fact) -> bool:
    return normalize(fact.answer).isdigit()


def states_fact(answer: str, fact: Fact, numbers: frozenset[str] | None) -> bool:
    """Whether ``answer`` states ``fact`` (numbers: restricted to the numbers bound to its key)."""
    for form in fact.forms():
        exp = normalize(form)
        if not exp:
            continue
        if exp.isdigit() and numbers is not None:
            if exp in numbers:
                return True
        elif contains_answer(answer, form):
            return True
    return False


def _in_question_order(answer: str, facts: Sequence[Fact]) -> set[str]:
    """A bare list of values (no key named) read in question order: the largest set of facts whose values
    appear in the same order as the question asks them (a permuted list binds values to the wrong keys)."""
    if len(facts) < 2:
        return set()
    positions = number_positions(answer)
    first: list[tuple[int, int, str]] = []  # (question index, offset, answer)
    for i, f in enumerate(facts):
        forms = {normalize(x) for x in f.forms()}
        offs = [off for off, v in positions if v in forms]
        if offs:
            first.append((i, min(offs), f.answer))
    # longest increasing subsequence of offsets, in question order (n is small)
    best: list[list[tuple[int, int, str]]] = []
    for item in first:
        chains = [c for c in best if c[-1][1] < item[1]]
        best.append([*max(chains, key=len), item] if chains else [item])
    return {x[2] for x in max(best, key=len)} if best else set()


def grade_facts(answer: str, key: AnswerKey, *, ordered_unlabelled: bool = True) -> Grade:
    """Grade an answer against the asked facts, each value bound to its own key.

    A numeric fact counts only when the answer states its value *under its key*: when the answer names
    keys (see :func:`haystacks.grading.bind_numbers`), the numbers attached to that key; when it names none,
    a one-fact question accepts any number, and a several-fact question accepts the i-th number stated for
    the i-th fact (a bare list in question order). Text facts count when their text appears.

    Args:
        answer: The model's answer (the scored part).
        key: The cell's answer key.
        ordered_unlabelled: Several facts, no key named: read a bare list in question order.

    Returns:
        The :class:`Grade`; ``outcome`` explains a miss (decoy, misbound, hallucinated, abstained...).
    """
    if not key.expected:
        raise ValueError(f"task {key.task!r} needs at least one expected answer")
    abstained = is_abstention(answer)
    labels = [f.label for f in (*key.expected, *key.decoys) if f.label]
    bound = bind_numbers(answer, labels)
    numeric = [f for f in key.expected if _numeric(f)]
    in_order = _in_question_order(answer, numeric) if ordered_unlabelled and not bound.labelled else set()
    found: list[str] = []
    misbound: list[str] = []
    for f in key.expected:
        if not _numeric(f):
            if states_fact(answer, f, None):
                found.append(f.answer)
            continue
        if bound.labelled and f.label:
            mine = bound.by_label.get(f.label, frozenset())
            if states_fact(answer, f, mine):
                found.append(f.answer)
            elif states_fact(answer, f, bound.stated()):
                misbound.append(f.answer)
        elif len(numeric) == 1 or not ordered_unlabelled:
            # one value asked, no key named: it counts unless the answer hedges with a decoy's value too
            hedged = any(states_fact(answer, d, bound.stated()) for d in key.decoys if _numeric(d))
            if states_fact(answer, f, bound.stated()) and not hedged:
                found.append(f.answer)
        elif f.answer in in_order:
            found.append(f.answer)
        elif states_fact(answer, f, bound.stated()):
            misbound.append(f.answer)
    missed = tuple(f.answer for f in key.expected if f.answer not in found)
    decoys = tuple(
        d.answer for d in key.decoys if states_fact(answer, d, bound.stated() if _numeric(d) else None)
    )
    score = len(found) / len(key.expected)
    stated = bound.stated()
    known = {normalize(x) for f in (*key.expected, *key.decoys) for x in f.forms()}
    invented = bool(numeric) and any(
        c.isdisjoint(known) and max(map(len, c)) >= 2 for c in numbers_in_order(answer)
    )
    if score == 1.0:
        outcome = "found"
    elif score > 0:
        outcome = "partial"
    elif decoys:
        outcome = "decoy"
    elif misbound:
        outcome = "misbound"
    elif abstained:
        outcome = "abstained"
    elif invented:
        outcome = "hallucinated"
    elif numeric and not stated:
        outcome = "wrong_format"
    else:
        outcome = "wrong"
    return Grade(
        score=score,
        outcome=outcome,
        found=tuple(found),
        missed=missed,
        misbound=tuple(misbound),
        abstained=abstained,
        hallucinated=outcome == "hallucinated",
        distractors_found=decoys,
    )


# Numbers that are dates, ages, counts or ordinals ("2024年", "in 2024", "第3段", "3 times") state no value.
_NOT_VALUES = re.compile(
    r"(?:第\s*[0-9一二三四五六七八九十百千]+)|(?:[0-9０-９]+\s*(?:年|月|日|号|岁|次|段|个|篇|页|%|％))"
    r"|(?:\b(?:in|since|until|by|before|after)\s+(?:1[89]|20)\d\d\b)"
    r"|(?:\b\d+\s*(?:times|years?|months?|days?|paragraphs?|passages?|sentences?|%)\b)",
    re.IGNORECASE,
)


def grade_absent(answer: str, key: AnswerKey) -> Grade:
    """Grade a question the text cannot answer: right only as a clean abstention.

    Any value stated for the asked key is a hallucination, whatever its size ("The magic number for Warsaw
    is 11." included); so is a value stated with no key at all. A text answer (no number) that does not
    abstain is a hallucination too when the asked fact is textual.
    """
    abstained = is_abstention(answer)
    labels = [key.absent.label] if key.absent is not None and key.absent.label else []
    labels += [f.label for f in key.decoys if f.label]
    bound = bind_numbers(_NOT_VALUES.sub(" ", answer), labels)
    asked = key.absent.label if key.absent is not None else ""
    values = set(bound.unbound) | set(bound.by_label.get(asked, frozenset()))
    numeric_fact = key.absent is None or _numeric(key.absent) or not key.absent.answer
    # a textual fact: any substantive answer that does not decline invents one
    hallucinated = bool(values) if numeric_fact else not abstained and bool(normalize(answer))
    decoys = tuple(d.answer for d in key.decoys if states_fact(answer, d, frozenset(values)))
    ok = abstained and not hallucinated
    if ok:
        outcome = "abstained"
    elif decoys:
        outcome = "decoy"
    elif hallucinated:
        outcome = "hallucinated"
    else:
        outcome = "wrong_format"
    return Grade(
        score=1.0 if ok else 0.0,
        outcome=outcome,
        abstained=abstained,
        hallucinated=hallucinated,
        distractors_found=decoys,
        extra={"values_stated": sorted(values)},
    )


def grade_one(
    answer: str,
    key: AnswerKey,
    *,
    allowed: Sequence[str] = (),
    invented_digits: int = 3,
) -> Grade:
    """Grade one asked fact among look-alikes: right only when its value is stated and no other's is.

    For tasks whose decoys are the other items of the same kind (the i-th of near-identical items, the
    character of another landmark): an answer that states the asked value *and* a decoy's has not chosen,
    so it scores 0 with outcome ``decoy``. Numeric values must be whole numbers of the answer.

    Args:
        answer: The model's answer.
        key: The answer key (exactly one expected fact).
        allowed: Decoy answers that may be stated beside the right one (a chain's start and intermediate
            nodes when the answer restates the path), but still make a ``decoy`` on their own.
        invented_digits: A number of at least this many digits that is no value in the text makes a wrong
            numeric answer ``hallucinated``.

    Returns:
        The :class:`Grade`.
    """
    if len(key.expected) != 1:
        raise ValueError(f"task {key.task!r} grades exactly one expected answer, got {len(key.expected)}")
    fact = key.expected[0]
    numbers = frozenset(number_candidates(answer))
    abstained = is_abstention(answer)

    def states(f: Fact) -> bool:
        return states_fact(answer, f, numbers if _numeric(f) else None)

    found = states(fact)
    decoys = tuple(d.answer for d in key.decoys if states(d))
    blocking = tuple(d for d in decoys if d not in set(allowed))
    known = {normalize(x) for f in (*key.expected, *key.decoys) for x in f.forms()}
    invented = _numeric(fact) and any(
        c.isdisjoint(known) and max(map(len, c)) >= invented_digits for c in numbers_in_order(answer)
    )
    if found and not blocking:
        outcome = "found"
    elif decoys:
        outcome = "decoy"
    elif abstained:
        outcome = "abstained"
    elif invented:
        outcome = "hallucinated"
    elif _numeric(fact) and not numbers:
        outcome = "wrong_format"
    else:
        outcome = "wrong"
    ok = outcome == "found"
    return Grade(
        score=1.0 if ok else 0.0,
        outcome=outcome,
        found=(fact.answer,) if ok else (),
        missed=() if ok else (fact.answer,),
        abstained=abstained,
        hallucinated=outcome == "hallucinated",
        distractors_found=decoys,
    )


class Task:
    """One task: its needles, question, answer budget, grade, metric and axes.

    Subclasses set the class attributes and implement :meth:`plan`; most reuse :meth:`grade` (facts bound
    to keys). Instances are stateless singletons held in the task table.

    Attributes:
        name: What users type (``--task``).
        summary: One line for ``--help`` and reports.
        metric: What the score measures, as reports name it ("recall", "correct abstention", ...).
        has_depth: False: one cell per (length, seed), recorded at depth 0 (no needle to place).
        options: The run options this task reads (see :meth:`cell_params`); they join the run identity.
        version: Bumped whenever the plan or the grade changes meaning; part of the run identity.
        closed_book: The run also asks each question once with no context (facts that could be known).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    metric: ClassVar[str] = "recall"
    has_depth: ClassVar[bool] = True
    options: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[int] = 1
    closed_book: ClassVar[bool] = False

    def plan(self, spec: CellSpec) -> NeedlePlan:
        """Draw the cell's needles and question from its seed (no length, no tokenizer involved)."""
        raise NotImplementedError

    def answer_budget(self, spec: CellSpec) -> int:
        """Visible answer tokens this cell needs (what is asked, said briefly, with room to spare)."""
        return 32

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        """Grade one answer (pure)."""
        return grade_facts(answer, key)

    def example_options(self) -> dict[str, Any]:
        """Run options that make a valid cell of this task (for generic tests; most tasks need none)."""
        return {}

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The :class:`~haystacks.builder.CellSpec` fields this task takes from the run's options.

        Args:
            options: Run options by name (``n_needles``, ``n_distractors``, ``hops``, ``needles``...).

        Returns:
            Keyword arguments for ``CellSpec`` (never ``task``, ``length``, ``depth``, ``seed``).
        """
        return {}

    def identity(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """What defines this task's cells beyond (length, depth, seed): its version and the options it
        reads."""
        return {"version": self.version, **{k: options.get(k) for k in self.options}}


def check_cell(spec: CellSpec, languages: Mapping[str, Any]) -> float:
    """The checks every plan starts with: an integer seed, a known language, a depth in 0..100.

    Returns:
        The depth, as a float.

    Raises:
        SpecError: One line naming what is wrong.
    """
    from haystacks.needles import check_depth

    if isinstance(spec.seed, bool) or not isinstance(spec.seed, int):
        raise SpecError(f"seed must be an integer, got {spec.seed!r}")
    if spec.language not in languages:
        raise SpecError(f"unknown language {spec.language!r}; choose from {', '.join(languages)}")
    return check_depth(spec.depth)


def item_count(spec: CellSpec, task: str, most: int, default: int = 4, what: str = "needles") -> int:
    """How many items a k-item task plants: ``n_needles``, or ``default`` when it is left at 1.

    Raises:
        SpecError: Fewer than 1 or more than ``most``.
    """
    if spec.n_needles < 1:
        raise SpecError(f"n_needles must be >= 1, got {spec.n_needles}")
    k = spec.n_needles if spec.n_needles > 1 else default
    if k > most:
        raise SpecError(f"at most {most} {what} for the {task} task, got {k}")
    return k


def check_depths(depths: Sequence[float]) -> tuple[float, ...]:
    """Validate needle depths (percent, 0..100)."""
    import math

    out = []
    for d in depths:
        try:
            x = float(d)
        except (TypeError, ValueError):
            raise SpecError(f"depth {d!r} is not a number") from None
        if not math.isfinite(x) or not 0.0 <= x <= 100.0:
            raise SpecError(f"depth {d!r} is outside 0..100 (percent)")
        out.append(x)
    return tuple(out)


def stated_numbers(answer: str) -> set[str]:
    """Every number an answer can be read as (re-exported for task modules)."""
    return number_candidates(answer)
