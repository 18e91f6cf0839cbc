"""``chain``: variable tracking / multi-hop — follow k relabellings from a start label to the last one.

"The crate labelled QX-417 was relabelled RM-902." ... "The crate labelled RM-902 was relabelled ZT-118."
The question names the start label and asks for the final one, so a reader must chain ``hops`` needles
(RULER's variable tracking, NeedleBench's ancestral chains). Labels are fabricated codes (two capital
letters, a dash, three digits; no I or O, so no code reads as a word or a numeral), drawn from the seed.

Placement: the first hop (the one naming the start label the question asks about) sits at the cell's
depth, which is what the depth axis measures; the other hops take the rest of the :func:`multi_depths`
slots (evenly spread from the cell's depth to the end) in a seeded order, so that for three hops or more the
order of the text is not the order of the chain and "the last code in the text" is not a strategy.

Grading (:func:`haystacks.tasks.base.grade_one`): the label the answer commits to: after its last
conclusion or self-correction, in the sentence naming the final label, and for a recited path ("A → B →
C") the furthest label of the chain it reaches. The final label scores 1, even when the answer restates the
path; ending on an intermediate or the start label is a ``decoy``; hedging between the final label and
another is ``hedged``; a code that is nowhere in the text is ``hallucinated``. Optional distractors
(``n_distractors``) are relabellings of unrelated crates; stating one of their codes is a ``decoy``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from haystacks.errors import SpecError
from haystacks.grading import fold
from haystacks.needles import NeedlePlan, PlannedNeedle, multi_depths, needle_rng
from haystacks.reading import Mention, prepare, units
from haystacks.tasks.base import AnswerKey, Fact, Grade, Task, check_cell, grade_one
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = ["DEFAULT_HOPS", "MAX_HOPS", "ChainTask", "draw_code"]

DEFAULT_HOPS = 2
MAX_HOPS = 12

_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "IO")
_CODE = re.compile(r"(?<![a-z])([a-z]{2})(?:\s?-\s?|\s?)(\d{3})(?!\d)")

TEMPLATES = {
    "en": "The crate labelled {a} was relabelled {b}.",
    "zh": "标签为{a}的木箱后来被重新贴上了标签{b}。",
}
QUESTIONS = {
    "en": (
        "A crate was first labelled {a} and was then relabelled one or more times. What is its final label?"
    ),
    "zh": "有一只木箱最初的标签是{a}，之后被重新贴过一次或多次标签。它最后的标签是什么？",
}
_KEY = {"en": "the final label of the crate first labelled {a}", "zh": "最初标签为{a}的木箱最后的标签"}
_NODE = {"en": "label {i} of the chain", "zh": "链上的第{i}个标签"}


def draw_code(rng: Any, taken: set[str]) -> str:
    """A fresh code such as ``QX-417`` (never one in ``taken``; added to it)."""
    while True:
        code = f"{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}-{rng.randrange(100, 1000)}"
        if code not in taken:
            taken.add(code)
            return code


_FINAL = re.compile(
    r"\bfinal|\blast\b|\bend(?:s|ed)?\b|\bnow\b|\bcurrent|\banswer|\bstill\b|最后|最终|现在|目前|答案|还是|仍然|仍是|标签是|标签为|\blabel\s+is\b"
)


_HOP = re.compile(r"→|->|=>|\brelabel(?:l)?ed\b|\bchanged\s+to\b|\bbecame\b|贴上|改为|改成|变成")


def code_mentions(prepared: str) -> list[Mention]:
    """Every code a prepared answer states, as mentions with the code normalized to ``XX-123``; in a
    sentence that recites a hop ("DZ-756 was relabelled YD-800", "A → B → C") only its last code is a claim
    (the others are where the hop starts)."""
    out = []
    for a, b in units(prepared):
        found = [
            Mention(m.start(), m.end(), code, frozenset({code}))
            for m in _CODE.finditer(prepared, a, b)
            for code in [f"{m.group(1).upper()}-{m.group(2)}"]
        ]
        hop = _HOP.search(prepared, a, b)
        if len(found) > 1 and hop and found[0].end <= hop.start() < found[-1].start:
            found = found[-1:]
        out.extend(found)
    return out


def _contradictory_hops(prepared: str) -> set[str]:
    """The targets of one origin relabelled to several different codes, each in a sentence of its own."""
    by_origin: dict[str, set[str]] = {}
    for a, b in units(prepared):
        codes = [f"{m.group(1).upper()}-{m.group(2)}" for m in _CODE.finditer(prepared, a, b)]
        hop = _HOP.search(prepared, a, b)
        if len(codes) == 2 and hop:
            by_origin.setdefault(codes[0], set()).add(codes[1])
    return max(by_origin.values(), key=len, default=set())


def codes_in(answer: str) -> set[str]:
    """Every code an answer states, normalized to ``XX-123`` (``qx 417``, ``QX417`` read alike)."""
    return {f"{a.upper()}-{d}" for a, d in _CODE.findall(fold(answer))}


class ChainTask(Task):
    name = "chain"
    summary = (
        "variable tracking: follow k relabellings (option hops, default 2) from a start label to the last"
    )
    metric = "recall"
    options = ("hops", "n_distractors")

    def hops(self, spec: CellSpec) -> int:
        k = spec.param("hops", DEFAULT_HOPS)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_HOPS:
            raise SpecError(f"hops must be a whole number from 1 to {MAX_HOPS}, got {k!r}")
        return k

    def plan(self, spec: CellSpec) -> NeedlePlan:
        depth = check_cell(spec, TEMPLATES)
        lang = spec.language
        if spec.depths is not None or spec.n_needles != 1:
            raise SpecError(f"the {self.name} task takes hops, not n_needles or explicit depths")
        if spec.n_distractors < 0:
            raise SpecError(f"n_distractors must be >= 0, got {spec.n_distractors}")
        k = self.hops(spec)
        seed, tpl = spec.seed, TEMPLATES[lang]
        taken: set[str] = set()
        r = needle_rng(seed, self.name, lang, "codes")
        nodes = [draw_code(r, taken) for _ in range(k + 1)]
        slots = list(multi_depths(depth, k))
        rest = slots[1:]
        needle_rng(seed, self.name, lang, "order").shuffle(rest)
        depths = [slots[0], *rest]
        needles = tuple(
            PlannedNeedle(
                kind="needle",
                text=tpl.format(a=nodes[i], b=nodes[i + 1]),
                key=_NODE[lang].format(i=i + 2),
                answer=nodes[i + 1],
                depth=depths[i],
            )
            for i in range(k)
        )
        distractors = []
        rd = needle_rng(seed, self.name, lang, "distractors")
        for _ in range(spec.n_distractors):
            a, b = draw_code(rd, taken), draw_code(rd, taken)
            distractors.append(
                PlannedNeedle(
                    kind="distractor",
                    text=tpl.format(a=a, b=b),
                    key=_KEY[lang].format(a=a),
                    answer=b,
                    depth=round(rd.uniform(0.0, 100.0), 2),
                )
            )
        path = [Fact(_NODE[lang].format(i=i + 1), nodes[i]) for i in range(k)]  # start and intermediates
        others = [Fact(d.key, d.answer) for d in distractors]
        return NeedlePlan(
            needles=needles,
            distractors=tuple(distractors),
            change=None,
            question=QUESTIONS[lang].format(a=nodes[0]),
            answers=(nodes[-1],),
            absent_key=None,
            clause_sep="",
            facts=(Fact(_KEY[lang].format(a=nodes[0]), nodes[-1]),),
            decoys=(*path, *others),
            grading=(("hops", k), ("path", tuple(nodes))),
        )

    def answer_budget(self, spec: CellSpec) -> int:
        # answers that recite the hops ran to 96 tokens in the corpus for 2 hops (p90 75); a hop more is a
        # sentence more
        return 96 + 16 * self.hops(spec)

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        path = tuple(key.param("path", ()))
        g = grade_one(answer, key, mentions=code_mentions, phrases=_FINAL, path=path)
        targets = _contradictory_hops(prepare(answer))
        if g.outcome in ("found", "decoy") and len(targets) > 1 and g.extra.get("route") != "marker":
            # "X was relabelled A. … X was relabelled B.": one crate relabelled two ways, no choice made
            right = key.expected[0].answer in targets
            g = replace(
                g,
                score=0.0,
                outcome="hedged" if right else "decoy",
                found=(),
                missed=(key.expected[0].answer,),
                firm=True,
            )
        known = {f.answer for f in (*key.expected, *key.decoys)}
        invented = sorted(codes_in(answer) - known)
        if g.outcome in ("wrong", "wrong_format") and set(g.extra.get("committed", ())) - known:
            g = replace(g, outcome="hallucinated", hallucinated=True)
        return replace(g, extra={**g.extra, "hops": key.param("hops"), "codes_invented": invented})

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        hops = options.get("hops")
        return {
            "params": (("hops", DEFAULT_HOPS if hops is None else int(hops)),),
            "n_distractors": int(options.get("n_distractors") or 0),
        }


register(ChainTask())
