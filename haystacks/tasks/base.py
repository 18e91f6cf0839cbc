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

import itertools
import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from haystacks.answer_key import AnswerKey, Fact, ScoreDetail
from haystacks.errors import SpecError
from haystacks.grading import contains_answer, normalize, number_candidates
from haystacks.reading import (
    Mention,
    bind,
    committed_values,
    hedge_between,
    is_refusal,
    markers,
    numbers,
    prepare,
    units,
)

if TYPE_CHECKING:
    from haystacks.needles import NeedlePlan
    from haystacks.spec import CellSpec

__all__ = [
    "CHAT_ANSWER",
    "COMPLETION_LINE",
    "OUTCOMES",
    "AnswerKey",
    "Fact",
    "Grade",
    "Task",
    "grade_answer",
    "grade_facts",
    "grade_one",
    "is_truncated",
    "rng",
    "states_fact",
]

#: Every outcome a graded answer can have (the dashboard's error taxonomy adds ``truncated``, ``error`` and
#: ``model_length``, which the runner sets from the call's status).
OUTCOMES: tuple[str, ...] = (
    "found",  # every asked fact stated under its own key
    "partial",  # some of them
    "hedged",  # the right value among several candidates for the same key, none committed to
    "abstained",  # says the text does not contain it (right for no_needle, a miss elsewhere)
    "decoy",  # took a distractor's value (or another item's)
    "misbound",  # stated a right value under the wrong key
    "hallucinated",  # stated a value that is nowhere in the text (no_needle: any value for the asked key)
    "wrong",  # answered something else
    "wrong_format",  # gave no value at all (no number where a number was asked) and did not abstain
    "truncated",  # cut by its answer budget before committing to any value: not scored
)


#: Visible answer tokens of a one-fact question, sized from measured answer lengths (cl100k tokens;
#: ``python benchmarks/bench_answer_lengths.py --smollm2``): the labelled corpus's answers, written the way
#: GPT, Claude and Gemini answer (terse to chatty, markdown, explanations), run to 104 tokens at most in the
#: one-fact families (p90 40-64), and SmolLM2-135M-Instruct's finished English answers to 48. The budget is
#: the longest, rounded up to a power of two: a chatty answer is never cut, a runaway stops soon. Families
#: whose answers grow with what is asked add to it per item (multi, aggregate, chain, custom).
CHAT_ANSWER = 128
#: Completion mode (base models): answer tokens per answer line. A base model answers on the line after the
#: answer prefix, one line per asked fact, and only those lines are graded (``evals.grading.scored_text``);
#: then it keeps writing (new questions, the text again), which no budget should pay for. A line holds a
#: key and its value ("上海的神秘数字是4729183。" is about 12 tokens) with room to spare.
COMPLETION_LINE = 32


def rng(seed: int, task: str, language: str, what: str) -> random.Random:
    """A local RNG for one draw of one cell (never the global one): same seed, same draw, everywhere."""
    return random.Random(f"{seed}:{task}:{language}:{what}")


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
    firm: bool | None = None

    @property
    def committed(self) -> bool:
        """Whether the answer committed to something (a value, a choice, a refusal): what decides whether an
        answer cut by its budget is graded (:func:`is_truncated`). ``firm`` when the grader says so; else
        every outcome but ``hedged`` (candidates, no choice) and ``wrong_format`` (no value yet)."""
        if self.firm is not None:
            return self.firm
        return self.outcome not in ("hedged", "wrong_format", "truncated")

    def detail(self) -> ScoreDetail:
        """The ``score_detail`` of a result record: ``located`` only when the grade has one, then the task's
        ``extra`` keys."""
        located = {} if self.located is None else {"located": self.located}
        return ScoreDetail(
            outcome=self.outcome,
            found=self.found,
            missed=self.missed,
            misbound=self.misbound,
            abstained=self.abstained,
            hallucinated=self.hallucinated,
            distractors_found=self.distractors_found,
            **located,
            **self.extra,
        )


def grade_answer(
    task: Task, answer: str, key: AnswerKey, cut: bool, *, ends_at_cut: bool | None = None
) -> tuple[Grade, bool]:
    """Grade an answer, knowing whether its budget cut it: the one path of the runner and the corpus.

    A cut answer's last token may be unfinished ("…2019年2月10" cut before 日, "…is 47291" cut mid-number):
    when the graded text runs to the cut, a trailing number of up to 12 digits is left out before grading
    (a longer runaway number is kept: it was committed to long before). Then :func:`is_truncated` decides.

    Args:
        task: The cell's task.
        answer: The graded text.
        key: The cell's answer key.
        cut: Whether the answer stopped at its token budget.
        ends_at_cut: Whether the graded text runs to where the budget cut (default: ``cut``; False for a
            base model's answer lines followed by more text).

    Returns:
        ``(grade, truncated)``.
    """
    text = answer
    tail = re.search(r"(?<![\d,.])[\d,.]+$", answer.rstrip()) if cut and ends_at_cut is not False else None
    if tail is not None and len(re.sub(r"\D", "", tail.group(0))) <= 12:
        text = answer.rstrip()[: tail.start()]
    g = task.grade(text, key)
    if cut and g.outcome == "abstained" and _QUALIFIED.search(prepare(text)):
        return g, True  # "文中没有提到，但是在…" cut: the refusal was being taken back
    return g, is_truncated(g, cut)


