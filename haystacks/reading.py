"""The one reader of an answer: what it commits to, which value it states for which key, whether it refuses.

Every task's grader reads an answer through this module (pure functions, no I/O, no task knowledge). The
rules, each the way a careful human reader applies them:

* **Preparation** (:func:`prepare`): NFKC (full-width forms become half-width), lower case, typographic
  quotes and apostrophes become ASCII, hidden reasoning (``<think>...</think>``) is dropped, markdown is
  stripped: code fences, emphasis, headings, quotes, table pipes (a table row reads as ``a : b``), and list
  markers at the start of a line ("1.", "2)", "-", "*", "•"): a list index is never a value.
* **Numbers as people write them** (:func:`numbers`): digit groups with thousands separators ("4,729,183",
  "4 729 183", "4.729.183") are one number; a phone-style "472-9183" is one number; decimals with a word or
  letter multiplier ("1.2M", "12k", "12 thousand", "1.2 million", "40万", "1.2亿", "472万9183") are their
  value; Chinese and English number words are read positionally or digit by digit. **Approximations** ("about
  300", "~300", "roughly", "约300", "300左右", "300多") and **ranges** ("300-400", "300 to 400", "300至400")
  are marked approximate: an approximation never matches an exact value (a needle's digits, a computed
  sum); it is a candidate that does not commit. Ordinals ("3rd", "第3"), dates and counts of
  paragraphs/times/years/percentages are not values. A lone number word worth less than ten ("one", "一",
  "两") is *weak*: a value only where it is stated as one (followed by a measure word or unit, or the whole
  answer); the pronoun "one" and words such as 一些/一下/一样/唯一 are never values.
* **Commitment** (:func:`committed_values`): several different values for the same key are a hedge unless a
  conclusion ("so", "therefore", "the answer is", "final answer", 所以, 因此, 答案是, 综上) or a
  self-correction ("wait, actually", "correction", "no,", "no:", 不对, 应该是, 更正, 不：) stands between
  the earlier values and the last ones: then the values after it are the commitment. A conclusion word
  after its number ("314 crates in total, from 4 shipments of 37, ...") concludes that number, not those
  after it.
* **Binding** (:func:`bind`): a value belongs to the key the answer states it for, read by structure: the
  answer is cut into units (lines, sentences) and clauses; a unit or clause naming one key owns its values
  ("Oslo: 123", "123 (Oslo)", "Oslo → 123", a table row, a list item); keys and values in two blocks are
  paired in order ("the numbers for Oslo and Lima are 123 and 456, respectively", "奥斯陆和利马分别是123和
  456"); interleaved keys and values follow the clause's own order (key-then-value when it starts with a key,
  value-then-key when it starts with a value); a key stated without a value owns the values of the next unit
  that names no key ("Oslo:\\n**123**").
* **Refusals** (:func:`is_refusal`): the refusal vocabulary of real models in both languages, closed-book
  refusals included ("I'm not familiar with this model", "I don't have information", 我不了解, 没有相关信息);
  the grader decides with the whole answer (a refusal that states a value for the asked key is not a
  refusal).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Binding",
    "Mention",
    "bind",
    "commitment",
    "committed_values",
    "find_labels",
    "hedge_between",
    "hedges",
    "is_refusal",
    "markers",
    "numbers",
    "phrase_recall",
    "postfix_conclusions",
    "prepare",
    "units",
]

# ---------------------------------------------------------------------------------------------- prepare

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": " - ",
        "\u2212": "-",
        "\u00a0": " ",
        "\u3000": " ",
    }
)
_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(?:</\1>|\Z)", re.S)
_FENCE = re.compile(r"^\s*(?:```|~~~)[\w+-]*\s*$", re.M)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$", re.M)
_LIST_MARK = re.compile(
    r"^[ \t]*(?:[-*+•·●▪◦](?=\s)|\d{1,2}[.)](?=[ \t])|\d{1,2}、|\(\d{1,2}\)|[①-⑳])[ \t]*", re.M
)
_INLINE_INDEX = re.compile(
    r"(?:(?<=\s)|(?<=^))\(?\d{1,2}\)(?=\s)|[①-⑳]|(?<=[:：。！？;；])\s*\d{1,2}[.)、](?=\s|[^\d\s])"
)
_HEADING = re.compile(r"^[ \t]*(?:#{1,6}|>+)[ \t]*", re.M)
_EMPHASIS = re.compile(r"\*{1,3}|_{2,3}|~~")


def prepare(text: str) -> str:
    """Normalize an answer for reading (see the module docstring): NFKC, lower case, ASCII quotes, no hidden
    reasoning, no markdown. Lines are kept (a table row becomes ``cell : cell``).

    Args:
        text: The model's answer.

    Returns:
        The prepared text.
    """
    t = unicodedata.normalize("NFKC", text or "")
    t = _THINK.sub(" ", t)
    t = _FENCE.sub("", t).translate(_QUOTES)
    t = _TABLE_RULE.sub("", t)
    lines = []
    for line in t.split("\n"):
        s = line.strip()
        if s.startswith("|") or s.count("|") >= 2:
            cells = [c.strip() for c in s.strip("|").split("|")]
            line = " : ".join(c for c in cells if c)
        lines.append(line)
    t = "\n".join(lines)
    t = _HEADING.sub("", t)
    t = _LIST_MARK.sub("", t)
    t = _EMPHASIS.sub("", t)
    t = _INLINE_INDEX.sub(" ", t)
    return t.lower()


# ---------------------------------------------------------------------------------------------- numbers

_CN_DIGITS = {
    **dict.fromkeys("零〇○", 0),
    **dict.fromkeys("一壹", 1),
    **dict.fromkeys("二贰貳两兩", 2),
    **dict.fromkeys("三叁參", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆陸", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
}
_CN_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_SMALL) + "".join(_CN_BIG)

#: Words made of numeral characters that state no number (masked before numbers are read).
_CN_WORDS = (
    "一些", "一下", "一样", "一起", "一直", "一定", "一般", "一致", "一切", "一旦", "一边", "一点", "一再",
    "一向", "一同", "一齐", "一律", "一番", "一共", "一度", "一面", "一方面", "统一", "唯一", "万一",
    "之一", "进一步", "一会", "千万", "万分", "十分", "百分之", "不一", "一模一样", "第一时间", "一开始",
    "一旁", "同一", "单一", "万物", "一贯", "一行", "一手", "一口气", "三思", "两者", "一时", "一瞬",
    "一批", "这一", "那一", "每一", "某一", "任一", "其一", "哪一", "逐一", "一下子", "看一看", "一番",
    "没有一个", "没一个", "任何一个", "其中一个", "一位", "没有一位", "有一句", "一句话", "一段", "一篇",
    "一个", "一种", "一只", "一条", "一项", "一家", "一次", "一名", "一张",
    "一则", "一是", "二是", "一来", "一方", "十足", "万能", "百科", "千米", "一键", "一遍", "一眼",
)  # fmt: skip
_CN_WORD_RE = re.compile(
    "(?<![0-9零〇○一壹二贰貳两兩三叁參四肆五伍六陆陸七柒八捌九玖十拾百佰千仟万萬亿億])(?:"
    + "|".join(sorted(map(re.escape, _CN_WORDS), key=len, reverse=True))
    + ")(?![0-9零〇○壹二贰貳两兩三叁參四肆五伍六陆陸七柒八捌九玖十拾百佰千仟])"
)
_CN_ORDINAL = re.compile(rf"第\s*[0-9{CN_CHARS}]+")
#: A Chinese decimal part: 点 and digits, then at most one unit ("一点五亿", "三点二万", "零点四百万",
#: "两点五"); digits followed by 十/百/千 alone are a clock time ("三点五十分"), not a fraction.
CN_FRACTION = (
    rf"(?:点[0-9{''.join(_CN_DIGITS)}]+(?:[{''.join(_CN_SMALL)}]?[{''.join(_CN_BIG)}])?"
    rf"(?![0-9{''.join(_CN_DIGITS)}{''.join(_CN_SMALL)}]))"
)
_CN_RUN = re.compile(rf"(?:\d+(?:\.\d+)?)?[{CN_CHARS}][0-9{CN_CHARS}]*{CN_FRACTION}?")

_EN_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_EN_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
EN_WORD = "|".join(sorted([*_EN_UNITS, *_EN_TENS, *_EN_SCALES, "hundred"], key=len, reverse=True))
_EN_RUN = re.compile(rf"\b(?:{EN_WORD})(?:(?:[\s-]+|[\s-]*,[\s-]*|\s+and\s+)(?:{EN_WORD}))*\b")
#: "one" as a pronoun or in fixed phrases ("no one", "the one", "one of", "one can") is no number.
_EN_PRONOUN = re.compile(
    r"\b(?:no|any|some|every|each|the|this|that|which|another|other|only|right|correct|last|first|"
    r"latest|final)\s+one\b|\bone\s+(?:of|can|could|would|should|might|must|may|another|another's|"
    r"thing|way|another|day|time|more|moment|sec|second)\b|\bone's\b|\bones\b"
)
_EN_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b|#\s?\d+\b|\bno\.\s?\d+\b")
#: Dates, ages, counts of times/paragraphs/etc. and percentages: never values.
_NOT_VALUE = re.compile(
    r"(?:\d+\s*(?:年|月|日|号|岁|次|段|篇|页|行|句|%|％))"
    r"|(?:\b(?:in|since|until|by|before|after|of)\s+(?:1[89]|20)\d\d\b)"
    r"|(?:\b\d+\s*(?:times|years?|months?|days?|hours?|minutes?|paragraphs?|passages?|sentences?|lines?|"
    r"percent|%|digits?|characters?|words?)\b)",
)
_SCALE_SUFFIX = {
    "k": 1_000, "thousand": 1_000, "m": 1_000_000, "mn": 1_000_000, "million": 1_000_000,
    "b": 1_000_000_000, "bn": 1_000_000_000, "billion": 1_000_000_000,
}  # fmt: skip
_SCALED = re.compile(r"(?<![\d.])(\d+(?:[.,]\d+)?)\s?(thousand|million|billion|mn|bn|k|m|b)(?![a-z])")
_GROUPS = re.compile(r"\d+(?:(?:[ ,'._\u2009\u202f]|\s?-\s?)\d+)*")
_APPROX_BEFORE = re.compile(
    r"(?:\b(?:about|around|approximately|approx\.?|roughly|nearly|almost|circa|ca\.|some|over|under|"
    r"more\s+than|less\s+than|fewer\s+than|at\s+least|at\s+most|close\s+to|upwards\s+of|~|≈)|约|大约|"
    r"大概|差不多|将近|接近|近|超过|不到|不足|上下|~|≈)\s*(?:是|为|有|在|\bis\b|\bof\b|\bat\b)?\s*$"
)
_APPROX_AFTER = re.compile(r"^\s*(?:左右|上下|多|余|来|\+|or\s+so\b|ish\b|-ish\b)")
_RANGE_JOIN = re.compile(r"^\s*(?:-|~|to|至|到|或|-to-)\s*$")


@dataclass(frozen=True)
class Mention:
    """One number stated in a prepared answer.

    Attributes:
        start: Offset in the prepared text.
        end: End offset.
        value: The number as a digit string ("4729183"; a decimal keeps its point: "1.5").
        readings: Every digit string the mention can be read as (the value, and for separator-joined digit
            groups their joins, so "472 9183" also reads "4729183").
        approx: An approximation or a range end: never an exact match.
        weak: A number word below ten not stated as a value (the pronoun "one", 一 in a word).
        after: What follows the number: the next English word or the next Chinese character ("" when
            punctuation or the end follows); a grader tells a count ("4 cities", "两个") or a quantity
            ("55亿美金", "400,000 tokens") from a bare value by it.
    """

    start: int
    end: int
    value: str
    readings: frozenset[str]
    approx: bool = False
    weak: bool = False
    after: str = ""

    @property
    def counted(self) -> bool:
        """A count or a quantity: the number is followed by a noun or a measure word (not a bare value)."""
        if not self.after:
            return False
        if self.after[0].isascii():
            return self.after not in _FUNCTION_WORDS
        return self.after[0] in _MEASURE

    def reads(self, value: str) -> bool:
        """Whether this mention can be read as ``value`` (approximations included)."""
        return value in self.readings


def parse_chinese_number(run: str) -> str:
    """Convert one run of Chinese numerals (Arabic digits and a decimal point may be mixed in) to digits.

    Runs without units are read digit by digit ("二零二四" → "2024"); runs with units positionally
    ("四百七十二万九千一百八十三" → "4729183", "十五" → "15", "472万9183" → "4729183", "1.2亿" →
    "120000000"); a decimal point 点 scales the whole decimal by the unit after it ("一点五亿" →
    "150000000", "两点五" → "2.5").
    """
    if "点" in run:  # a decimal before its unit: 一点五亿 = 1.5亿, 三点二万 = 3.2万, 两点五 = 2.5
        whole, _, frac = run.partition("点")
        digits = frac.rstrip("".join(_CN_SMALL) + "".join(_CN_BIG))
        scale = 1
        for c in frac[len(digits) :]:
            scale *= _CN_SMALL.get(c) or _CN_BIG[c]
        frac = "".join(str(_CN_DIGITS.get(c, c)) for c in digits)
        return _fmt(float(f"{parse_chinese_number(whole)}.{frac}") * scale)
    if not any(c in _CN_SMALL or c in _CN_BIG for c in run):
        return "".join(str(_CN_DIGITS[c]) if c in _CN_DIGITS else c for c in run if c != ".")
    m = re.match(r"^(\d+\.\d+)([万萬亿億千])$", run)
    if m:
        scale = _CN_BIG.get(m.group(2)) or _CN_SMALL[m.group(2)]
        return _fmt(float(m.group(1)) * scale)
    total = section = number = 0
    seen = False
    for c in run:
        if c.isdigit() and c.isascii():
            number, seen = number * 10 + int(c), True
        elif c in _CN_DIGITS:
            number, seen = (number * 10 + _CN_DIGITS[c] if number else _CN_DIGITS[c]), True
        elif c in _CN_SMALL:
            section += (number if seen else 1) * _CN_SMALL[c]
            number, seen = 0, False
        elif c in _CN_BIG:
            scale = _CN_BIG[c]
            if scale == 100_000_000:
                total = (total + section + number) * scale
            else:
                total += (section + number) * scale
            section, number, seen = 0, 0, False
    return str(total + section + number)


def parse_english_number(run: str) -> str:
    """Convert a run of English number words to digits ("four seven two" → "472", "twelve thousand" →
    "12000"); a run of single-digit words is read digit by digit, anything else positionally."""
    words = [w for w in re.split(r"[\s\-,]+", run.lower()) if w and w != "and"]
    if len(words) > 1 and all(w in _EN_UNITS and _EN_UNITS[w] < 10 for w in words):
        return "".join(str(_EN_UNITS[w]) for w in words)
    total = current = 0
    for w in words:
        if w in _EN_UNITS:
            current += _EN_UNITS[w]
        elif w in _EN_TENS:
            current += _EN_TENS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _EN_SCALES[w]
            current = 0
    return str(total + current)


def _fmt(x: float) -> str:
    return str(round(x)) if abs(x - round(x)) < 1e-6 else f"{x:g}"


def _mask(text: str, spans: Sequence[tuple[int, int]], char: str = "□") -> str:
    out = list(text)
    for a, b in spans:
        for i in range(a, b):
            if out[i] != "\n":
                out[i] = char
    return "".join(out)


def _digit_groups(s: str) -> tuple[str, list[str]]:
    groups = re.findall(r"\d+", s)
    seps = re.findall(r"\D+", s)
    return ("-" if seps and all(x.strip() == "-" for x in seps) else "", groups)


def numbers(prepared: str) -> list[Mention]:
    """Every number a prepared answer states, in text order (see the module docstring for the rules).

    Args:
        prepared: Text from :func:`prepare`.

    Returns:
        The mentions, sorted by offset.
    """
    text = _CN_WORD_RE.sub(lambda m: "□" * len(m.group(0)), prepared)
    text = _mask(text, [m.span() for m in _CN_ORDINAL.finditer(text)])
    text = _mask(text, [m.span() for m in _EN_ORDINAL.finditer(text)])
    text = _mask(text, [m.span() for m in _NOT_VALUE.finditer(text)])
    out: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    def add(a: int, b: int, value: str, readings: set[str] | None = None, weak: bool = False) -> None:
        taken.append((a, b))
        out.append(Mention(a, b, value, frozenset(readings or {value}), False, weak))

    for m in _SCALED.finditer(text):
        num = float(m.group(1).replace(",", "."))
        add(m.start(), m.end(), _fmt(num * _SCALE_SUFFIX[m.group(2)]))
    for m in _CN_RUN.finditer(text):
        if not free(m.start(), m.end()):
            continue
        run = m.group(0)
        if not any(c in CN_CHARS for c in run):
            continue
        value = parse_chinese_number(run)
        weak = len(run) == 1 and run in _CN_DIGITS and not _unit_follows(text, m.end())
        add(m.start(), m.end(), value, weak=weak)
    pron_spans = [m.span() for m in _EN_PRONOUN.finditer(text)]
    for m in _EN_RUN.finditer(text):
        if not free(m.start(), m.end()):
            continue
        value = parse_english_number(m.group(0))
        single = " " not in m.group(0).strip() and "-" not in m.group(0)
        in_pronoun = any(a <= m.start() < b for a, b in pron_spans)
        weak = single and int(value) < 10 and (in_pronoun or not _unit_follows(text, m.end()))
        add(m.start(), m.end(), value, weak=weak)
    for m in _GROUPS.finditer(text):
        if not free(m.start(), m.end()):
            continue
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        prev = text[m.start() - 2] if m.start() >= 2 else ""
        hyphen_word = before == "-" and (prev.isalpha() or "\u3400" <= prev <= "\u9fff")  # "GPT-4", "鸬鹚-2"
        if hyphen_word or (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()):
            continue  # part of a word or a code ("20VC", "H100", "GPT-4" stays a name)
        _split_groups(text, m, add)
    out.sort(key=lambda x: x.start)
    return [dataclasses.replace(_approx(text, x, out), after=_after(text, x.end)) for x in out]


def _split_groups(text: str, m: re.Match[str], add: object) -> None:
    """One match of digit groups: one number (thousands grouping, phone style) or several (a list)."""
    s = m.group(0)
    dash, groups = _digit_groups(s)
    spans = [(m.start() + g.start(), m.start() + g.end()) for g in re.finditer(r"\d+", s)]
    if len(groups) == 1:
        add(m.start(), m.end(), groups[0])  # type: ignore[operator]
        return
    if not dash and 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
        add(m.start(), m.end(), "".join(groups))  # type: ignore[operator]
        return
    if len(groups) == 2 and "." in s and "," not in s and " " not in s.strip():
        add(m.start(), m.end(), f"{groups[0]}.{groups[1]}")  # type: ignore[operator]
        return
    if dash and len(groups) == 2 and len(groups[0]) == len(groups[1]):  # a range "300-400"
        for a, b in spans:
            add(a, b, text[a:b])  # type: ignore[operator]
        return
    if dash or (all(len(g) <= 4 for g in groups) and len(groups) <= 3):
        joined = "".join(groups)
        add(m.start(), m.end(), joined, {joined, *groups})  # type: ignore[operator]
        return
    for a, b in spans:
        add(a, b, text[a:b])  # type: ignore[operator]


#: Words that may follow a bare value ("4729183 is", "123 and 456", "it is 42 according to the text").
_FUNCTION_WORDS = frozenset(
    (
        *("is", "was", "are", "were", "be", "and", "or", "but", "for", "in", "on", "at", "to", "the", "a"),
        *("an", "of", "as", "which", "that", "it", "its", "so", "according", "from", "with", "per", "by"),
        *("i", "we", "you", "he", "she", "they", "this", "these", "then", "not", "no", "yes", "if", "while"),
        *("respectively", "also", "only", "exactly", "precisely", "though", "although", "however", "since"),
        *("because", "whereas", "versus", "vs", "both", "each", "all", "here", "there", "now", "again"),
        *("instead", "rather", "too", "either", "neither", "nor", "maybe", "perhaps", "possibly", "wait"),
        *("actually", "sorry", "correction", "let", "where", "when", "what", "who", "am", "has", "had"),
        *("have", "will", "would", "could", "should", "might", "may", "must", "can", "do", "does", "did"),
        *("my", "our", "your", "their", "his", "her", "note", "see", "mentioned", "given", "stated"),
        *("appears", "appear", "said", "listed", "found", "shown", "ok", "okay", "right", "correct"),
    )
)
#: Measure words and units after a Chinese number: a count or quantity (or a multiple, 倍), not a bare value.
_MEASURE = frozenset("个位种条张家名句段批箱次项件只座所台块元美人年月日号岁篇页行届期层道倍")
_NEXT = re.compile(r"[ \t]*([a-z]+|[\u3400-\u9fff])")


def _after(text: str, end: int) -> str:
    m = _NEXT.match(text, end)
    return m.group(1) if m else ""


_UNIT_AFTER = re.compile(r"^\s*(?:[个位批箱种张块件只名条项家台次]|[a-z]{3,})")


def _unit_follows(text: str, end: int) -> bool:
    return bool(_UNIT_AFTER.match(text[end : end + 20]))


def _approx(text: str, m: Mention, all_: Sequence[Mention]) -> Mention:
    before, after = text[max(0, m.start - 24) : m.start], text[m.end : m.end + 12]
    approx = bool(_APPROX_BEFORE.search(before) or _APPROX_AFTER.match(after))
    if not approx:
        for o in all_:  # a range: "300-400", "300 to 400", "between 300 and 400"
            if o is m:
                continue
            gap = text[o.end : m.start] if o.end <= m.start else text[m.end : o.start]
            if (o.end <= m.start or m.end <= o.start) and _RANGE_JOIN.match(gap):
                approx = True
                break
        if re.search(r"\bbetween\s*$", before) and re.match(r"^\s*and\s+[\d一-龥]", after):
            approx = True
        if re.search(r"\bbetween\s+[\d,.]+\s*(?:[a-z]+\s+)?and\s*$", before):
            approx = True  # the upper end of "between 1,463,000 and 1,464,000"
    if not approx:
        return m
    return Mention(m.start, m.end, m.value, m.readings, True, m.weak)


# ---------------------------------------------------------------------------------------------- markers

_CONCLUDE = re.compile(
    r"\b(?:so|therefore|thus|hence|overall|in\s+total|altogether|in\s+summary|in\s+conclusion|"
    r"to\s+summari[sz]e|final\s+answer|the\s+answer\s+is|answer\s*:|that\s+means|which\s+means|"
    r"that\s+gives|this\s+gives|gives|adds\s+up\s+to|comes\s+to|makes|the\s+result\s+is|result\s*:|total\s*:|summary\s*:|in\s+short)\b"
    r"|所以|因此|因而|于是|答案是|答案为|答案:|结论|综上|总之|最终|总结|也就是说|即为|结果是|合计|总计"
)
_CORRECT = re.compile(
    r"\b(?:wait|actually|correction|i\s+mean|sorry|scratch\s+that|let\s+me\s+(?:re-?check|correct|"
    r"recount|recalculate|double-check)|on\s+second\s+thought|i\s+was\s+wrong|i\s+made\s+(?:a|an)\s+"
    r"(?:mistake|error)|mistake|rather|recheck(?:ing)?|re-?counting|corrected|no\s*[,:;]|no\s+-(?=\s))"
    r"|不对|应该是|更正|纠正|其实|抱歉|说错|等等|重新(?:计算|数|核对|检查)|修正|不[,:;]|不是[,:;]"
)
_HEDGE = re.compile(
    r"\b(?:or|either|possibly|perhaps|maybe|might|may\s+(?:also\s+)?be|could\s+(?:also\s+)?be|probably|not\s+sure|unsure|"
    r"uncertain|alternatively|likely|i\s+think|i\s+believe|seems?)\b|或者|或是|还是|可能|也许|大概|不确定|"
    r"似乎|好像|要么|或"
)


#: Hedges that leave two candidates open ("either A or B", "A, or possibly B", "可能是A，也可能是B").
_HEDGE_STRONG = re.compile(
    r"\beither\b[^.?!\n]*\bor\b|\bor\s+(?:possibly|maybe|perhaps|else)\b|\bnot\s+(?:sure|certain)\b|"
    r"也可能|或者是|还是|不确定|要么"
)


def hedges(text: str) -> bool:
    """Whether an answer leaves two candidates open ("either A or B", "or possibly", 也可能, 不确定)."""
    return bool(_HEDGE_STRONG.search(prepare(text)))


#: A conclusion word standing after the number it concludes ("314 crates in total, from 4 shipments of
#: ...", "314 altogether."): the number is the commitment, what follows is its working. English only:
#: Chinese puts these words before their number (合计314箱, 总共314箱), where :data:`_CONCLUDE` reads them.
_CONCLUDE_AFTER = re.compile(
    r"(?<![\w.,])\d[\d,.]*(?:\s+[a-z]+){0,3}?\s+(?:in\s+total|in\s+all|altogether|all\s+told|overall)\b"
    r"(?!\s*(?:(?:is|are|was|were|gives?|comes?|makes?|equals?|of)\b|=))"
)


def postfix_conclusions(prepared: str) -> list[tuple[int, int]]:
    """Spans from a number to the conclusion word that follows it ("314 crates in total"): the number is
    what the answer concludes, not the numbers after the word."""
    return [m.span() for m in _CONCLUDE_AFTER.finditer(prepared)]


def markers(prepared: str) -> list[int]:
    """Offsets (ends) of every conclusion and self-correction marker: after one, what follows is what the
    answer commits to. A conclusion word after its number ("314 crates in total, from 4 shipments of 37,
    ...") is no marker: it concludes the number before it (:func:`postfix_conclusions`), not those after."""
    post = {e for _, e in postfix_conclusions(prepared)}
    return sorted(
        {m.end() for r in (_CONCLUDE, _CORRECT) for m in r.finditer(prepared) if m.end() not in post}
    )


def hedge_between(prepared: str, a: int, b: int) -> bool:
    """Whether the text between offsets ``a`` and ``b`` holds hedge words ("or possibly", 可能, 或者)."""
    return bool(_HEDGE.search(prepared[min(a, b) : max(a, b)]))


def commitment(prepared: str, offsets: Sequence[int]) -> int:
    """Index into ``offsets`` (sorted) from which candidates are committed to: those after the last
    conclusion or self-correction marker that has an earlier candidate before it (0: all of them)."""
    if len(offsets) < 2:
        return 0
    best = 0
    for p in markers(prepared):
        i = sum(1 for o in offsets if o < p)
        if 0 < i < len(offsets):
            best = max(best, i)
    return best


def committed_values(prepared: str, mentions: Sequence[Mention]) -> list[Mention]:
    """The mentions an answer commits to for one key: those after its last conclusion/correction that
    follows an earlier mention; one distinct value then is a commitment, several are a hedge."""
    ms = sorted(mentions, key=lambda m: m.start)
    return ms[commitment(prepared, [m.start for m in ms]) :]


# ---------------------------------------------------------------------------------------------- units

_UNIT_SPLIT = re.compile(r"\n+|(?<=[.!?])\s+(?=\S)|(?<=[。！？；;])")
_CLAUSE_SPLIT = re.compile(r"(?:,|，|、|;|；|\band\b|\bwhile\b|\bwhereas\b|\bbut\b|以及|而|但|和|与|及)")


def units(prepared: str) -> list[tuple[int, int]]:
    """Spans of the answer's units: lines, sentences within a line, and the parts a self-correction
    separates ("第二个是X——不对，X是第三个")."""
    out: list[tuple[int, int]] = []
    pos = 0
    cuts = sorted(
        [(m.start(), m.end()) for m in _UNIT_SPLIT.finditer(prepared)]
        + [(m.start(), m.start()) for m in _CORRECT.finditer(prepared)]
    )
    for start, end in cuts:
        if start < pos:
            continue
        if start > pos:
            out.append((pos, start))
        pos = end
    if pos < len(prepared):
        out.append((pos, len(prepared)))
    return [(a, b) for a, b in out if prepared[a:b].strip()]


# ---------------------------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class Label:
    """A key named in the answer: which key, and where."""

    start: int
    end: int
    key: str


def _alias_pattern(alias: str) -> str:
    a = re.escape(unicodedata.normalize("NFKC", alias).lower().translate(_QUOTES))
    a = a.replace(r"\ ", r"[\s-]*").replace(r"\-", r"[\s-]*")
    head = r"(?<![a-z0-9])" if re.match(r"[a-z0-9]", alias.lower()) else ""
    tail = r"(?![a-z0-9])" if re.search(r"[a-z0-9]$", alias.lower()) else ""
    return head + a + tail


def find_labels(prepared: str, keys: Mapping[str, Sequence[str]]) -> list[Label]:
    """Where the answer names each key (``keys``: key id → its aliases); longest names first, no overlaps."""
    found: list[Label] = []
    pats = sorted(
        ((alias, k) for k, aliases in keys.items() for alias in aliases if alias),
        key=lambda x: len(x[0]),
        reverse=True,
    )
    for alias, k in pats:
        for m in re.finditer(_alias_pattern(alias), prepared):
            if all(m.end() <= x.start or m.start() >= x.end for x in found):
                found.append(Label(m.start(), m.end(), k))
    return sorted(found, key=lambda x: x.start)


# ---------------------------------------------------------------------------------------------- binding

_RESPECTIVELY = re.compile(r"\brespectively\b|\bin\s+(?:that|the\s+same)\s+order\b|分别|依次|各自")


@dataclass
class Binding:
    """Values bound to keys.

    Attributes:
        by_key: Key id → the mentions stated for it, in text order.
        unbound: Mentions stated where the answer names no key.
        labels: Every key mention.
    """

    by_key: dict[str, list[Mention]] = field(default_factory=dict)
    unbound: list[Mention] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)

    def add(self, key: str, m: Mention) -> None:
        self.by_key.setdefault(key, []).append(m)


