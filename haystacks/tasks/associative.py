"""``associative``: NoLiMa-style — the question shares no content word with the needle; one latent hop.

"Yuki lives next to the Semper Opera House." / "Which character has been to Dresden?" The needle names a
landmark, the question its city; answering needs the hop landmark → city that any well-read reader knows,
so literal matching finds nothing. The answer is the (fabricated) character's name. Each row of
:data:`PAIRS` is one (landmark, city) pair with a distinct city; :data:`TEMPLATES` say how a character is
tied to the landmark (every template implies having been in the city).

Every cell records its needle–question lexical overlap in the grading params (``lexical_overlap``): the
fraction of the question's content tokens (English: words; Chinese: character bigrams; stopwords and
punctuation removed) that occur in the needle. The tests assert it is 0 for every (row, template, name).

Distractors (``n_distractors``, default 0 as in NoLiMa's base setting): the same template with other
characters and other landmarks (of other cities), at seeded uniform depths; naming one of them is a decoy,
and naming several characters without choosing is not an answer (:func:`haystacks.tasks.base.grade_one`:
the character the answer commits to, read in the sentence that names the asked city; an explanation that
names other characters is fine; several without choosing are ``hedged`` or ``decoy``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from haystacks.errors import SpecError
from haystacks.needles import NeedlePlan, PlannedNeedle, check_depth, needle_rng
from haystacks.reading import Mention
from haystacks.tasks.base import AnswerKey, Grade, Task, grade_one
from haystacks.tasks.magic import check_seed
from haystacks.tasks.registry import register

if TYPE_CHECKING:
    from haystacks.builder import CellSpec

__all__ = ["NAMES", "PAIRS", "QUESTIONS", "TEMPLATES", "AssociativeTask", "content_tokens", "lexical_overlap"]

#: (landmark, city) per language; cities are distinct, and no landmark names its city.
PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("the Semper Opera House", "Dresden"),
        ("the Eiffel Tower", "Paris"),
        ("the Colosseum", "Rome"),
        ("the Brandenburg Gate", "Berlin"),
        ("the Sagrada Familia", "Barcelona"),
        ("the Golden Gate Bridge", "San Francisco"),
        ("Big Ben", "London"),
        ("the Statue of Liberty", "New York"),
        ("the Kremlin", "Moscow"),
        ("the Parthenon", "Athens"),
        ("the Burj Khalifa", "Dubai"),
        ("the Petronas Towers", "Kuala Lumpur"),
        ("the Christ the Redeemer statue", "Rio de Janeiro"),
        ("the Forbidden City", "Beijing"),
        ("the Oriental Pearl Tower", "Shanghai"),
        ("the Charles Bridge", "Prague"),
        ("the Rijksmuseum", "Amsterdam"),
        ("the Alhambra", "Granada"),
        ("the Taj Mahal", "Agra"),
        ("Table Mountain", "Cape Town"),
        ("the CN Tower", "Toronto"),
        ("the Prado Museum", "Madrid"),
        ("the Uffizi Gallery", "Florence"),
        ("the Rialto Bridge", "Venice"),
        ("the Hermitage Museum", "Saint Petersburg"),
        ("the Atomium", "Brussels"),
        ("the Little Mermaid statue", "Copenhagen"),
        ("Schonbrunn Palace", "Vienna"),
        ("Marina Bay Sands", "Singapore"),
        ("the Senso-ji temple", "Tokyo"),
        ("the Fushimi Inari shrine", "Kyoto"),
        ("Gyeongbokgung Palace", "Seoul"),
        ("the Space Needle", "Seattle"),
        ("the Hollywood Sign", "Los Angeles"),
        ("the Potala Palace", "Lhasa"),
        ("the Terracotta Army", "Xi'an"),
    ),
    "zh": (
        ("森珀歌剧院", "德累斯顿"),
        ("埃菲尔铁塔", "巴黎"),
        ("斗兽场", "罗马"),
        ("勃兰登堡门", "柏林"),
        ("圣家堂", "巴塞罗那"),
        ("金门大桥", "旧金山"),
        ("大本钟", "伦敦"),
        ("自由女神像", "纽约"),
        ("克里姆林宫", "莫斯科"),
        ("帕特农神庙", "雅典"),
        ("哈利法塔", "迪拜"),
        ("国油双峰塔", "吉隆坡"),
        ("基督救世主像", "里约热内卢"),
        ("故宫", "北京"),
        ("东方明珠塔", "上海"),
        ("查理大桥", "布拉格"),
        ("阿尔罕布拉宫", "格拉纳达"),
        ("泰姬陵", "阿格拉"),
        ("桌山", "开普敦"),
        ("普拉多博物馆", "马德里"),
        ("乌菲兹美术馆", "佛罗伦萨"),
        ("里亚尔托桥", "威尼斯"),
        ("冬宫", "圣彼得堡"),
        ("原子球塔", "布鲁塞尔"),
        ("小美人鱼铜像", "哥本哈根"),
        ("美泉宫", "维也纳"),
        ("浅草寺", "东京"),
        ("景福宫", "首尔"),
        ("布达拉宫", "拉萨"),
        ("兵马俑", "西安"),
        ("黄鹤楼", "武汉"),
        ("鼓浪屿", "厦门"),
        ("宽窄巷子", "成都"),
        ("中山陵", "南京"),
        ("趵突泉", "济南"),
        ("太空针塔", "西雅图"),
    ),
}

#: Fabricated character names (no name contains another, none is a common word).
NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        *("Yukiko", "Maren", "Tobiah", "Anouk", "Soren", "Leilani", "Dariusz", "Ottilie", "Emeka"),
        *("Zofia", "Joaquin", "Idris", "Liesel", "Ravindra", "Calloway", "Nkechi", "Brisco", "Tamsin"),
        *("Evander", "Quilla", "Halvard", "Marisol", "Keziah", "Oswin"),
    ),
    "zh": (
        *("林雪野", "周墨白", "沈青禾", "陆知遥", "顾南星", "许清岚", "韩若溪", "叶听澜", "宋远舟"),
        *("温以宁", "江月白", "唐晚舟", "秦书砚", "孟夏禾", "苏沐阳", "蒋一帆", "罗听雨", "贺星河"),
        *("邵予安", "谢临川", "白露晞", "方怀瑾", "钟亦然", "杜若衡"),
    ),
}

#: How a character is tied to a landmark (each implies having been in its city).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "{name} lives next to {landmark}.",
        "{name} once sketched {landmark} on a napkin while sitting right in front of it.",
        "{name} spent a whole afternoon photographing {landmark} from across the street.",
        "{name} proposed to a partner at {landmark}.",
    ),
    "zh": (
        "{name}就住在{landmark}旁边。",
        "{name}曾坐在{landmark}正对面，在餐巾纸上把它画了下来。",
        "{name}花了整整一个下午，站在街对面给{landmark}拍照。",
        "{name}是在{landmark}前向恋人求的婚。",
    ),
}

QUESTIONS: dict[str, str] = {
    "en": "Which character has been to {city}?",
    "zh": "哪位人物去过{city}？",
}

_KEY = {"en": "the character who has been to {city}", "zh": "去过{city}的人物"}

#: Function words left out of the overlap measure (English words; Chinese strings cut out before bigrams).
STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        (
            *("a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "and", "or"),
            *("is", "are", "was", "were", "be", "been", "has", "have", "had", "do", "does", "did"),
            *("which", "who", "whom", "whose", "what", "when", "where", "why", "how"),
            *("this", "that", "these", "those", "it", "its", "there", "here"),
        )
    ),
    "zh": frozenset(("哪位", "哪个", "哪一位", "去过", "的", "了", "是", "在", "过", "谁", "吗", "呢")),
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def content_tokens(text: str, language: str) -> set[str]:
    """Content tokens of ``text``: English lower-cased words minus stopwords; Chinese character bigrams of
    each run of CJK characters after the stopwords are cut out (punctuation separates runs)."""
    folded = _fold(text)
    if language == "en":
        return {w for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", folded) if w not in STOPWORDS["en"]}
    for w in sorted(STOPWORDS["zh"], key=len, reverse=True):
        folded = folded.replace(w, " ")
    out: set[str] = set()
    for run in re.findall(r"[\u3400-\u9fff]+", folded):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            out.add(run)
    out.update(re.findall(r"[a-z0-9]+", folded))
    return out


def lexical_overlap(needle: str, question: str, language: str) -> float:
    """The fraction of the question's content tokens that occur in the needle (0.0 = no shared word)."""
    q = content_tokens(question, language)
    if not q:
        return 0.0
    n = content_tokens(needle, language)
    return round(len(q & n) / len(q), 4)