#: A refusal at once qualified ("没有提到，但是…", "not mentioned, but…"): not yet a commitment.
_QUALIFIED = re.compile(
    r"(?:没有提到|未提到|没有找到|not\s+mentioned|no\s+mention)[^。.!?！？]{0,6}(?:但是|但|\bbut\b|however)"
)


def is_truncated(grade: Grade, cut: bool) -> bool:
    """The one rule for answers cut by their budget (finish reason "length"): an answer cut before it
    committed to any value (or to a refusal) is ``truncated`` and not scored; one cut after it committed
    is graded on what it committed. An answer that was not cut is always graded.

    Args:
        grade: The answer's grade (as its task graded the text it has).
        cut: Whether the answer stopped at its token budget.

    Returns:
        True when the answer is ``truncated`` (no score).
    """
    return cut and not grade.committed


def _numeric(fact: Fact) -> bool:
    return normalize(fact.answer).isdigit()


def fact_values(fact: Fact) -> frozenset[str]:
    """The numbers a numeric fact can be stated as: its answer and accepted forms, read as the reader reads
    an answer ("400k" → "400000")."""
    out: set[str] = set()
    for form in fact.forms():
        exp = normalize(form)
        if exp.isdigit():
            out.add(exp)
        else:
            out.update(m.value for m in numbers(prepare(form)))
    return frozenset(out)


def states_fact(answer: str, fact: Fact) -> bool:
    """Whether ``answer`` states a text ``fact`` (any of its forms)."""
    return any(contains_answer(answer, form) for form in fact.forms() if normalize(form))


def distinct(ms: Sequence[Mention]) -> list[list[Mention]]:
    """Mentions grouped by the number they state (two mentions with a common reading are one value)."""
    groups: list[list[Mention]] = []
    for m in ms:
        for g in groups:
            if any(not m.readings.isdisjoint(x.readings) for x in g):
                g.append(m)
                break
        else:
            groups.append([m])
    return groups


@dataclass(frozen=True)
class Verdict:
    """What an answer commits to for one key.

    Attributes:
        state: ``none`` (nothing stated), ``one`` (one value, exactly), ``approx`` (one value, approximated)
            or ``hedge`` (several candidate values).
        values: The candidate values' mentions (one per distinct value).
        route: How the value was found, where a reader tells (``marker``, ``named``, ``worked``...).
    """

    state: str
    values: tuple[Mention, ...] = ()
    route: str = ""


def verdict(prepared: str, ms: Sequence[Mention]) -> Verdict:
    """Commitment for one key from the mentions bound to it (:func:`haystacks.reading.committed_values`)."""
    if not ms:
        return Verdict("none")
    ms = list(committed_values(prepared, ms))
    if any(not m.approx for m in ms):
        ms = [m for m in ms if not m.approx]  # "about 1.44 million - precisely 1,438,952"
    groups = distinct(ms)
    heads = tuple(g[-1] for g in groups)
    if len(groups) > 1:
        return Verdict("hedge", heads)
    if all(m.approx for m in groups[0]):
        return Verdict("approx", heads)
    return Verdict("one", tuple(m for m in groups[0] if not m.approx)[-1:])


class _Known:
    """Every value the key knows, by the fact it belongs to (asked facts first, then decoys)."""

    def __init__(self, key: AnswerKey) -> None:
        self.expected = [(f, fact_values(f)) for f in key.expected if _numeric(f)]
        self.decoys = [(f, fact_values(f)) for f in key.decoys if _numeric(f)]
        self.all = frozenset().union(*(v for _, v in (*self.expected, *self.decoys)))

    def which(self, m: Mention) -> tuple[str, Fact | None]:
        for f, vs in self.expected:
            if not vs.isdisjoint(m.readings):
                return "expected", f
        for f, vs in self.decoys:
            if not vs.isdisjoint(m.readings):
                return "decoy", f
        return "unknown", None


