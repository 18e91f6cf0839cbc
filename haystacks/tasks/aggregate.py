"""``aggregate``: RULER-style counting and aggregation over k scattered needles.

"A shipment of 47 crates arrived at the Linden Street warehouse." — k such needles (``n_needles``, default
4) with distinct two-digit values sit at the :func:`multi_depths` slots (the first at the cell's depth, the
rest evenly spread to the end). The question asks for their ``count``, ``sum`` or ``max`` (option ``op``, or
drawn from the seed); the expected answer is the computed number, and the op is in the grading params.
No single needle answers it: every one must be found (and, for a sum, added).

Grading: the computed number stated scores 1 (a chatty "23 + 45 + 67 + 12 = 147" included; for a max,
which is itself one of the values, a list of several values must end with it). Otherwise the
answer's *last* number is read as its result: one of the individual values (other than the answer itself,
e.g. the largest for a max) is a ``decoy``; any other number is ``wrong`` (a miscount or a wrong sum is
not an invention); no number at all is ``wrong_format``; a refusal is ``abstained``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from haystacks.errors import SpecError
from haystacks.grading import is_abstention, numbers_in_order
from haystacks.needles import (
    DEFAULT_MULTI_NEEDLES,
    NeedlePlan,
    PlannedNeedle,
    multi_depths,
    needle_rng,
)
from haystacks.tasks.base import AnswerKey, Fact, Grade, Task, check_cell, item_count, states_fact
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = ["OPS", "AggregateTask"]

OPS = ("count", "sum", "max")
MAX_ITEMS = 30

#: Fictional places (the group all needles of a cell share), per language.
PLACES = {
    "en": ("the Linden Street warehouse", "the Harbor Road depot", "the Juniper Lane storehouse",
           "the Alder Quay warehouse", "the Millbrook depot", "the Foxglove Yard storehouse"),
    "zh": ("梧桐街仓库", "港湾路货栈", "杜松巷库房", "桤木码头仓库", "磨溪货栈", "毛地黄库房"),
}  # fmt: skip
TEMPLATES = {
    "en": "A shipment of {v} crates arrived at {place}.",
    "zh": "有一批共{v}箱的货物运到了{place}。",
}
QUESTIONS = {
    "en": {
        "count": "How many separate shipments of crates arrived at {place}?",
        "sum": "How many crates arrived at {place} in total, over all shipments?",
        "max": "What was the largest number of crates in a single shipment that arrived at {place}?",
    },
    "zh": {
        "count": "一共有几批货物运到了{place}？",
        "sum": "所有运到{place}的货物加起来一共有多少箱？",
        "max": "运到{place}的各批货物中，箱数最多的一批有多少箱？",
    },
}
_KEY = {
    "en": {
        "count": "the number of shipments",
        "sum": "the total number of crates",
        "max": "the largest shipment",
    },
    "zh": {"count": "货物的批数", "sum": "货物的总箱数", "max": "最大一批的箱数"},
}
_ITEM = {"en": "shipment {i}", "zh": "第{i}批"}


def compute(op: str, values: list[int]) -> int:
    """The expected answer of ``op`` over ``values``."""
    if op == "count":
        return len(values)
    if op == "sum":
        return sum(values)
    return max(values)


class AggregateTask(Task):
    name = "aggregate"
    summary = "count / sum / max of k scattered values (options n_needles, op); the answer is computed"
    metric = "accuracy"
    options = ("n_needles", "op")

    def k(self, spec: CellSpec) -> int:
        return item_count(spec, self.name, MAX_ITEMS, DEFAULT_MULTI_NEEDLES, "needles")

    def plan(self, spec: CellSpec) -> NeedlePlan:
        depth = check_cell(spec, TEMPLATES)
        lang = spec.language
        if spec.depths is not None:
            raise SpecError(f"the {self.name} task spreads its needles itself (no explicit depths)")
        if spec.n_distractors:
            raise SpecError(f"the {self.name} task takes no distractors")
        k = self.k(spec)
        seed = spec.seed
        op = spec.param("op") or needle_rng(seed, self.name, lang, "op").choice(OPS)
        if op not in OPS:
            raise SpecError(f"op must be one of {', '.join(OPS)}, got {op!r}")
        place = needle_rng(seed, self.name, lang, "place").choice(PLACES[lang])
        pool = [v for v in range(10, 100) if v != k]
        values = needle_rng(seed, self.name, lang, "values").sample(pool, k)
        result = compute(op, values)
        depths = multi_depths(depth, k)
        needles = tuple(
            PlannedNeedle(
                kind="needle",
                text=TEMPLATES[lang].format(v=v, place=place),
                key=_ITEM[lang].format(i=i + 1),
                answer=str(v),
                depth=d,
            )
            for i, (v, d) in enumerate(zip(values, depths, strict=True))
        )
        decoys = tuple(Fact(n.key, n.answer) for n in needles if n.answer != str(result))
        return NeedlePlan(
            needles=needles,
            distractors=(),
            change=None,
            question=QUESTIONS[lang][op].format(place=place),
            answers=(str(result),),
            absent_key=None,
            clause_sep="",
            facts=(Fact(_KEY[lang][op], str(result)),),
            decoys=decoys,
            grading=(("op", op), ("values", tuple(values))),
        )

    def answer_budget(self, spec: CellSpec) -> int:
        # the number alone is 1-2 tokens; room to list the values and their sum ("23 + 45 + ... = 147")
        return 32 + 6 * self.k(spec)

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        fact = key.expected[0]
        abstained = is_abstention(answer)
        stated = numbers_in_order(answer)
        numbers = frozenset().union(*stated) if stated else frozenset()
        decoys = tuple(d.answer for d in key.decoys if d.answer in numbers)
        last = stated[-1] if stated else frozenset()
        found = states_fact(answer, fact, numbers)
        if found and key.param("op") == "max" and decoys and fact.answer not in last:
            found = False  # a list of the values is not a choice of the largest
        if found:
            outcome = "found"
        elif any(d.answer in last for d in key.decoys):
            outcome = "decoy"
        elif abstained:
            outcome = "abstained"
        elif not stated:
            outcome = "wrong_format"
        else:
            outcome = "wrong"
        return Grade(
            score=1.0 if found else 0.0,
            outcome=outcome,
            found=(fact.answer,) if found else (),
            missed=() if found else (fact.answer,),
            abstained=abstained,
            distractors_found=decoys,
            extra={"op": key.param("op")},
        )

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        op = options.get("op")
        return {
            "n_needles": int(options.get("n_needles") or 1),
            "params": (("op", str(op)),) if op else (),
        }


register(AggregateTask())