def _tables(language: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...]]:
    if language not in PAIRS:
        raise SpecError(f"unknown language {language!r}; choose from {', '.join(PAIRS)}")
    return PAIRS[language], NAMES[language], TEMPLATES[language]


_ALL_NAMES = sorted({n for names in NAMES.values() for n in names}, key=len, reverse=True)


def name_mentions(prepared: str) -> list[Mention]:
    """Every character name of the table (either language) a prepared answer states: a name that is no
    character of the cell is an invented answer."""
    out: list[Mention] = []
    for name in _ALL_NAMES:
        pat = re.escape(name.lower())
        if name.isascii():
            pat = rf"(?<![a-z]){pat}(?![a-z])"
        for m in re.finditer(pat, prepared):
            if all(m.end() <= x.start or m.start() >= x.end for x in out):
                out.append(Mention(m.start(), m.end(), name, frozenset({name})))
    return sorted(out, key=lambda x: x.start)


#: Words of the landmark and city tables: capitalized, but no character's name.
_PLACE_WORDS = frozenset(
    w.lower()
    for rows in PAIRS.values()
    for row in rows
    for part in row
    for w in re.findall(r"[A-Za-z]+", part)
)
_CAPITALIZED = re.compile(r"\b([A-Z][a-z]{2,})\b")
#: Capitalized words that open sentences and name nobody.
_OPENERS = frozenset(
    (
        *("based", "according", "probably", "maybe", "perhaps", "sorry", "unfortunately", "let", "looking"),
        *("since", "because", "after", "from", "none", "yes", "not", "character", "characters", "text"),
        *("answer", "final", "only", "both", "neither", "either", "nobody", "someone", "somebody", "person"),
        *("she", "her", "his", "him", "they", "them", "their", "you", "your", "our", "hmm", "well", "okay"),
    )
)