def _invented(m: Mention, digits: int, approx: bool = False, prepared: str = "") -> bool:
    """A committed value no fact holds counts as invented when it has at least ``digits`` digits, or with
    ``digits`` 0 whatever its length unless the answer read it from the transcript (:func:`_sourced`);
    approximations only when ``approx`` (a closed-book guess "around 100 languages" invents a fact;
    "about 744万" for a 7-digit needle is a wrong reading)."""
    if m.approx and not approx:
        return False
    if digits == 0:
        return not _sourced(prepared, m)
    return len(m.value.replace(".", "")) >= digits


_QUANTITY_AFTER = re.compile(r"\s?(?:亿|万|美|元|%|％|年|billion|million|thousand|dollars?|usd|percent)")


def _sourced(prepared: str, m: Mention) -> bool:
    """A value read from the transcript, not invented: a year ("2019"), or digits the answer itself gives
    elsewhere as a quantity ("valuation passed 5.5 billion dollars (55亿美金), so ... is 55")."""
    if re.fullmatch(r"(?:19|20)\d\d", m.value):
        return True
    raw = re.sub(r"\D", "", prepared[m.start : m.end]) or m.value
    return any(
        x.start() != m.start and _QUANTITY_AFTER.match(prepared, x.end())
        for x in re.finditer(rf"(?<![\d.]){re.escape(raw)}(?!\d)", prepared)
    )


def _a_value(m: Mention, units: re.Pattern[str] | None, prepared: str = "") -> bool:
    """Whether a number is stated as a value: not a count or quantity of something else (a unit of the
    fact may come up to two words later: "1,000 NVIDIA A100 GPUs")."""
    if not m.counted:
        return True
    if units is None:
        return False
    tail = prepared[m.end : m.end + 40].split()[:3] if prepared else [m.after]
    return any(units.match(w) for w in tail)


def _guess(prepared: str, ms: Sequence[Mention], right: frozenset[str]) -> bool:
    """An approximation is a guess (an invented value), not a rough reading of the right one, when the
    answer hedges ("probably around 100") or it is more than 25 % off the right value."""
    if hedge_between(prepared, 0, len(prepared)):
        return True
    target = max(float(r) for r in right)  # digit strings (numbers()), as are the mentions' values
    return any(abs(float(m.value) - target) > 0.25 * target for m in ms)


def _in_question_order(ms: Sequence[Mention], facts: Sequence[tuple[Fact, frozenset[str]]]) -> set[str]:
    """A bare list of values (no key named) read in question order: the largest set of facts whose values
    appear in the same order as the question asks them (a permuted list binds values to the wrong keys)."""
    first: list[tuple[int, int, str]] = []
    for i, (f, vs) in enumerate(facts):
        offs = [m.start for m in ms if not vs.isdisjoint(m.readings) and not m.approx]
        if offs:
            first.append((i, min(offs), f.answer))
    best: list[list[tuple[int, int, str]]] = []
    for item in first:
        chains = [c for c in best if c[-1][1] < item[1]]
        best.append([*max(chains, key=len), item] if chains else [item])
    return {x[2] for x in max(best, key=len)} if best else set()