def bind(prepared: str, mentions: Sequence[Mention], keys: Mapping[str, Sequence[str]]) -> Binding:
    """Bind every value mention to the key it is stated for (see the module docstring).

    Args:
        prepared: Text from :func:`prepare`.
        mentions: Values to bind (numbers, names, codes), with offsets into ``prepared``.
        keys: Key id → the names the answer may call it by.

    Returns:
        The :class:`Binding`.
    """
    labels = find_labels(prepared, keys)
    # a digit inside a key's name ("Qingluan-7") is part of the name, not a value
    mentions = [m for m in mentions if not any(x.start <= m.start < x.end for x in labels)]
    out = Binding(labels=labels)
    if not labels:
        out.unbound = sorted(mentions, key=lambda m: m.start)
        return out
    pending: str | None = None  # a key stated without a value: the next unit's unkeyed values are its
    orphans: list[Mention] = []  # values of a unit naming no key, waiting for the next unit's lone key
    last_single: str | None = None  # the key of the last unit naming exactly one
    for a, b in units(prepared):
        ls = [x for x in labels if a <= x.start < b]
        ms = [m for m in mentions if a <= m.start < b]
        if not ls:
            if pending is not None:
                for m in ms:
                    out.add(pending, m)
                if ms:
                    pending = None
            elif last_single is not None and ms and _CORRECT.search(prepared, a, b):
                for m in ms:  # "Dakar's is 7764246... actually, it's 7761246": the same key, corrected
                    out.add(last_single, m)
            else:
                orphans.extend(ms)
            continue
        keys_here = {x.key for x in ls}
        last_single = next(iter(keys_here)) if len(keys_here) == 1 else None
        if orphans:
            distinct = {x.key for x in ls}
            if len(distinct) == 1 and not ms:
                for m in orphans:
                    out.add(ls[0].key, m)
            else:
                out.unbound.extend(orphans)
            orphans = []
        if not ms:
            pending = ls[-1].key if len({x.key for x in ls}) == 1 else None
            continue
        pending = None
        _bind_unit(prepared, a, b, ls, ms, out)
    out.unbound.extend(orphans)
    for k in out.by_key:
        out.by_key[k].sort(key=lambda m: m.start)
    out.unbound.sort(key=lambda m: m.start)
    return out


