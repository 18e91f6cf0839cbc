"""Needle families (data) and the seeded needle plan of a cell.

Every variant is a row of parameters, not a copy of code: :data:`FAMILIES` holds, per language, the needle
template, the questions and the key table; :data:`CHANGED_PHRASES` the incongruous phrases of the
"line that changed" task. :func:`plan_needles` draws keys, values, distractor depths and phrases from local
``random.Random`` instances seeded with ``"{seed}:{task}:{language}:..."`` strings, before any sizing, so
the same seed gives the same needles for every length, depth, tokenizer and model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from haystacks.answer_key import AnswerKey, Fact
from haystacks.errors import SpecError
from haystacks.spec import check_depth

__all__ = [
    "CHANGED_KEY",
    "CHANGED_PHRASES",
    "DEFAULT_DISTRACTORS",
    "DEFAULT_MULTI_NEEDLES",
    "FAMILIES",
    "LANGUAGES",
    "NeedleFamily",
    "NeedlePlan",
    "PlannedNeedle",
    "check_depth",
    "draw_value",
    "join_keys",
    "multi_depths",
    "near_miss",
    "needle_rng",
]

LANGUAGES = ("zh", "en")
DEFAULT_MULTI_NEEDLES = 4  # multi with n_needles left at 1 and no explicit depths
DEFAULT_DISTRACTORS = 3  # distractor task with n_distractors left at 0


@dataclass(frozen=True)
class NeedleFamily:
    """One needle family in one language.

    Attributes:
        language: ``"zh"`` or ``"en"``.
        template: The needle sentence, with ``{key}`` (a city) and ``{value}``.
        key_template: How the asked fact is named, with ``{key}``.
        question: Question for one key.
        multi_question: Question for several keys (``{keys}`` joined with :attr:`list_sep` / ``last_sep``).
        changed_question: Question of the changed-line task (reveals neither the line nor the phrase).
        keys: Key table (distinct cities).
        list_sep: Separator between keys in :attr:`multi_question`.
        last_sep: Separator before the last key.
        clause_sep: Joins the inserted phrase to the sentence it alters.
        value_digits: Digits of a value (no leading zero).
    """

    language: str
    template: str
    key_template: str
    question: str
    multi_question: str
    changed_question: str
    keys: tuple[str, ...]
    list_sep: str
    last_sep: str
    clause_sep: str
    value_digits: int = 7


FAMILIES: dict[str, NeedleFamily] = {
    "zh": NeedleFamily(
        language="zh",
        template="{key}的神秘数字是{value}。",
        key_template="{key}的神秘数字",
        question="{key}的神秘数字是多少？",
        multi_question="{keys}的神秘数字分别是多少？",
        changed_question=(
            "上面的文本中有一句话被人改动过：句子里被插入了一段与上下文毫不相干的内容。"
            "请找出这段被插入的内容，并原样写出来。"
        ),
        keys=(
            *("上海", "北京", "广州", "深圳", "杭州", "成都", "重庆", "武汉", "西安", "南京"),
            *("苏州", "天津", "长沙", "郑州", "青岛", "沈阳", "大连", "厦门", "昆明", "哈尔滨"),
            *("济南", "福州", "合肥", "南昌", "贵阳", "兰州", "太原", "石家庄", "南宁", "海口"),
            *("拉萨", "乌鲁木齐", "呼和浩特", "银川", "西宁", "长春", "宁波", "无锡", "珠海", "桂林"),
        ),
        list_sep="、",
        last_sep="和",
        clause_sep="，",
    ),
    "en": NeedleFamily(
        language="en",
        template="The magic number for {key} is {value}.",
        key_template="the magic number for {key}",
        question="What is the magic number for {key}?",
        multi_question="What are the magic numbers for {keys}?",
        changed_question=(
            "One sentence in the text above was altered: a phrase that has nothing to do with its context "
            "was inserted into it. Find the inserted phrase and quote it exactly."
        ),
        keys=(
            *("Oslo", "Lima", "Cairo", "Nairobi", "Lisbon", "Dublin", "Helsinki", "Santiago", "Manila"),
            *("Hanoi", "Quito", "Accra", "Tbilisi", "Reykjavik", "Montevideo", "Zagreb", "Vilnius", "Riga"),
            *("Tallinn", "Bogota", "Caracas", "Havana", "Kyoto", "Busan", "Perth", "Auckland", "Vancouver"),
            *("Boston", "Denver", "Seattle", "Madrid", "Porto", "Naples", "Munich", "Prague", "Vienna"),
            *("Warsaw", "Athens", "Istanbul", "Dakar"),
        ),
        list_sep=", ",
        last_sep=" and ",
        clause_sep=", ",
    ),
}

CHANGED_PHRASES: dict[str, tuple[str, ...]] = {
    "zh": (
        "一只紫色的长颈鹿正在会议室里弹钢琴",
        "月球背面的企鹅开始集体学习量子力学",
        "厨房里的烤面包机突然用法语朗诵诗歌",
        "三只橙色的章鱼在屋顶上排队买咖啡",
        "一头大象悄悄地把雨伞借给了邮递员",
        "隔壁的仙人掌报名参加了马拉松比赛",
        "一群海豚在图书馆里讨论税务问题",
        "窗外的云朵被折成了纸飞机寄往火星",
        "一只戴眼镜的乌龟正在修理潜水艇",
        "冰箱里的西瓜学会了吹口哨",
        "一条会说话的围巾坚持要去南极度假",
        "两只松鼠用算盘计算银河系的租金",
        "一块奶酪在午夜独自登上了珠穆朗玛峰",
        "楼下的自行车写了一封辞职信",
        "一只刺猬在雨中指挥交响乐团",
        "一把木椅子宣布自己是海盗船长",
        "四只火烈鸟在电梯里练习太极拳",
        "一朵向日葵借走了灯塔的钥匙",
        "一只骆驼在地铁站教鸽子下象棋",
        "草地上的雪人正在申请潜水执照",
    ),
    "en": (
        "a purple giraffe was quietly playing the piano in the boardroom",
        "the penguins on the far side of the moon began studying quantum mechanics",
        "the toaster in the kitchen suddenly recited poetry in French",
        "three orange octopuses queued on the roof to buy coffee",
        "an elephant secretly lent its umbrella to the postman",
        "the cactus next door signed up for a marathon",
        "a pod of dolphins debated tax law in the library",
        "the clouds outside were folded into paper planes bound for Mars",
        "a tortoise in spectacles was repairing a submarine",
        "the watermelon in the fridge learned to whistle",
        "a talking scarf insisted on a holiday in Antarctica",
        "two squirrels used an abacus to compute the rent of the galaxy",
        "a wedge of cheese climbed Everest alone at midnight",
        "the bicycle downstairs wrote a letter of resignation",
        "a hedgehog conducted a symphony orchestra in the rain",
        "a wooden chair declared itself captain of a pirate ship",
        "four flamingos practised tai chi in the elevator",
        "a sunflower borrowed the lighthouse keys",
        "a camel taught pigeons chess at the subway station",
        "the snowman on the lawn applied for a diving licence",
    ),
}

CHANGED_KEY = {"zh": "被改动的句子", "en": "the altered sentence"}


@dataclass(frozen=True)
class PlannedNeedle:
    """A needle drawn from the seed, before it is placed.

    Attributes:
        kind: ``"needle"``, ``"distractor"`` or ``"changed"``.
        text: The sentence to insert (``"changed"``: the phrase to insert into an existing sentence).
        key: What is asked about.
        answer: The fact a correct answer contains.
        depth: Requested depth (percent).
        label: The bare key an answer names it by (binds values to keys); "" when there is none.
    """

    kind: str
    text: str
    key: str
    answer: str
    depth: float
    label: str = ""


@dataclass(frozen=True)
class NeedlePlan:
    """Everything a cell's needles need, drawn from its seed.

    Attributes:
        needles: The asked needles (multi: in question order).
        distractors: Same-template needles with other keys and near-miss or random values.
        change: For ``changed_line``: the phrase to insert (``text``) and where (``depth``).
        question: The question, in the cell's language.
        answers: What a correct answer must contain, one per asked fact (empty for ``no_needle``).
        absent_key: For ``no_needle``: the key the question asks about, present nowhere in the context.
        clause_sep: How a changed-line phrase joins its sentence.
        facts: What the answer is graded on (default: one fact per asked needle).
        decoys: Facts in the text that are not asked (default: one per distractor).
        absent: ``no_needle``: the asked, absent fact.
        grading: Task-specific grading parameters for the answer key.
    """

    needles: tuple[PlannedNeedle, ...]
    distractors: tuple[PlannedNeedle, ...]
    change: PlannedNeedle | None
    question: str
    answers: tuple[str, ...]
    absent_key: str | None
    clause_sep: str
    facts: tuple[Fact, ...] | None = None
    decoys: tuple[Fact, ...] | None = None
    absent: Fact | None = None
    grading: tuple[tuple[str, Any], ...] = ()

    def answer_key(self, task: str, language: str, changed_sentence: str | None = None) -> AnswerKey:
        """The grader's view of this plan (``changed_sentence``: the altered sentence once placed)."""
        facts = self.facts
        if facts is None:
            facts = tuple(
                Fact(n.key, n.answer, n.label) for n in (*self.needles, *filter(None, [self.change]))
            )
        decoys = self.decoys
        if decoys is None:
            decoys = tuple(Fact(d.key, d.answer, d.label) for d in self.distractors)
        return AnswerKey(
            task=task,
            language=language,
            question=self.question,
            expected=facts,
            decoys=decoys,
            absent=self.absent,
            changed_sentence=changed_sentence,
            params=self.grading,
        )