def grade_facts(
    answer: str,
    key: AnswerKey,
    *,
    ordered_unlabelled: bool = True,
    invented_digits: int = 2,
    other_labels: Sequence[str] = (),
    units: re.Pattern[str] | None = None,
    approx_invents: bool = False,
) -> Grade:
    """Grade an answer against the asked facts, each value bound to its own key by the one reader.

    A numeric fact counts when the answer commits to its value for its key (:mod:`haystacks.reading`:
    binding by structure, the committed value after working and self-corrections, a second candidate is a
    hedge, an approximation is no exact value). When the answer names no key, a one-fact question takes
    its values as the fact's; a several-fact question reads a bare list in question order. Text facts
    count when their text appears.

    Args:
        answer: The model's answer (the scored part).
        key: The cell's answer key.
        ordered_unlabelled: Several facts, no key named: read a bare list in question order.
        invented_digits: A committed value the key does not know, of at least this many digits, is
            ``hallucinated`` (shorter ones are ``wrong``); 0: any length, unless the answer read it from
            the transcript (a year, a figure it gives as a quantity: :func:`_sourced`).
        other_labels: Keys the answer may name that are in neither list (the family's whole key table):
            a value stated for one of them is not stated for an asked key.
        units: The words a value of this fact may be followed by ("tokens", "GPUs", 种): other counts and
            quantities ("4 cities", "55亿美金") are not values; None: no count or quantity is a value.
        approx_invents: An approximation no fact holds is an invention too (closed-book facts).

    Returns:
        The :class:`Grade`; ``outcome`` explains a miss (hedged, decoy, misbound, hallucinated...).
    """
    if not key.expected:
        raise ValueError(f"task {key.task!r} needs at least one expected answer")
    p = prepare(answer)
    refused = is_refusal(answer)
    known = _Known(key)
    ms = [m for m in numbers(p) if not m.weak and _a_value(m, units, p)]
    labels = {f.label: [f.label] for f in (*key.expected, *key.decoys) if f.label}
    labels.update({f"~{x}": [x] for x in other_labels if x and x not in labels})
    b = bind(p, ms, labels)
    numeric = [f for f in key.expected if _numeric(f)]
    asked_labels = {f.label for f in numeric if f.label}
    any_bound = any(b.by_key.get(lb) for lb in asked_labels)
    in_order: set[str] | None = None
    slots: list[Mention] = []
    if len(numeric) > 1 and ordered_unlabelled and not any_bound:
        exact = [m for m in b.unbound if not m.approx]
        if len(exact) == len(numeric):
            slots = exact  # as many values as keys: the i-th value answers the i-th key
        else:
            in_order = _in_question_order(b.unbound, known.expected)
    found: list[str] = []
    misbound: list[str] = []
    hedged: list[str] = []
    decoys: list[str] = []
    invented: list[str] = []
    committed_any = False
    for f in key.expected:
        if not _numeric(f):
            if states_fact(answer, f):
                found.append(f.answer)
            continue
        if slots:
            committed_any = True
            kind, g = known.which(slots[numeric.index(f)])
            if g == f:
                found.append(f.answer)
            elif kind == "expected" and g is not None:
                misbound.append(g.answer)
            elif kind == "decoy" and g is not None:
                decoys.append(g.answer)
            elif _invented(slots[numeric.index(f)], invented_digits, False, p):
                invented.append(slots[numeric.index(f)].value)
            continue
        if in_order is not None:
            if f.answer in in_order:
                found.append(f.answer)
                committed_any = True
            elif any(known.which(m)[1] == f for m in b.unbound):
                misbound.append(f.answer)
            continue
        mine = b.by_key.get(f.label, []) if f.label else []
        named = any(x.key == f.label for x in b.labels)
        borrowed = False
        if not mine and (len(numeric) == 1 or not f.label):
            mine = b.unbound
            elsewhere = [m for k, ms_ in b.by_key.items() if k != f.label for m in ms_]
            if len(numeric) == 1 and f.label and not named:
                if not mine:
                    mine, borrowed = elsewhere, True  # the asked key never named: another key's value
                elif any(not x.readings.isdisjoint(m.readings) for x in elsewhere for m in mine):
                    # "…的神秘数字是X。…福州的神秘数字是X": X stated as another key's
                    misbound.append(f.answer)
                    committed_any = True
                    continue
        v = verdict(p, mine)
        if v.state == "none":
            continue
        committed_any = True
        kinds = [known.which(m) for m in v.values]
        if v.state == "one":
            kind, g = kinds[0]
            if g == f and borrowed:
                misbound.append(f.answer)  # the right value, stated for another key
            elif g == f:
                found.append(f.answer)
            elif kind == "expected":
                misbound.append(g.answer)  # type: ignore[union-attr]
            elif kind == "decoy":
                decoys.append(g.answer)  # type: ignore[union-attr]
            elif _invented(v.values[0], invented_digits, prepared=p):
                invented.append(v.values[0].value)
            continue
        if any(g == f for _, g in kinds):
            hedged.append(f.answer)
        decoys.extend(g.answer for kind, g in kinds if kind == "decoy" and g is not None)
        if all(kind == "unknown" for kind, _ in kinds):
            guess = approx_invents and _guess(p, v.values, fact_values(f))
            invented.extend(m.value for m in v.values if _invented(m, invented_digits, guess, p))
    if in_order is not None and b.unbound:  # a bare list: every value stated is a commitment
        committed_any = True
        for m in b.unbound:
            kind, g = known.which(m)
            if kind == "decoy" and g is not None:
                decoys.append(g.answer)
            elif kind == "unknown" and _invented(m, invented_digits, False, p):
                invented.append(m.value)
    # a right value stated under another asked key
    for f in numeric:
        if f.answer in found or f.answer in misbound or in_order is not None or slots:
            continue
        vs = dict(known.expected)[f]
        for other, mentions in b.by_key.items():
            if (
                other != f.label
                and not other.startswith("~")
                and any(not vs.isdisjoint(m.readings) for m in mentions)
            ):
                misbound.append(f.answer)
                break
    missed = tuple(f.answer for f in key.expected if f.answer not in found)
    score = len(found) / len(key.expected)
    if score == 1.0:
        outcome = "found"
    elif score > 0:
        outcome = "partial"
    elif hedged:
        outcome = "hedged"
    elif decoys:
        outcome = "decoy"
    elif misbound:
        outcome = "misbound"
    elif refused and not committed_any:
        outcome = "abstained"
    elif invented:
        outcome = "hallucinated"
    elif numeric and not committed_any:
        outcome = "wrong_format"
    else:
        outcome = "wrong"
    return Grade(
        score=score,
        outcome=outcome,
        found=tuple(found),
        missed=missed,
        misbound=tuple(dict.fromkeys(misbound)),
        abstained=refused,
        hallucinated=outcome == "hallucinated",
        distractors_found=tuple(dict.fromkeys(decoys)),
        extra={"hedged": hedged} if hedged else {},
    )