_OR_JOIN = re.compile(r"^[\s,(（]*(?:or(?:\s+(?:possibly|maybe|perhaps))?|或|或者|或是|也可能是?)[\s:：]*$")


def _bind_unit(text: str, a: int, b: int, ls: list[Label], ms: list[Mention], out: Binding) -> None:
    """Bind the values of one unit (a line or sentence) naming several keys, by the runs they form.

    Keys and values alternate in runs ("Oslo: 1, Lima: 2" is K V K V; "Oslo and Lima are 1 and 2" is K K
    V V). The unit's first token sets its reading: key-first, each value run belongs to the key run before
    it; value-first, to the key run after it. A run of n keys meeting a run of n values (or any runs around
    "respectively"/分别) pairs them in order, a value joined to the one before by "or" sharing its slot (a
    hedge for that key); a single key takes all its values; otherwise each value takes the nearest key on
    its side.
    """
    tokens: list[tuple[int, str, Any]] = sorted(
        [(x.start, "k", x) for x in ls] + [(m.start, "v", m) for m in ms], key=lambda t: t[0]
    )
    runs: list[tuple[str, list[Any]]] = []
    for _, kind, obj in tokens:
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(obj)
        else:
            runs.append((kind, [obj]))
    key_first = runs[0][0] == "k"
    respectively = bool(_RESPECTIVELY.search(text, a, b))
    i = 0
    while i < len(runs):
        kind, items = runs[i]
        if kind == "v":
            partner = (
                runs[i - 1][1] if key_first and i > 0 else (runs[i + 1][1] if i + 1 < len(runs) else None)
            )
            if partner is None:  # value-first, the last run: its values take the nearest key before them
                partner = runs[i - 1][1][-1:]
            _pair(text, partner, items, respectively, key_first, out)
        i += 1


