"""``aggregate``: RULER-style counting and aggregation over k scattered needles.

"A shipment of 47 crates arrived at the Linden Street warehouse." — k such needles (``n_needles``, default
4) with distinct two-digit values sit at the :func:`multi_depths` slots (the first at the cell's depth, the
rest evenly spread to the end). The question asks for their ``count``, ``sum`` or ``max`` (option ``op``, or
drawn from the seed); the expected answer is the computed number, and the op is in the grading params.
No single needle answers it: every one must be found (and, for a sum, added).

Grading: the number the answer commits to as its result (:func:`final_number`: after working and
self-corrections, in the sentence naming the result, after the last "="), exactly: the computed number
scores 1 ("23 + 45 + 67 + 12 = 147" included); an approximation ("about 150") never does; one of the
individual values (other than the answer itself, e.g. the largest for a max) is a ``decoy``; a list of the
values without a choice is ``hedged`` (the answer among them) or ``decoy``; any other number is ``wrong``
(a miscount or a wrong sum is not an invention); no number at all is ``wrong_format``; a refusal is
``abstained``. List indices, ordinals and dates are never the result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from haystacks.errors import SpecError
from haystacks.needles import (
    DEFAULT_MULTI_NEEDLES,
    NeedlePlan,
    PlannedNeedle,
    multi_depths,
    needle_rng,
)
from haystacks.reading import (
    Mention,
    committed_values,
    hedge_between,
    is_refusal,
    numbers,
    postfix_conclusions,
    prepare,
    units,
)
from haystacks.tasks.base import (
    AnswerKey,
    Fact,
    Grade,
    Task,
    Verdict,
    check_cell,
    distinct,
    fact_values,
    item_count,
)
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


#: Words of the sentence that states the result, per op (both languages).
_PHRASES = {
    "count": re.compile(
        r"\bshipments?\b|\bdeliver(?:y|ies)\b|\bbatch(?:es)?\b|\bseparate\b|\bhow\s+many\b|\bcount\b|"
        r"批|次"
    ),
    "sum": re.compile(
        r"\btotal|\bin\s+all\b|\baltogether\b|\bsum\b|\bcombined\b|一共|总共|合计|总计|共计|总数|加起来|共有"
    ),
    "max": re.compile(r"\blargest\b|\bbiggest\b|\bmost\b|\bmax(?:imum)?\b|\bhighest\b|最多|最大|最高"),
}
_COUNT_UNIT = re.compile(
    r"^\s*(?:separate\s+|different\s+|distinct\s+)?(?:shipments?|deliveries|batch(?:es)?|批|次)"
)


def final_number(prepared: str, ms: list[Mention], op: str) -> Verdict:
    """The number a worked answer commits to as its result.

    In turn: the sentence after the last conclusion or self-correction ("so the total is 147", "wait, it is
    148"); else the last sentence naming the result ("in total", "largest", "shipments", 一共, 最多); else
    the last worked computation; else the answer's first sentence when it states one number; else the one
    number stated. Within that sentence: the number after its last "=", else a count (a number before
    "shipments"/批), else the first number after the result's word (the number before it when the word
    follows its number: "314 crates in total, from 4 shipments of 37, ..."), else its one number. Several
    numbers left (a list of the values, not a choice) are a hedge. A list index, an ordinal or a date is never
    a number here (:func:`haystacks.reading.numbers`).
    """
    if not ms:
        return Verdict("none")
    phrases = _PHRASES[op]
    spans = units(prepared)

    def unit_of(m: Mention) -> tuple[int, int]:
        return next(((a, b) for a, b in spans if a <= m.start < b), (m.start, m.end))

    def pick(a: int, b: int, pool: list[Mention]) -> list[Mention]:
        inside = [m for m in pool if a <= m.start < b]
        if op != "count":  # "Adding all 25 shipments gives 1,359": a count is not a sum or a maximum
            inside = [m for m in inside if not _COUNT_UNIT.match(prepared[m.end : m.end + 24])] or inside
        if len(distinct(inside)) > 1 and hedge_between(prepared, inside[0].start, inside[-1].end):
            return inside  # "either 87 or 78"
        eq = [i for i, c in enumerate(prepared[a:b]) if c in "=＝"]
        if eq:
            after = [m for m in inside if m.start >= a + eq[-1]]
            if after:
                return after[:1]
        counted = [m for m in inside if _COUNT_UNIT.match(prepared[m.end : m.end + 24])]
        if counted and op == "count":
            return counted[:1]
        hit = phrases.search(prepared, a, b)
        if hit and len(distinct(inside)) > 1:
            # "314 crates in total, from 4 shipments of 37, ...": the word concludes the number before it
            post = [x for x, y in postfix_conclusions(prepared) if x < hit.end() <= y]
            own = [m for m in inside if post and m.start == post[0]]
            if own:
                return own
            later = [m for m in inside if m.start >= hit.end()]
            earlier = [m for m in inside if m.start < hit.start()]
            return later[:1] or earlier[-1:]
        return inside

    after = committed_values(prepared, ms)
    route = "marker"
    if len(after) < len(ms):
        a, b = unit_of(after[0])
        chosen = pick(a, b, after)
    else:
        named = [u for u in spans if phrases.search(prepared, *u) and any(u[0] <= m.start < u[1] for m in ms)]
        worked = [
            u for u in spans if "=" in prepared[u[0] : u[1]] and any(u[0] <= m.start < u[1] for m in ms)
        ]
        first = [m for m in ms if spans and spans[0][0] <= m.start < spans[0][1]]
        if named:
            route, chosen = "named", pick(*named[0], ms)
        elif worked:
            route, chosen = "worked", pick(*worked[-1], ms)
        elif first and len(distinct(first)) == 1:
            route, chosen = "first", first
        else:
            route, chosen = "only", ms
    groups = distinct(chosen)
    if len(groups) > 1:
        return Verdict("hedge", tuple(g[-1] for g in groups), route)
    exact = [m for m in groups[0] if not m.approx]
    if not exact:
        return Verdict("approx", (groups[0][-1],), route)
    return Verdict("one", (exact[-1],), route)


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
        # worked answers list the values and their sum ("23 + 45 + ... = 147"): 82 tokens at most in the
        # corpus for 4 values (p90 52); the working grows with the values
        return 96 + 16 * self.k(spec)

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        fact = key.expected[0]
        op = str(key.param("op") or "sum")
        p = prepare(answer)
        refused = is_refusal(answer)
        ms = numbers(p)
        strong = [m for m in ms if not m.weak]
        if not strong and len(ms) == 1 and len(re.sub(r"\W", "", p)) <= 8:
            strong = ms  # "Four." — the whole answer is the number word
        v = final_number(p, strong, op)
        right = fact_values(fact)
        items = {x for d in key.decoys for x in fact_values(d)}
        kinds = [
            "expected" if not right.isdisjoint(m.readings) else "decoy" if not items.isdisjoint(m.readings)
            else "other"
            for m in v.values
        ]  # fmt: skip
        decoys = tuple(d.answer for d in key.decoys if any(d.answer in m.readings for m in strong))
        found = v.state == "one" and kinds == ["expected"]
        if found:
            outcome = "found"
        elif v.state in ("hedge", "approx") and "expected" in kinds:
            outcome = "hedged"
        elif "decoy" in kinds:
            outcome = "decoy"
        elif v.state == "none" and refused:
            outcome = "abstained"
        elif v.state == "none":
            outcome = "wrong_format"
        else:
            outcome = "wrong"
        # cut answers: a result is committed when stated as one (after "so", in the sentence naming the
        # total/largest/count, or as the answer's complete first sentence), not a figure of unfinished working
        firm = refused if v.state == "none" else v.state == "one" and v.route in ("marker", "named", "first")
        return Grade(
            score=1.0 if found else 0.0,
            outcome=outcome,
            found=(fact.answer,) if found else (),
            missed=() if found else (fact.answer,),
            abstained=refused,
            distractors_found=decoys,
            firm=firm,
            extra={"op": key.param("op"), "committed": [m.value for m in v.values], "commitment": v.state},
        )

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        op = options.get("op")
        return {
            "n_needles": int(options.get("n_needles") or 1),
            "params": (("op", str(op)),) if op else (),
        }


register(AggregateTask())