#: An answer offering another key's value for the asked one by reference ("也许郑州的就是这个").
_BY_REFERENCE = re.compile(
    r"(?:maybe|perhaps|probably|possibly|might|could|也许|可能|或许|大概)[^.。!?！？\n]{0,40}"
    r"(?:\bthat\s+one\b|\bthis\s+one\b|\bthe\s+same\b|就是这个|是这个|就是它|就是那个|也是这个)"
)


def grade_absent(
    answer: str, key: AnswerKey, *, min_digits: int = 2, other_labels: Sequence[str] = ()
) -> Grade:
    """Grade a question the text cannot answer: right only as a clean refusal.

    Any value stated for the asked key is a hallucination, whatever its size ("The magic number for Warsaw
    is 11." included), approximated or hedged; so is a value stated with no key at all (of at least
    ``min_digits`` digits, or the whole answer). Values stated for other keys ("the text gives Oslo's,
    123, but not Warsaw's") do not count. A refusal is judged over the whole answer (any wording, either
    language). A text answer (no number) that does not refuse is a hallucination when the fact is textual.
    """
    p = prepare(answer)
    refused = is_refusal(answer)
    ms = [m for m in numbers(p) if not m.weak and not m.counted]
    asked = key.absent.label if key.absent is not None else ""
    labels = {f.label: [f.label] for f in key.decoys if f.label}
    if asked:
        labels[asked] = [asked]
    labels.update({f"~{x}": [x] for x in other_labels if x and x not in labels})
    b = bind(p, ms, labels)
    whole = re.sub(r"[\s.。!！]+", "", p)
    loose = [m for m in b.unbound if len(m.value) >= min_digits or whole == m.value]
    values = [*b.by_key.get(asked, []), *loose]
    if values and refused:
        # "Warsaw's is 4729183 — actually no, I don't see Warsaw anywhere": corrected into a refusal
        last = max(m.end for m in values)
        after = [x for x in markers(p) if x > last]
        if after and is_refusal(p[after[0] :]):
            values = []
    if not values and ms and asked and _BY_REFERENCE.search(p):
        values = list(ms)  # "perhaps Warsaw's is that one": another key's value offered for the asked key
    numeric_fact = key.absent is None or _numeric(key.absent) or not key.absent.answer
    hallucinated = bool(values) if numeric_fact else not refused and bool(normalize(answer))
    known = _Known(key)
    decoys = tuple(dict.fromkeys(g.answer for m in values for kind, g in [known.which(m)] if g is not None))
    ok = refused and not hallucinated
    if ok:
        outcome = "abstained"
    elif hallucinated:  # any value for the absent key, a distractor's included, is invented for it
        outcome = "hallucinated"
    else:
        outcome = "wrong_format"
    return Grade(
        score=1.0 if ok else 0.0,
        outcome=outcome,
        abstained=refused,
        hallucinated=hallucinated,
        distractors_found=decoys,
        extra={"values_stated": sorted({m.value for m in values})},
    )


# ------------------------------------------------------------------------------------- one item of several

_NEGATED = re.compile(
    r"(?:\bnot|\bisn't|\brather\s+than|\binstead\s+of|\bunlike|\bother\s+than|\bexcept|\bnor|不是|而非|并非|"
    r"而不是|不是说|排除)\s*(?:the\s+)?(?:one\s+)?(?:\S+\s+){0,2}$"
)
_CLAUSE = re.compile(r"[,，;；、()（）\n。.!?！？]|\bwhile\b|\bwhereas\b|\bbut\b|而|但")
_PATH = re.compile(
    r"→|->|=>|⟶|\bthen\b|\bbecame\b|\brelabel(?:l)?ed\b|\bchanged\s+to\b|\bto\b|变成|变为|改为|改成|贴上|再到|然后"
)


def item_mentions(prepared: str, facts: Sequence[Fact]) -> list[Mention]:
    """Mentions of text items (names): every place a fact's answer (or accepted form) is named."""
    out: list[Mention] = []
    for f in facts:
        for form in f.forms():
            pat = re.escape(unicodedata.normalize("NFKC", form).lower())
            if re.match(r"\w", form, re.A):
                pat = r"(?<![a-z0-9])" + pat + r"(?![a-z0-9])"
            for m in re.finditer(pat, prepared):
                if all(m.end() <= x.start or m.start() >= x.end for x in out):
                    out.append(Mention(m.start(), m.end(), f.answer, frozenset({f.answer})))
    return sorted(out, key=lambda x: x.start)