def _pair(
    text: str, keys: list[Label], values: list[Mention], respectively: bool, key_first: bool, out: Binding
) -> None:
    names = list(dict.fromkeys(x.key for x in keys))
    if not names:
        out.unbound.extend(values)
        return
    if len(names) == 1:
        for m in values:
            out.add(names[0], m)
        return
    slots: list[list[Mention]] = []
    for m in values:
        if slots and _OR_JOIN.match(text[slots[-1][-1].end : m.start]):
            slots[-1].append(m)
        else:
            slots.append([m])
    if len(slots) == len(names) or respectively:
        for k, slot in zip(names, slots, strict=False):
            for m in slot:
                out.add(k, m)
        for slot in slots[len(names) :]:
            out.unbound.extend(slot)
        return
    near = keys[-1].key if key_first else keys[0].key
    for m in values:
        out.add(near, m)


# ---------------------------------------------------------------------------------------------- refusals

_REFUSE_EN = re.compile(
    r"\b(?:(?:is|are|was|were|isn't|aren't|wasn't|weren't)\s+)?not\s+(?:explicitly\s+|directly\s+|"
    r"actually\s+)?(?:mentioned|stated|given|provided|specified|found|included|present|available|listed|"
    r"contained|disclosed|defined|indicated|recorded|shown|there|in\s+the\s+(?:text|context|document|"
    r"passage|transcript|article))"
    r"|\bno\s+(?:mention|information|info|such|magic\s+number|number|data|details?|record|reference|"
    r"indication|evidence|value|answer|relevant|specific|explicit|known|knowledge)"
    r"|\b(?:doesn't|does\s+not|didn't|did\s+not|don't|do\s+not|can't|cannot|can\s+not|couldn't|"
    r"could\s+not|wasn't\s+able\s+to|was\s+unable\s+to|am\s+unable\s+to|unable\s+to|won't\s+be\s+able\s+to|"
    r"fails?\s+to|not\s+able\s+to)\s+(?:seem\s+to\s+)?(?:actually\s+)?(?:know|find|say|determine|locate|"
    r"tell|mention|contain|provide|answer|include|specify|state|give|list|identify|see|recall|"
    r"recogni[sz]e|confirm|verify|spot|detect|appear|show|offer|reference|discuss)"
    r"|\b(?:i'm|i\s+am|i'm\s+not|am\s+not)\s+(?:not\s+)?(?:familiar|aware|sure|certain)\b"
    r"|\bnot\s+(?:familiar|aware)\s+(?:with|of)\b|\bunfamiliar\b"
    r"|\bthere\s+(?:is|are|was|were)\s+no\b|\bthere's\s+no\b|\bnowhere\b|\bunknown\b|\bn/a\b"
    r"|\bnone\s*(?:\.|$|,|;|-)|^\s*none\b|\bnot\s+(?:in|part\s+of)\s+(?:the|this)\b"
    r"|\b(?:no|without)\s+(?:access|way)\s+to\b|\bbeyond\s+my\s+knowledge\b|\bi\s+have\s+no\b"
    r"|\bnot\s+(?:something|anything)\s+i\b|\bdoes\s+not\s+exist\b|\bdoesn't\s+exist\b"
    r"|\bthe\s+text\s+does\s+not\s+say\b|\bbut\s+not\s+(?:for\s+)?[a-z]+'s\b|\bbut\s+not\s+for\b"
    r"|\bnot\s+(?:able\s+to\s+)?(?:be\s+)?(?:found|determined)\b|\bcannot\s+be\s+(?:found|determined)\b"
    r"|\bi\s+(?:don't|do\s+not)\s+have\b|\bcan't\s+help\b|\bno\s+(?:idea|clue)\b|\bbut\s+not\b"
    r"|\bfound\s+nothing\b|\bnothing\s+(?:about|on|for)\b"
    r"|\b(?:no\s+one|nobody|nothing|nowhere)\b[^.?!\n]{0,40}\b(?:mention|give|state|say|provide|list|contain)"
    r"|\bthere\s+(?:isn't|is\s+not|aren't|are\s+not|wasn't|was\s+not)\s+(?:a|an|any)\b|\b(?:none|neither)\s+of\b"
    r"|\bno\s+(?:one|character|crate|code|label|shipment)s?\s+(?:is|was|has|had)\b"
)
_REFUSE_ZH_RE = re.compile(
    r"(?:没有|没|未|并未|并没有|不曾|无法|不能|没能|未能)(?:[^，。,.!?！？]{0,14}?)(?:数字|信息|数据|答案|记载|"
    r"记录|说明|提到|提及|给出|出现|标签|密码|内容|资料|描述|相关|找到|确定|回答|得知|提供|看到|发现)"
    r"|没有[^，。,.!?！？]{1,10}的(?:[。.!！]|$)|(?:没有|没)(?:一位|任何|人)"
)
_REFUSE_ZH = (
    "不知道", "不清楚", "不确定", "没有提到", "没提到", "未提到", "未提及", "没有提及", "没提及", "没有涉及",
    "未涉及", "没有找到", "没找到", "未找到", "找不到", "无法找到", "无法确定", "无法回答", "无法得知",
    "无从得知", "无从", "没有给出", "未给出", "没给出", "没有说明", "未说明", "没有相关", "没有关于",
    "并没有",
    "并未", "不存在", "没有这个", "没有此", "文中没有", "文本中没有", "原文没有", "无相关", "无此", "不了解",
    "不熟悉", "没听说", "没有听说", "未听说", "没有该", "没有这", "未能找到", "未能", "无法提供", "查不到",
    "没有具体", "没有明确", "未明确", "没有记载", "未记载", "没有出现", "未出现", "没出现", "没有列出",
    "未列出", "没有信息", "缺乏", "不包含", "没有包含", "未包含", "无法识别", "无法判断", "没有写", "没写",
    "不掌握", "没有掌握", "无法知道", "不得而知", "没有资料", "没有数据", "未知", "无可奉告",
)  # fmt: skip