def multi_depths(depth: float, k: int) -> tuple[float, ...]:
    """Default depths of a multi-needle cell: the first at ``depth``, the rest evenly spread up to 100.

    Args:
        depth: The cell's depth (percent).
        k: Number of needles.

    Returns:
        ``depth + i * (100 - depth) / k`` for ``i`` in ``0..k-1``, rounded to 6 decimals.
    """
    return tuple(round(depth + i * (100.0 - depth) / k, 6) for i in range(k))


def needle_rng(seed: int, task: str, language: str, what: str) -> random.Random:
    return random.Random(f"{seed}:{task}:{language}:{what}")


def draw_value(rng: random.Random, digits: int, taken: set[str]) -> str:
    while True:
        v = str(rng.randrange(10 ** (digits - 1), 10**digits))
        if v not in taken:
            taken.add(v)
            return v


def near_miss(rng: random.Random, value: str, taken: set[str]) -> str:
    """``value`` with exactly one digit changed (never a leading zero, never a value already used)."""
    for _ in range(100):
        pos = rng.randrange(len(value))
        digits = [d for d in "0123456789" if d != value[pos] and not (pos == 0 and d == "0")]
        v = value[:pos] + rng.choice(digits) + value[pos + 1 :]
        if v not in taken:
            taken.add(v)
            return v
    raise SpecError("cannot draw a near-miss value")  # pragma: no cover - 63 candidates always exist


def join_keys(fam: NeedleFamily, keys: list[str]) -> str:
    if len(keys) == 1:
        return keys[0]
    return fam.list_sep.join(keys[:-1]) + fam.last_sep + keys[-1]