def choose(
    prepared: str,
    ms: Sequence[Mention],
    *,
    phrases: re.Pattern[str] | None = None,
    path: Sequence[str] = (),
) -> Verdict:
    """What an answer commits to among several items of the same kind (the i-th code, a character, a
    chain's labels), read as a careful human reads it.

    In turn: candidates after the last conclusion or self-correction (route ``marker``); else those of the
    first unit that names the asked key (``phrases``: the question's own words, e.g. the city or "final
    label"; route ``named``), and within it the clause naming it; else those of the answer's first unit
    when it names one (``first``); candidates that the answer negates ("not X", "rather than X", 不是X) are
    dropped; a recited path (``path``: a chain's labels in order, "A → B → C") commits to its furthest
    label unless hedge words stand between (``path``). Several distinct candidates left are a hedge.
    """
    ms = sorted(ms, key=lambda m: m.start)
    if not ms:
        return Verdict("none")
    cand = list(committed_values(prepared, ms))
    route = "marker" if len(cand) < len(ms) else "all"
    spans = units(prepared)

    def narrow(cs: list[Mention]) -> list[Mention]:
        if len(distinct(cs)) <= 1:
            return cs
        kept = [m for m in cs if not _NEGATED.search(prepared[max(0, m.start - 40) : m.start])]
        return kept or cs

    cand = narrow(cand)
    if len(distinct(cand)) > 1 and phrases is not None:
        hits = [
            (a, b) for a, b in spans if phrases.search(prepared, a, b) and any(a <= m.start < b for m in cand)
        ]
        if hits:
            a, b = hits[0]
            cand, route = narrow([m for m in cand if a <= m.start < b]), "named"
    if (
        len(distinct(cand)) > 1
        and phrases is not None
        and not hedge_between(prepared, max(0, min(m.start for m in cand) - 24), max(m.start for m in cand))
    ):
        # the clause that names the asked key ("去过成都的是X（...），而Y去的是...")
        cuts = sorted({0, len(prepared), *(m.start() for m in _CLAUSE.finditer(prepared))})
        near = [
            [m for m in cand if a <= m.start < b]
            for a, b in itertools.pairwise(cuts)
            if phrases.search(prepared, a, b)
        ]
        near = [c for c in near if c]
        if near and len(distinct([m for c in near for m in c])) == 1:
            cand, route = [m for c in near for m in c], "named"
    if len(distinct(cand)) > 1 and spans:
        a, b = spans[0]
        first = [m for m in cand if a <= m.start < b]
        if first and len(distinct(first)) == 1 and len(cand) > len(first):
            cand, route = first, "first"
    groups = distinct(cand)
    if len(groups) > 1 and path:
        order = {v: i for i, v in enumerate(path)}
        on_path = [g for g in groups if g[0].value in order]
        if len(on_path) == len(groups):
            lo = min(m.start for g in groups for m in g)
            hi = max(m.start for g in groups for m in g)
            text = prepared[lo:hi]
            if _PATH.search(text) and not hedge_between(prepared, lo, hi):
                far = max(on_path, key=lambda g: order[g[0].value])
                return Verdict("one", (far[-1],), "path")
    if len(groups) > 1:
        return Verdict("hedge", tuple(g[-1] for g in groups), route)
    if route == "all" and spans and spans[0][0] <= groups[0][0].start < spans[0][1]:
        route = "first"
    exact = [m for m in groups[0] if not m.approx]
    if not exact:
        return Verdict("approx", (groups[0][-1],), route)
    return Verdict("one", (exact[-1],), route)


