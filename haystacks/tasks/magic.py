"""The magic-number family: ``single``, ``multi``, ``distractor`` and the ``no_needle`` control.

"The magic number for Oslo is 4729183." — literal needles whose key (a city) and value (7 digits) are drawn
from the seed. One parameter table (:data:`haystacks.needles.FAMILIES`) serves every variant; the variants
differ only in how many needles are asked, how many same-template distractors surround them, and whether the
asked key is present at all. Keys are a seeded permutation of the key table: asked needle ``i`` gets key
``i``, distractor ``j`` the ``j``-th key from the end (so adding distractors never changes the asked keys).
Values come from one RNG per needle index; distractor values alternate between a near miss of the first
needle's value (one digit changed) and a fresh random value; distractor depths are uniform in 0..100.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from haystacks.errors import SpecError
from haystacks.needles import (
    DEFAULT_DISTRACTORS,
    DEFAULT_MULTI_NEEDLES,
    FAMILIES,
    NeedleFamily,
    NeedlePlan,
    PlannedNeedle,
    check_depth,
    draw_value,
    join_keys,
    multi_depths,
    near_miss,
    needle_rng,
)
from haystacks.tasks.base import AnswerKey, Fact, Grade, Task, grade_absent, grade_facts
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = [
    "SPECIAL_MAGIC",
    "DistractorTask",
    "MagicNumberTask",
    "MultiTask",
    "NoNeedleTask",
    "SingleTask",
    "SpecialMagicTask",
]


#: The needle of the Gemini 1.5 report's text haystack ("The special magic {city} number is: {number}."),
#: in both languages; the question names the city as the report's does.
SPECIAL_MAGIC: dict[str, NeedleFamily] = {
    lang: dataclasses.replace(
        fam,
        template={
            "zh": "{key}的特殊神秘数字是：{value}。",
            "en": "The special magic {key} number is: {value}.",
        }[lang],
        key_template={"zh": "{key}的特殊神秘数字", "en": "the special magic {key} number"}[lang],
        question={"zh": "{key}的特殊神秘数字是多少？", "en": "What is the special magic {key} number?"}[lang],
    )
    for lang, fam in FAMILIES.items()
}


def family(language: str, table: dict[str, NeedleFamily] = FAMILIES) -> NeedleFamily:
    """The magic-number family in ``language`` (SpecError for an unknown one)."""
    fam = table.get(language)
    if fam is None:
        raise SpecError(f"unknown language {language!r}; choose from {', '.join(FAMILIES)}")
    return fam


def check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SpecError(f"seed must be an integer, got {seed!r}")


#: Every key of the family in both languages: an answer naming one states its value for that key.
ALL_KEYS: tuple[str, ...] = tuple(dict.fromkeys(k for fam in FAMILIES.values() for k in fam.keys))


class MagicNumberTask(Task):
    """Shared plan of the magic-number variants: asked needles at given depths, distractors around them."""

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        labelled = all(f.label for f in key.expected)  # bare values (evals.grading.score_answer): no keys
        # a committed value that is no key's is invented, unless the answer read it from the transcript
        # (a year, "55" after "55亿美金", "10亿"): that is wrong, not invented
        return grade_facts(answer, key, other_labels=ALL_KEYS if labelled else (), invented_digits=0)

    #: Whether the asked key is absent (the no-needle control).
    absent: bool = False
    #: The needle and question wording, per language.
    table: dict[str, NeedleFamily] = FAMILIES

    def needle_depths(self, spec: CellSpec) -> tuple[float, ...]:
        if spec.depths is not None:
            raise SpecError(f"explicit depths are for the multi task, not {self.name!r}")
        if spec.n_needles != 1:
            raise SpecError(f"n_needles={spec.n_needles} is for the multi task, not {self.name!r}")
        return () if self.absent else (check_depth(spec.depth),)

    def n_distractors(self, spec: CellSpec) -> int:
        return spec.n_distractors

    def question(self, fam: NeedleFamily, asked: list[str]) -> str:
        return fam.question.format(key=asked[0])

    def plan(self, spec: CellSpec) -> NeedlePlan:
        check_seed(spec.seed)
        fam = family(spec.language, self.table)
        check_depth(spec.depth)
        if spec.n_distractors < 0:
            raise SpecError(f"n_distractors must be >= 0, got {spec.n_distractors}")
        if spec.n_needles < 1:
            raise SpecError(f"n_needles must be >= 1, got {spec.n_needles}")
        depths = self.needle_depths(spec)
        n_distractors = self.n_distractors(spec)
        n_keys = len(depths) + n_distractors + (1 if self.absent else 0)
        if n_keys > len(fam.keys):
            raise SpecError(
                f"at most {len(fam.keys)} needles and distractors together in language {spec.language!r}"
            )
        seed, task, lang = spec.seed, self.name, spec.language
        perm = list(fam.keys)
        needle_rng(seed, task, lang, "keys").shuffle(perm)
        taken: set[str] = set()
        needles: list[PlannedNeedle] = []
        for i, d in enumerate(depths):
            key = perm[i]
            value = draw_value(needle_rng(seed, task, lang, f"value:{i}"), fam.value_digits, taken)
            needles.append(
                PlannedNeedle(
                    kind="needle",
                    text=fam.template.format(key=key, value=value),
                    key=fam.key_template.format(key=key),
                    answer=value,
                    depth=d,
                    label=key,
                )
            )
        anchor = (
            needles[0].answer
            if needles
            else draw_value(needle_rng(seed, task, lang, "anchor"), fam.value_digits, set())
        )
        distractors: list[PlannedNeedle] = []
        for j in range(n_distractors):
            key = perm[-(j + 1)]
            r = needle_rng(seed, task, lang, f"distractor:{j}")
            value = near_miss(r, anchor, taken) if j % 2 == 0 else draw_value(r, fam.value_digits, taken)
            distractors.append(
                PlannedNeedle(
                    kind="distractor",
                    text=fam.template.format(key=key, value=value),
                    key=fam.key_template.format(key=key),
                    answer=value,
                    depth=round(r.uniform(0.0, 100.0), 2),
                    label=key,
                )
            )
        asked = perm[: max(1, len(needles))]
        absent = Fact(fam.key_template.format(key=perm[0]), "", perm[0]) if self.absent else None
        return NeedlePlan(
            needles=tuple(needles),
            distractors=tuple(distractors),
            change=None,
            question=self.question(fam, asked),
            answers=tuple(n.answer for n in needles),
            absent_key=perm[0] if self.absent else None,
            clause_sep=fam.clause_sep,
            absent=absent,
        )


class SingleTask(MagicNumberTask):
    name = "single"
    summary = "one magic-number needle; the question names its key"
    options = ()


class DistractorTask(MagicNumberTask):
    name = "distractor"
    summary = "one needle among same-template distractors with other keys and near-miss values"
    options = ("n_distractors",)

    def n_distractors(self, spec: CellSpec) -> int:
        return spec.n_distractors or DEFAULT_DISTRACTORS

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"n_distractors": int(options.get("n_distractors") or 0)}


class MultiTask(MagicNumberTask):
    name = "multi"
    summary = "k needles (keys named in the question); partial credit, each value under its own key"
    options = ("n_needles",)

    def needle_depths(self, spec: CellSpec) -> tuple[float, ...]:
        if spec.depths is not None:
            if len(spec.depths) == 0:
                raise SpecError("depths must not be empty")
            if spec.n_needles not in (1, len(spec.depths)):
                raise SpecError(
                    f"n_needles={spec.n_needles} does not match the {len(spec.depths)} depths given"
                )
            return tuple(check_depth(d, "needle depth") for d in spec.depths)
        k = spec.n_needles if spec.n_needles > 1 else DEFAULT_MULTI_NEEDLES
        return multi_depths(spec.depth, k)

    def question(self, fam: NeedleFamily, asked: list[str]) -> str:
        return fam.multi_question.format(keys=join_keys(fam, asked))

    def answer_budget(self, spec: CellSpec) -> int:
        # chat answers of 4 keys ran to 143 tokens in the corpus (p90 61): a list, a table or a paragraph
        k = (
            len(spec.depths)
            if spec.depths
            else (spec.n_needles if spec.n_needles > 1 else DEFAULT_MULTI_NEEDLES)
        )
        return 64 + 32 * k

    def answer_lines(self, spec: CellSpec) -> int:
        return (
            len(spec.depths)
            if spec.depths
            else (spec.n_needles if spec.n_needles > 1 else DEFAULT_MULTI_NEEDLES)
        )

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        depths = options.get("depths")
        return {"n_needles": int(options.get("n_needles") or 1), "depths": tuple(depths) if depths else None}


class SpecialMagicTask(MagicNumberTask):
    name = "special_magic"
    summary = "the Gemini 1.5 report's needle: 'The special magic {city} number is: {number}.'"
    table = SPECIAL_MAGIC


class NoNeedleTask(MagicNumberTask):
    name = "no_needle"
    summary = "control: the asked key is nowhere in the text; the right answer is to decline"
    metric = "correct abstention"
    has_depth = False
    absent = True

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        labelled = key.absent is not None and bool(key.absent.label)
        return grade_absent(answer, key, other_labels=ALL_KEYS if labelled else ())


for _t in (SingleTask(), MultiTask(), DistractorTask(), NoNeedleTask(), SpecialMagicTask()):
    register(_t)