def _names_someone(answer: str, question: str) -> bool:
    """An English answer naming a person who is no character of the table ("Aidan has been to Granada.",
    someone from the transcript): a capitalized word that is neither in the question, nor a landmark's or
    city's, nor a sentence opener."""
    asked = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
    for m in _CAPITALIZED.finditer(answer):
        w = m.group(1).lower()
        if w not in asked and w not in _PLACE_WORDS and w not in STOPWORDS["en"] and w not in _OPENERS:
            return True
    return False


class AssociativeTask(Task):
    name = "associative"
    summary = "NoLiMa-style: the needle names a landmark, the question its city; answer: the character's name"
    metric = "recall"
    options = ("n_distractors",)

    def plan(self, spec: CellSpec) -> NeedlePlan:
        check_seed(spec.seed)
        pairs, names, templates = _tables(spec.language)
        depth = check_depth(spec.depth)
        if spec.depths is not None or spec.n_needles != 1:
            raise SpecError(f"the {self.name} task has one needle (no n_needles or explicit depths)")
        k = spec.n_distractors
        if k < 0:
            raise SpecError(f"n_distractors must be >= 0, got {k}")
        if k + 1 > min(len(pairs), len(names)):
            raise SpecError(f"at most {min(len(pairs), len(names)) - 1} distractors for the {self.name} task")
        seed, lang = spec.seed, spec.language
        rows = list(range(len(pairs)))
        needle_rng(seed, self.name, lang, "rows").shuffle(rows)
        people = list(names)
        needle_rng(seed, self.name, lang, "names").shuffle(people)
        template = needle_rng(seed, self.name, lang, "template").choice(templates)
        landmark, city = pairs[rows[0]]
        text = template.format(name=people[0], landmark=landmark)
        question = QUESTIONS[lang].format(city=city)
        key = _KEY[lang].format(city=city)
        needle = PlannedNeedle(kind="needle", text=text, key=key, answer=people[0], depth=depth)
        distractors = []
        for j in range(k):
            d_landmark, d_city = pairs[rows[j + 1]]
            r = needle_rng(seed, self.name, lang, f"distractor:{j}")
            distractors.append(
                PlannedNeedle(
                    kind="distractor",
                    text=template.format(name=people[j + 1], landmark=d_landmark),
                    key=_KEY[lang].format(city=d_city),
                    answer=people[j + 1],
                    depth=round(r.uniform(0.0, 100.0), 2),
                )
            )
        return NeedlePlan(
            needles=(needle,),
            distractors=tuple(distractors),
            change=None,
            question=question,
            answers=(people[0],),
            absent_key=None,
            clause_sep="",
            grading=(
                ("hop", f"{landmark} -> {city}"),
                ("lexical_overlap", lexical_overlap(text, question, lang)),
            ),
        )

    def grade(self, answer: str, key: AnswerKey) -> Grade:
        hop = str(key.param("hop") or "")
        city = hop.split(" -> ")[-1] if " -> " in hop else ""
        words = [re.escape(w.lower()) for w in (city, "has been", "去过", "visited", "answer", "答案") if w]
        g = grade_one(
            answer, key, phrases=re.compile("|".join(words)), mentions=name_mentions, unknown_invents=True
        )
        if g.outcome == "wrong_format" and _names_someone(answer, key.question):
            g = replace(g, outcome="wrong", firm=True)  # committed to someone who is no character
        # the cell's overlap travels with its grade into the record's score_detail
        return replace(g, extra={**g.extra, "lexical_overlap": key.param("lexical_overlap")})

    def cell_params(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"n_distractors": int(options.get("n_distractors") or 0)}


register(AssociativeTask())