def grade_one(
    answer: str,
    key: AnswerKey,
    *,
    allowed: Sequence[str] = (),
    invented_digits: int = 3,
    mentions: Any = None,
    labels: Mapping[str, Sequence[str]] | None = None,
    asked_label: str = "",
    phrases: re.Pattern[str] | None = None,
    path: Sequence[str] = (),
    unknown_invents: bool = False,
) -> Grade:
    """Grade one asked fact among look-alikes: the item the answer commits to.

    For tasks whose decoys are the other items of the same kind (the i-th of near-identical items, the
    character of another landmark, a chain's intermediate labels). The answer's candidates are read by
    :func:`choose` (after working and self-corrections, in the sentence naming the asked key, negated
    items dropped, a recited chain path read to its end); with ``labels`` (ordinals, say) values are first
    bound to the item they are stated for, so "1st: X, 2nd: Y" answers the 2nd with Y. Committing to
    another item is ``decoy``; several items without choosing are ``hedged`` (the right one among them) or
    ``decoy``.

    Args:
        answer: The model's answer.
        key: The answer key (exactly one expected fact).
        allowed: Decoy answers that may be stated beside the right one (kept for callers; the path rule
            supersedes it).
        invented_digits: A number of at least this many digits that is no value in the text makes a wrong
            numeric answer ``hallucinated``.
        mentions: ``prepared text -> mentions`` of candidate items (default: numbers for a numeric fact,
            names for a text fact).
        labels: Item id → the names the answer may call it by (bound like keys); ``asked_label`` is the
            asked item's id.
        phrases: The question's words that mark the sentence answering it.
        path: A chain's labels in order.
        unknown_invents: Committing to an item the key does not hold is ``hallucinated`` (``mentions``
            finds every item of the family's table, e.g. every character name).

    Returns:
        The :class:`Grade`.
    """
    if len(key.expected) != 1:
        raise ValueError(f"task {key.task!r} grades exactly one expected answer, got {len(key.expected)}")
    fact = key.expected[0]
    p = prepare(answer)
    refused = is_refusal(answer)
    numeric = _numeric(fact)
    if mentions is not None:
        ms = list(mentions(p))
    elif numeric:
        ms = [m for m in numbers(p) if not m.weak and not m.counted]
    else:
        ms = item_mentions(p, (fact, *key.decoys))
    cands = ms
    if labels:
        b = bind(p, ms, labels)
        cands = b.by_key.get(asked_label) or b.unbound
        if not cands and not any(x.key == asked_label for x in b.labels):
            # the asked item never named: what the answer gives for the others is its answer
            cands = sorted((m for k, v in b.by_key.items() for m in v), key=lambda m: m.start)
    question = prepare(key.question)
    cands = _drop_echoes(p, cands, question, phrases)
    if refused:
        # a refusal that names what the question named ("I can't find any relabelling of DF-562") or
        # only lists items as context ("the text mentions A, B and C, but none...") commits to nothing
        cands = [m for m in cands if m.value.lower() not in question or not _in_refusal(p, m)]
    v = choose(p, cands, phrases=phrases, path=path)
    if refused and v.route != "marker" and _refusal_taken_back(p, v, cands):
        v = Verdict(v.state, v.values, "marker")
    if refused and ((v.state == "hedge" and not hedge_between(p, 0, len(p))) or _refuses_first(p, v)):
        v = Verdict("none")
    values = {fact.answer, *fact_values(fact)} if numeric else {fact.answer}
    decoy_of = {}
    for d in key.decoys:
        for x in {d.answer, *(fact_values(d) if numeric else ())}:
            decoy_of[x] = d.answer

    def kind(m: Mention) -> str:
        if not values.isdisjoint(m.readings):
            return "expected"
        if any(r in decoy_of for r in m.readings):
            return "decoy"
        return "unknown"

    kinds = [kind(m) for m in v.values]
    stated_decoys = tuple(dict.fromkeys(decoy_of[r] for m in ms for r in m.readings if r in decoy_of))
    if v.state == "one" and kinds[0] == "expected":
        outcome = "found"
    elif v.state in ("hedge", "approx") and "expected" in kinds:
        outcome = "hedged"
    elif "decoy" in kinds:
        outcome = "decoy"
    elif v.state == "none" and refused:
        outcome = "abstained"
    elif (v.state != "none" and unknown_invents and all(k == "unknown" for k in kinds)) or (
        numeric and any(_invented(m, invented_digits) for m in v.values)  # no values when none
    ):
        outcome = "hallucinated"
    elif v.state == "none" and refused is False and (numeric or mentions is not None):
        outcome = "wrong_format"
    else:
        outcome = "wrong"
    ok = outcome == "found"
    # cut answers: committed when the choice is stated as one (after "so"/"the answer is", or in the
    # answer's first sentence), not an item met while still looking; a value the question itself named
    # ("The crate starts as LR-187.") is no choice unless concluded
    spans = units(p)  # empty only for an empty answer, which has no candidate (``at`` is empty)
    chosen = {m.value for m in v.values}
    at = [m for m in cands if m.value in chosen]
    named = phrases is not None and any(
        phrases.search(p, a, b) for a, b in spans if any(a <= m.start < b for m in at)
    )
    short = len(re.findall(r"\w+", p)) <= 4
    echo = v.state == "one" and v.values[0].value.lower() in question and v.route != "marker"
    echo = echo and not named and not short
    stated = v.route == "marker" or any(spans[0][0] <= m.start < spans[0][1] for m in at)
    # a hedge is committed to when its candidates were asserted in finished sentences of their own before
    # the cut ("…贴上了标签YD-800。…贴上了标签PD-508。…"), not listed together ("A → B → C. The second is")
    own = [u for u in spans[:-1] if len({m.value for m in at if u[0] <= m.start < u[1]}) == 1]
    hedge_done = v.state == "hedge" and all(
        any(m.value == x.value and a <= m.start < b for m in at for a, b in own) for x in v.values
    )
    firm = (v.state == "one" and stated and not echo) or (v.state == "none" and refused) or hedge_done
    return Grade(
        score=1.0 if ok else 0.0,
        outcome=outcome,
        found=(fact.answer,) if ok else (),
        missed=() if ok else (fact.answer,),
        abstained=refused,
        hallucinated=outcome == "hallucinated",
        distractors_found=stated_decoys,
        extra={"committed": [m.value for m in v.values], "commitment": v.state, "route": v.route},
        firm=firm,
    )