#: "The text never names X directly" sets up a hop, and "没有提到，但是在文中提到" is contradicted at once:
#: neither declines.
_NOT_DIRECTLY = re.compile(
    r"(?:文中|文本中|原文)?(?:没有|没|未|并未|并没有)直接[^,，。.;；]*"
    r"|(?:文中)?(?:没有|未)提到[,，]?但是?在?(?:文中)?提到"
)


def is_refusal(text: str) -> bool:
    """Whether the answer declines: says the text (or its knowledge) does not hold the fact, in any of the
    wordings real models use in Chinese or English (typographic apostrophes read as ASCII ones).

    A grader decides with the whole answer: a refusal that also commits to a value for the asked key is
    graded on that value.

    Args:
        text: The model's answer (raw or prepared).

    Returns:
        True when the answer holds a refusal.
    """
    t = prepare(text)
    compact = _NOT_DIRECTLY.sub("", re.sub(r"\s+", "", t))
    if any(p in compact for p in _REFUSE_ZH):
        return True
    if _REFUSE_ZH_RE.search(compact):
        return True
    # the whole answer a bare "no" (English "none", "unknown" are refusals of _REFUSE_EN wherever they stand)
    if compact.strip("。.!！") in {"无", "没有", "否", "不知", "n/a", "无答案"}:
        return True
    return bool(_REFUSE_EN.search(t))


