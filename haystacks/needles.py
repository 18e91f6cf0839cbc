"""Needle families (data) and the seeded needle plan of a cell.

Every variant is a row of parameters, not a copy of code: :data:`FAMILIES` holds, per language, the needle
template, the questions and the key table; :data:`CHANGED_PHRASES` the incongruous phrases of the
"line that changed" task. :func:`plan_needles` draws keys, values, distractor depths and phrases from local
``random.Random`` instances seeded with ``"{seed}:{task}:{language}:..."`` strings, before any sizing, so
the same seed gives the same needles for every length, depth, tokenizer and model.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from haystacks.errors import SpecError

__all__ = [
    "CHANGED_PHRASES",
    "DEFAULT_DISTRACTORS",
    "DEFAULT_MULTI_NEEDLES",
    "FAMILIES",
    "LANGUAGES",
    "TASKS",
    "NeedleFamily",
    "NeedlePlan",
    "PlannedNeedle",
    "multi_depths",
    "plan_needles",
]

TASKS = ("single", "multi", "distractor", "no_needle", "changed_line")
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

_CHANGED_KEY = {"zh": "被改动的句子", "en": "the altered sentence"}


@dataclass(frozen=True)
class PlannedNeedle:
    """A needle drawn from the seed, before it is placed.

    Attributes:
        kind: ``"needle"``, ``"distractor"`` or ``"changed"``.
        text: The sentence to insert (``"changed"``: the phrase to insert into an existing sentence).
        key: What is asked about.
        answer: The fact a correct answer contains.
        depth: Requested depth (percent).
    """

    kind: str
    text: str
    key: str
    answer: str
    depth: float


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
    """

    needles: tuple[PlannedNeedle, ...]
    distractors: tuple[PlannedNeedle, ...]
    change: PlannedNeedle | None
    question: str
    answers: tuple[str, ...]
    absent_key: str | None
    clause_sep: str


def multi_depths(depth: float, k: int) -> tuple[float, ...]:
    """Default depths of a multi-needle cell: the first at ``depth``, the rest evenly spread up to 100.

    Args:
        depth: The cell's depth (percent).
        k: Number of needles.

    Returns:
        ``depth + i * (100 - depth) / k`` for ``i`` in ``0..k-1``, rounded to 6 decimals.
    """
    return tuple(round(depth + i * (100.0 - depth) / k, 6) for i in range(k))


def _rng(seed: int, task: str, language: str, what: str) -> random.Random:
    return random.Random(f"{seed}:{task}:{language}:{what}")


def _value(rng: random.Random, digits: int, taken: set[str]) -> str:
    while True:
        v = str(rng.randrange(10 ** (digits - 1), 10**digits))
        if v not in taken:
            taken.add(v)
            return v


def _near_miss(rng: random.Random, value: str, taken: set[str]) -> str:
    """``value`` with exactly one digit changed (never a leading zero, never a value already used)."""
    for _ in range(100):
        pos = rng.randrange(len(value))
        digits = [d for d in "0123456789" if d != value[pos] and not (pos == 0 and d == "0")]
        v = value[:pos] + rng.choice(digits) + value[pos + 1 :]
        if v not in taken:
            taken.add(v)
            return v
    raise SpecError("cannot draw a near-miss value")  # pragma: no cover - 63 candidates always exist


def _check_depth(d: float, what: str = "depth") -> float:
    try:
        x = float(d)
    except (TypeError, ValueError):
        raise SpecError(f"{what} {d!r} is not a number") from None
    if not math.isfinite(x) or not 0.0 <= x <= 100.0:
        raise SpecError(f"{what} {d!r} is outside 0..100 (percent)")
    return x


def _join_keys(fam: NeedleFamily, keys: list[str]) -> str:
    if len(keys) == 1:
        return keys[0]
    return fam.list_sep.join(keys[:-1]) + fam.last_sep + keys[-1]