def _drop_echoes(
    prepared: str, ms: Sequence[Mention], question: str, phrases: re.Pattern[str] | None
) -> list[Mention]:
    """Items the question itself named ("The crate was initially labelled DD-843, ...") are no answer,
    unless stated as one: after a conclusion or correction, in the sentence naming the asked key ("its
    final label is DD-843", "它还是TC-732"), or as (nearly) the whole answer."""
    if not any(m.value.lower() in question for m in ms):
        return list(ms)
    after = committed_values(prepared, ms)
    concluded = {id(m) for m in after} if len(after) < len(ms) else set()
    spans = units(prepared)
    short = len(re.findall(r"\w+", prepared)) <= 4

    def stated(m: Mention) -> bool:
        if id(m) in concluded or short:
            return True
        unit = next(((a, b) for a, b in spans if a <= m.start < b), None)
        return phrases is not None and unit is not None and bool(phrases.search(prepared, *unit))

    return [m for m in ms if m.value.lower() not in question or stated(m)]


def _in_refusal(prepared: str, m: Mention) -> bool:
    """Whether a mention sits in a clause that declines ("I can't find any relabelling of DF-562")."""
    cuts = sorted({0, len(prepared), *(x.start() for x in _CLAUSE.finditer(prepared))})
    for a, b in itertools.pairwise(cuts):
        if a <= m.start < b:
            return is_refusal(prepared[a:b])
    return False


def _refusal_taken_back(prepared: str, v: Verdict, cands: Sequence[Mention]) -> bool:
    """A refusal, then a conclusion or self-correction, then the candidates ("I don't know. Wait, actually
    it's Ravindra.", "我不知道。不对，是白露晞。"): the answer commits to what the correction's own sentence
    states, unless that is a refusal again ("So, no one. Keziah proposed at the Uffizi...")."""
    chosen = {m.value for m in v.values}
    at = [m.start for m in cands if m.value in chosen]
    if not at:
        return False
    first = min(at)  # where the answer first names what it commits to
    spans = units(prepared)
    return any(
        x <= first
        and any(a <= x <= b and a <= first < b for a, b in spans)
        and is_refusal(prepared[:x])
        and not is_refusal(prepared[x:first])
        for x in markers(prepared)
    )


def _refuses_first(prepared: str, v: Verdict) -> bool:
    """The answer opens with a refusal that names no candidate and never concludes otherwise ("No one is
    said to have been to Florence. One character, Keziah, proposed at the Uffizi..."): it commits to the
    refusal, whatever it then mentions."""
    spans = units(prepared)
    if not spans or not v.values or v.route == "marker":
        return False
    a, b = spans[0]
    return is_refusal(prepared[a:b]) and all(not a <= m.start < b for m in v.values)


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
    version: ClassVar[int] = 2  # 2: graded by the one reader (haystacks.reading, issue 16)
    closed_book: ClassVar[bool] = False

    def plan(self, spec: CellSpec) -> NeedlePlan:
        """Draw the cell's needles and question from its seed (no length, no tokenizer involved)."""
        raise NotImplementedError

    def answer_budget(self, spec: CellSpec) -> int:
        """Visible answer tokens this cell needs: room for a chatty chat model's whole answer (see
        :data:`CHAT_ANSWER`; reasoning models get their thinking budget on top, in the request)."""
        return CHAT_ANSWER

    def answer_lines(self, spec: CellSpec) -> int:
        """Lines a base model's answer takes: one per asked fact (the lines that are graded)."""
        return 1

    def completion_budget(self, spec: CellSpec) -> int:
        """Answer tokens in completion mode (base models): :data:`COMPLETION_LINE` per answer line, never
        more than :meth:`answer_budget`; what a base model writes after its answer lines is not graded."""
        return min(self.answer_budget(spec), COMPLETION_LINE * self.answer_lines(spec))

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
    from haystacks.spec import check_depth

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
