"""``topical``: a needle in the haystack's own register — a fabricated fact about a fictional AI model.

The transcripts are interviews about technology and business, so a magic number stands out; this family's
needle reads like the text around it: "The model Qingluan-7, released by DeepWords, supports a context of
400,000 tokens." Company, model, attribute and value are drawn from the seed; none of them exists, so the
answer cannot be known beforehand (``closed_book``: the runner also asks each question once without the
text, and the question makes sense alone).

Attributes: context length (tokens), GPUs used for training, languages supported. Optional distractors
(``n_distractors``): the same attribute of *other* fictional models, at seeded uniform depths; each fact is
bound to its model name (the label), so "Qingluan-7: 400,000; Xuanniao-3: 320,000" is graded per model.
Grading is :func:`haystacks.tasks.base.grade_facts` (numbers bound to keys; a distractor's value is a
``decoy``; a second candidate is a hedge; an approximation is not the value; an invented number is
``hallucinated``). The closed-book control grades the same way: a refusal ("I'm not familiar with this
model", 我不了解这个模型) is ``abstained`` (score 0: the fact is not knowable without the text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from haystacks.errors import SpecError
from haystacks.needles import NeedlePlan, PlannedNeedle, check_depth, needle_rng
from haystacks.tasks.base import AnswerKey, Fact, Grade, Task, grade_facts
from haystacks.tasks.magic import check_seed
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = ["ATTRIBUTES", "COMPANIES", "MODELS", "Attribute", "TopicalTask", "zh_number"]

#: Fictional companies, the same index in both languages.
COMPANIES = {
    "zh": ("深言科技", "澄星智能", "千帆智算", "墨池数据", "览川科技", "昭明智能", "拾光算力", "远岫科技"),
    "en": ("DeepWords", "ClearStar AI", "Qianfan Compute", "Inkpool Data", "Lanchuan Tech", "Zhaoming AI",
           "Shiguang Labs", "Yuanxiu Technologies"),
}  # fmt: skip
#: Fictional model stems (a digit is appended), the same index in both languages.
MODELS = {
    "zh": ("青鸾", "玄鸟", "云雀", "鸿鹄", "白鹭", "翠鸟", "夜莺", "鹈鹕", "雨燕", "鸬鹚"),
    "en": ("Qingluan", "Xuanniao", "Yunque", "Honghu", "Bailu", "Cuiniao", "Yeying", "Tihu", "Yuyan", "Luci"),
}


@dataclass(frozen=True)
class Attribute:
    """One kind of fact: its name, its sentence and question per language, and the values it takes."""

    name: str
    needle: dict[str, str]
    question: dict[str, str]
    key: dict[str, str]
    values: tuple[int, ...]


def zh_number(n: int) -> str:
    """``n`` in Chinese numerals with 万 (400000 → "四十万", 240000 → "二十四万"); for multiples of 10 000."""
    digits = "零一二三四五六七八九"
    w = n // 10_000
    if n % 10_000 or not 0 < w < 100:
        raise ValueError(f"zh_number takes multiples of 10 000 below a million, got {n}")
    tens, ones = divmod(w, 10)
    s = ("" if tens == 1 else digits[tens]) + "十" if tens else ""
    return s + (digits[ones] if ones else "") + "万"


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        name="context_length",
        needle={
            "zh": "{company}发布的模型“{model}”支持的上下文长度是{zh_value}个词元。",
            "en": "The model {model}, released by {company}, supports a context of {en_value} tokens.",
        },
        question={
            "zh": "{company}发布的模型“{model}”支持的上下文长度是多少个词元？",
            "en": "How many tokens of context does {model}, the model released by {company}, support?",
        },
        key={"zh": "{model}的上下文长度", "en": "the context length of {model}"},
        values=tuple(w * 10_000 for w in (24, 28, 36, 44, 52, 56, 68, 72, 84, 96)),
    ),
    Attribute(
        name="gpus",
        needle={
            "zh": "据{company}介绍，模型“{model}”是用{zh_value}张显卡训练出来的。",
            "en": "According to {company}, its model {model} was trained on {en_value} GPUs.",
        },
        question={
            "zh": "据{company}介绍，模型“{model}”是用多少张显卡训练出来的？",
            "en": "According to {company}, on how many GPUs was its model {model} trained?",
        },
        key={"zh": "{model}训练用的显卡数", "en": "the GPUs {model} was trained on"},
        values=(1536, 2304, 3072, 4608, 5376, 6144, 7168, 9216, 10752, 12288),
    ),
    Attribute(
        name="languages",
        needle={
            "zh": "{company}表示，其模型“{model}”能够理解{zh_value}种语言。",
            "en": "{company} says its model {model} understands {en_value} languages.",
        },
        question={
            "zh": "{company}表示其模型“{model}”能够理解多少种语言？",
            "en": "According to {company}, how many languages does its model {model} understand?",
        },
        key={"zh": "{model}能理解的语言数", "en": "the languages {model} understands"},
        values=(37, 43, 58, 64, 71, 86, 93, 117, 124, 139),
    ),
)


#: What a value of each attribute may be followed by ("400,000 tokens", "1,536 GPUs", "58种语言").
_UNITS = re.compile(r"tokens?|gpus?|graphics|cards?|languages?|context|k\b|词|张|块|种|个|万|显|卡|语")


def _render(attr: Attribute, lang: str, company: str, model: str, value: int) -> str:
    zh_value = zh_number(value) if value % 10_000 == 0 else str(value)
    return attr.needle[lang].format(company=company, model=model, zh_value=zh_value, en_value=f"{value:,}")


class TopicalTask(Task):
    name = "topical"
    summary = (
        "a fabricated fact about a fictional AI model, in the transcripts' own register (closed-book probed)"
    )
    metric = "recall"
    options = ("n_distractors",)
    closed_book = True

    def plan(self, spec: CellSpec) -> NeedlePlan:
        check_seed(spec.seed)
        lang = spec.language
        if lang not in COMPANIES:
            raise SpecError(f"unknown language {lang!r}; choose from {', '.join(COMPANIES)}")
        depth = check_depth(spec.depth)
        if spec.depths is not None or spec.n_needles != 1:
            raise SpecError(f"the {self.name} task has one needle (no n_needles or explicit depths)")
        k = spec.n_distractors
        if not 0 <= k < len(MODELS[lang]):
            raise SpecError(f"n_distractors must be from 0 to {len(MODELS[lang]) - 1}, got {k}")
        # language-independent draws (index tables), so zh and en cells of a seed state the same fact
        seed = spec.seed
        r = needle_rng(seed, self.name, "any", "fact")
        attr = r.choice(ATTRIBUTES)
        companies = r.sample(range(len(COMPANIES[lang])), len(COMPANIES[lang]))
        stems = r.sample(range(len(MODELS[lang])), k + 1)
        numbers = [r.randrange(2, 10) for _ in range(k + 1)]
        values = r.sample(attr.values, k + 1)
        planned = []
        for j in range(k + 1):
            company = COMPANIES[lang][companies[j % len(companies)]]
            model = f"{MODELS[lang][stems[j]]}-{numbers[j]}"
            planned.append(
                PlannedNeedle(
                    kind="needle" if j == 0 else "distractor",
                    text=_render(attr, lang, company, model, values[j]),
                    key=attr.key[lang].format(model=model),
                    answer=str(values[j]),
                    depth=depth
                    if j == 0
                    else round(needle_rng(seed, self.name, "any", f"d:{j}").uniform(0, 100), 2),
                    label=model,
                )
            )
        needle = planned[0]
        company0 = COMPANIES[lang][companies[0]]
        accept = (f"{values[0] // 1000}k",) if values[0] % 1000 == 0 and values[0] >= 10_000 else ()
        return NeedlePlan(
            needles=(needle,),
            distractors=tuple(planned[1:]),
            change=None,
            question=attr.question[lang].format(company=company0, model=needle.label),
            answers=(needle.answer,),
            absent_key=None,
            clause_sep="",
            facts=(Fact(needle.key, needle.answer, needle.label, accept),),
            grading=(("attribute", attr.name),),
        )

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        g = grade_facts(answer, key, units=_UNITS, approx_invents=True, invented_digits=1)
        return replace(g, extra={**g.extra, "attribute": key.param("attribute")})

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"n_distractors": int(options.get("n_distractors") or 0)}


register(TopicalTask())