# ---------------------------------------------------------------------------------------------- paraphrase

_EN_STOP = frozenset(
    (
        *("a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "and", "or", "its"),
        *("is", "are", "was", "were", "be", "been", "has", "have", "had", "it", "that", "this", "their"),
        *("his", "her", "they", "he", "she", "into", "onto", "up", "out", "quietly", "suddenly", "secretly"),
    )
)
#: Function characters and measure words left out of a Chinese phrase's content (a dropped 一只 or 的
#: keeps a paraphrase close).
_ZH_STOP = frozenset("的了在是着把被一只个头条块群把正地得将也都就又很")


_SYNONYMS = {
    "beneath": "under", "underneath": "under", "below": "under",
    "practicing": "practis", "practising": "practis",
    "practice": "practis", "practise": "practis", "practiced": "practis", "practised": "practis",
    "having": "eat", "have": "eat", "had": "eat", "eating": "eat", "ate": "eat",
}  # fmt: skip
_ZH_SYNONYMS = (("下面", "下"), ("底下", "下"), ("下方", "下"), ("里面", "里"), ("颜色", "色"))
#: Colours: an answer naming another colour than the phrase's contradicts it ("red flowerpot" for "blue").
_COLOURS_EN = frozenset(
    [
        "red",
        "blue",
        "green",
        "yellow",
        "black",
        "white",
        "purple",
        "orange",
        "pink",
        "brown",
        "grey",
        "gray",
        "gold",
        "silver",
    ]
)
_COLOURS_ZH = frozenset("红蓝绿黄黑白紫橙粉棕灰金银")


def _stem(w: str) -> str:
    w = _SYNONYMS.get(w, w)
    for suf in ("ing", "ed", "es", "s", "ly"):
        if len(w) > len(suf) + 2 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def _zh_content(t: str) -> list[str]:
    """The content characters of each Chinese run (function characters and measure words dropped)."""
    for a, b in _ZH_SYNONYMS:
        t = t.replace(a, b)
    return ["".join(c for c in run if c not in _ZH_STOP) for run in re.findall(r"[\u3400-\u9fff]+", t)]


def content(text: str, pairs: bool = True) -> set[str]:
    """Content tokens of a phrase: English words (stemmed, synonyms folded, no stopwords; with ``pairs``, two
    adjacent words also as one, "flower pot" = "flowerpot") and Chinese characters (with ``pairs``, and
    character pairs; function characters and measure words dropped)."""
    t = prepare(text)
    words = [w for w in re.findall(r"[a-z]+", t) if w not in _EN_STOP]
    out = {_stem(w) for w in words}
    for run in _zh_content(t):
        out.update(run)
        if pairs:
            out.update("".join(p) for p in itertools.pairwise(run))
    if pairs:
        out.update(_stem(a + b) for a, b in itertools.pairwise(words))
    out.update(re.findall(r"\d+", t))
    return out


def _want(phrase: str) -> tuple[set[str], set[str], set[str]]:
    """The phrase's English words, Chinese characters and Chinese character pairs (what must be stated)."""
    t = prepare(phrase)
    words = {_stem(w) for w in re.findall(r"[a-z]+", t) if w not in _EN_STOP} | set(re.findall(r"\d+", t))
    chars: set[str] = set()
    pairs: set[str] = set()
    for run in _zh_content(t):
        chars.update(run)
        pairs.update("".join(p) for p in itertools.pairwise(run))
    return words, chars, pairs


def phrase_recall(answer: str, phrase: str) -> float:
    """How much of a phrase the answer states, 0..1: the share of its English content words, and for
    Chinese the mean of the shares of its content characters and of its character pairs (a dropped
    measure word keeps a paraphrase close, another word in the same place does not). An answer that names
    another colour than the phrase's states none of it."""
    words, chars, pairs = _want(phrase)
    have = content(answer)
    t = prepare(answer)
    said = set(re.findall(r"[a-z]+", t))
    if words & _COLOURS_EN and (said & _COLOURS_EN) - words and not words & _COLOURS_EN & said:
        return 0.0
    zh_colours = chars & _COLOURS_ZH
    if zh_colours and not zh_colours & set(t) and set(t) & (_COLOURS_ZH - zh_colours):
        return 0.0
    parts: list[float] = []
    if words:
        parts.append(len(words & have) / len(words))
    if chars:
        zh = len(chars & have) / len(chars)
        parts.append((zh + len(pairs & have) / len(pairs)) / 2 if pairs else zh)
    return max(parts, default=0.0)