def plan_needles(
    task: str,
    seed: int,
    language: str,
    depth: float,
    n_needles: int = 1,
    depths: tuple[float, ...] | None = None,
    n_distractors: int = 0,
) -> NeedlePlan:
    """Draw a cell's needles from its seed (no length, no tokenizer involved).

    Keys are a seeded permutation of the family's key table: asked needle ``i`` gets key ``i``, distractor
    ``j`` the ``j``-th key from the end (so adding distractors never changes the asked keys). Values come
    from one RNG per needle index. Distractor values alternate between a near miss of the first needle's
    value (one digit changed) and a fresh random value; distractor depths are uniform in 0..100.

    Args:
        task: One of :data:`TASKS`.
        seed: The cell's seed.
        language: ``"zh"`` or ``"en"``.
        depth: Requested depth in percent (multi: the first needle's, unless ``depths`` is given).
        n_needles: Multi: number of needles (1 means the default, :data:`DEFAULT_MULTI_NEEDLES`).
        depths: Multi: explicit depths, one per needle.
        n_distractors: Number of distractors (0 means :data:`DEFAULT_DISTRACTORS` for the distractor task).

    Returns:
        The plan.

    Raises:
        SpecError: Unknown task or language, a depth outside 0..100, bad counts.
    """
    if task not in TASKS:
        raise SpecError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    if language not in FAMILIES:
        raise SpecError(f"unknown language {language!r}; choose from {', '.join(FAMILIES)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SpecError(f"seed must be an integer, got {seed!r}")
    depth = _check_depth(depth)
    fam = FAMILIES[language]
    if n_distractors < 0:
        raise SpecError(f"n_distractors must be >= 0, got {n_distractors}")
    if n_needles < 1:
        raise SpecError(f"n_needles must be >= 1, got {n_needles}")

    if task == "multi":
        if depths is not None:
            if len(depths) == 0:
                raise SpecError("depths must not be empty")
            if n_needles not in (1, len(depths)):
                raise SpecError(f"n_needles={n_needles} does not match the {len(depths)} depths given")
            needle_depths = tuple(_check_depth(d, "needle depth") for d in depths)
        else:
            k = n_needles if n_needles > 1 else DEFAULT_MULTI_NEEDLES
            needle_depths = multi_depths(depth, k)
    else:
        if depths is not None:
            raise SpecError(f"explicit depths are for the multi task, not {task!r}")
        if n_needles != 1:
            raise SpecError(f"n_needles={n_needles} is for the multi task, not {task!r}")
        needle_depths = () if task in ("no_needle", "changed_line") else (depth,)
    if task == "distractor" and n_distractors == 0:
        n_distractors = DEFAULT_DISTRACTORS
    if task == "changed_line" and n_distractors:
        raise SpecError("the changed_line task takes no distractors")
    n_keys = len(needle_depths) + n_distractors + (1 if task == "no_needle" else 0)
    if n_keys > len(fam.keys):
        raise SpecError(f"at most {len(fam.keys)} needles and distractors together in language {language!r}")

    perm = list(fam.keys)
    _rng(seed, task, language, "keys").shuffle(perm)
    taken: set[str] = set()
    needles: list[PlannedNeedle] = []
    for i, d in enumerate(needle_depths):
        key = perm[i]
        value = _value(_rng(seed, task, language, f"value:{i}"), fam.value_digits, taken)
        needles.append(
            PlannedNeedle(
                kind="needle",
                text=fam.template.format(key=key, value=value),
                key=fam.key_template.format(key=key),
                answer=value,
                depth=d,
            )
        )
    absent_key = perm[0] if task == "no_needle" else None
    anchor = (
        needles[0].answer
        if needles
        else _value(_rng(seed, task, language, "anchor"), fam.value_digits, set())
    )
    distractors: list[PlannedNeedle] = []
    for j in range(n_distractors):
        key = perm[-(j + 1)]
        rng = _rng(seed, task, language, f"distractor:{j}")
        value = _near_miss(rng, anchor, taken) if j % 2 == 0 else _value(rng, fam.value_digits, taken)
        distractors.append(
            PlannedNeedle(
                kind="distractor",
                text=fam.template.format(key=key, value=value),
                key=fam.key_template.format(key=key),
                answer=value,
                depth=round(rng.uniform(0.0, 100.0), 2),
            )
        )

    change: PlannedNeedle | None = None
    if task == "changed_line":
        phrase = _rng(seed, task, language, "phrase").choice(CHANGED_PHRASES[language])
        change = PlannedNeedle(
            kind="changed", text=phrase, key=_CHANGED_KEY[language], answer=phrase, depth=depth
        )
        question = fam.changed_question
        answers: tuple[str, ...] = (phrase,)
    elif task == "no_needle":
        assert absent_key is not None
        question = fam.question.format(key=absent_key)
        answers = ()
    elif task == "multi":
        question = fam.multi_question.format(keys=_join_keys(fam, perm[: len(needles)]))
        answers = tuple(n.answer for n in needles)
    else:
        question = fam.question.format(key=perm[0])
        answers = (needles[0].answer,)
    return NeedlePlan(
        needles=tuple(needles),
        distractors=tuple(distractors),
        change=change,
        question=question,
        answers=answers,
        absent_key=absent_key,
        clause_sep=fam.clause_sep,
    )
