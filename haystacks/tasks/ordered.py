"""``ordered``: MRCR-style — several near-identical items; which came i-th in the text?

"Note: the door code of the storage room is now 482913." — k needles (``n_needles``, default 4) with the
same template and different six-digit values, at increasing depths (the :func:`multi_depths` slots: the
first at the cell's depth, the rest evenly spread to the end), so their order of appearance is their plan
order. The question asks for the i-th (i drawn from the seed, said in words: "first", "second", ...,
"last"). Every item matches the question equally well; only their order tells them apart.

Grading (:func:`haystacks.tasks.base.grade_one`): values are bound to the ordinal they are stated for
("1st: X, 2nd: Y", "the second is Y (the first was X)"); the value committed to for the asked ordinal (or,
with no ordinal named, the one value stated) scores 1, even when the explanation names the other items;
another item's value is a ``decoy``; several without choosing are ``hedged`` (the right one among them) or
``decoy``; a six-digit number that is no item's is ``hallucinated``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from haystacks.errors import SpecError
from haystacks.needles import (
    DEFAULT_MULTI_NEEDLES,
    NeedlePlan,
    PlannedNeedle,
    draw_value,
    multi_depths,
    needle_rng,
)
from haystacks.tasks.base import AnswerKey, Fact, Grade, Task, check_cell, grade_one, item_count
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = ["ORDINALS", "OrderedTask", "ordinal", "ordinal_names"]

MAX_ITEMS = 10
VALUE_DIGITS = 6

ORDINALS = {
    "en": ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"),
    "zh": ("第一", "第二", "第三", "第四", "第五", "第六", "第七", "第八", "第九", "第十"),
}
_LAST = {"en": "last", "zh": "最后一"}

TEMPLATES = {
    "en": "Note: the door code of the storage room is now {v}.",
    "zh": "备注：储藏室的门禁密码现在是{v}。",
}
QUESTIONS = {
    "en": (
        "The text gives the door code of the storage room several times, a different code each time. "
        "Counting in order of appearance, what is the {ordinal} code given?"
    ),
    "zh": "文中多次给出储藏室的门禁密码，每次都不一样。按出现的先后顺序，文中给出的{ordinal}个密码是多少？",
}
_KEY = {"en": "the {ordinal} door code given", "zh": "文中给出的{ordinal}个门禁密码"}


def ordinal_names(i: int, k: int) -> tuple[str, ...]:
    """Every way an answer names item ``i`` of ``k`` (either language): "second", "2nd", "第二", "第2",
    and "last" / "最后" for the last item; a value stated under it belongs to that item."""
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(i, "th")  # i <= 10: ORDINALS ends at the tenth
    names = [ORDINALS["en"][i - 1], f"{i}{suffix}", ORDINALS["zh"][i - 1], f"第{i}"]
    if i == k and k > 1:
        names += ["last", "final code", "最后一", "最后"]
    return tuple(names)


def ordinal(i: int, k: int, language: str) -> str:
    """The ordinal of item ``i`` (1-based) of ``k`` in words: "first", ..., "last" ("第一", ..., "最后一")."""
    if i == k and k > 1:
        return _LAST[language]
    return ORDINALS[language][i - 1]


class OrderedTask(Task):
    name = "ordered"
    summary = "MRCR-style: k near-identical items (option n_needles); the question asks for the i-th in order"
    metric = "accuracy"
    options = ("n_needles",)

    def k(self, spec: CellSpec) -> int:
        return item_count(spec, self.name, MAX_ITEMS, DEFAULT_MULTI_NEEDLES, "items")

    def plan(self, spec: CellSpec) -> NeedlePlan:
        depth = check_cell(spec, TEMPLATES)
        lang = spec.language
        if spec.depths is not None:
            raise SpecError(f"the {self.name} task places its items itself (no explicit depths)")
        if spec.n_distractors:
            raise SpecError(f"the {self.name} task takes no distractors (its other items are the decoys)")
        k = self.k(spec)
        seed = spec.seed
        taken: set[str] = set()
        values = [
            draw_value(needle_rng(seed, self.name, lang, f"value:{j}"), VALUE_DIGITS, taken) for j in range(k)
        ]
        i = needle_rng(seed, self.name, lang, "asked").randrange(1, k + 1)
        word = ordinal(i, k, lang)
        depths = multi_depths(depth, k)
        items = tuple(
            PlannedNeedle(
                kind="needle",
                text=TEMPLATES[lang].format(v=v),
                key=_KEY[lang].format(ordinal=ordinal(j + 1, k, lang)),
                answer=v,
                depth=d,
            )
            for j, (v, d) in enumerate(zip(values, depths, strict=True))
        )
        asked = items[i - 1]
        return NeedlePlan(
            needles=items,
            distractors=(),
            change=None,
            question=QUESTIONS[lang].format(ordinal=word),
            answers=(asked.answer,),
            absent_key=None,
            clause_sep="",
            facts=(Fact(asked.key, asked.answer),),
            decoys=tuple(Fact(n.key, n.answer) for j, n in enumerate(items) if j != i - 1),
            grading=(("index", i), ("n_items", k)),
        )

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        i, k = int(key.param("index") or 1), int(key.param("n_items") or len(key.decoys) + 1)
        labels = {str(j): ordinal_names(j, k) for j in range(1, k + 1)}
        asked = "|".join(re.escape(x) for x in labels[str(i)])
        g = grade_one(
            answer,
            key,
            invented_digits=VALUE_DIGITS - 1,
            labels=labels,
            asked_label=str(i),
            phrases=re.compile(asked) if asked else None,
        )
        return replace(g, extra={**g.extra, "index": key.param("index"), "n_items": key.param("n_items")})

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"n_needles": int(options.get("n_needles") or 1)}


register(OrderedTask())
