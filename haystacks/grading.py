"""Answer matching: the pure text functions every task's grader uses (no I/O, no task knowledge).

Normalization first, then matching:

* NFKC folding (full-width digits/letters/punctuation become half-width), lower case;
* Chinese numerals become Arabic digits, both positional ("四百七十二万九千一百八十三") and read
  digit by digit ("四七二九一八三"), including 〇/零, 两 and the financial forms (壹贰叁...);
* English number words become digits, positional ("four million seven hundred ...") and digit by digit
  ("four seven two nine ...");
* a number written with group separators ("4,729,183", "4 729 183", "472-9183") is read as one number;
* a numeric answer must match a *whole* number: "4729183" is not found in "47291835".

Binding (:func:`bind_numbers`): a value counts for a key only when the answer states it *under that key*.
The answer is read in the convention it uses: "上海：123，北京：456" (key, then value) or "123 (Oslo), 456
(Lima)" (value, then key), decided by whether a key or a number comes first.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: Bumped whenever matching changes a grade (part of every run's identity; each task also has a version).
GRADING_VERSION = 2

__all__ = [
    "GRADING_VERSION",
    "BoundNumbers",
    "bind_numbers",
    "contains_answer",
    "fold",
    "is_abstention",
    "normalize",
    "number_candidates",
    "number_positions",
    "numbers_in_order",
    "parse_chinese_number",
    "parse_english_number",
    "quotes_sentence",
]

# ---------------------------------------------------------------------------------------------- numerals

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "貳": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "叁": 3,
    "參": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "陸": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_CN_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_SMALL_UNITS) + "".join(_CN_BIG_UNITS)
_CN_RUN = re.compile(f"[0-9{_CN_CHARS}]*[{_CN_CHARS}][0-9{_CN_CHARS}]*")


def parse_chinese_number(run: str) -> str:
    """Convert one run of Chinese numerals (Arabic digits may be mixed in) to a digit string.

    Runs without units are read digit by digit ("二零二四" → "2024"); runs with units positionally
    ("四百七十二万九千一百八十三" → "4729183", "十五" → "15", "472万9183" → "4729183").

    Args:
        run: Characters from the Chinese numeral set and ASCII digits only.

    Returns:
        The number as ASCII digits.
    """
    if not any(c in _CN_SMALL_UNITS or c in _CN_BIG_UNITS for c in run):
        return "".join(str(_CN_DIGITS[c]) if c in _CN_DIGITS else c for c in run)
    total = 0  # completed 亿/万 sections
    section = 0  # value below the current 万 section
    number = 0  # digits read since the last unit
    seen_digit = False
    for c in run:
        if c.isdigit() and c.isascii():
            number = number * 10 + int(c)
            seen_digit = True
        elif c in _CN_DIGITS:
            number = number * 10 + _CN_DIGITS[c] if number else _CN_DIGITS[c]
            seen_digit = True
        elif c in _CN_SMALL_UNITS:
            if not seen_digit:
                number = 1  # "十五" = 15
            section += number * _CN_SMALL_UNITS[c]
            number, seen_digit = 0, False
        else:  # big unit
            scale = _CN_BIG_UNITS[c]
            if scale == 100_000_000:
                total = (total + section + number) * scale
            else:
                total += (section + number) * scale
            section, number, seen_digit = 0, 0, False
    return str(total + section + number)


_EN_UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_EN_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_EN_WORD = "|".join(sorted([*_EN_UNITS, *_EN_TENS, *_EN_SCALES, "hundred"], key=len, reverse=True))
_EN_RUN = re.compile(rf"\b(?:{_EN_WORD})(?:(?:[\s\-]+|[\s\-]*,[\s\-]*|\s+and\s+)(?:{_EN_WORD}))*\b")


def parse_english_number(run: str) -> str:
    """Convert a run of English number words to a digit string.

    A run made only of single-digit words of length > 1 is read digit by digit ("four seven two" → "472");
    otherwise positionally ("four million seven hundred twenty-nine thousand one hundred eighty-three" →
    "4729183").

    Args:
        run: A match of number words separated by spaces, hyphens, commas or "and".

    Returns:
        The number as ASCII digits.
    """
    words = [w for w in re.split(r"[\s\-,]+", run.lower()) if w and w != "and"]
    if len(words) > 1 and all(w in _EN_UNITS and _EN_UNITS[w] < 10 for w in words):
        return "".join(str(_EN_UNITS[w]) for w in words)
    total = 0
    current = 0
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


def _numerals_to_digits(text: str) -> str:
    """Replace Chinese and English number expressions in (NFKC, lower-cased) text by ASCII digits."""
    text = _CN_RUN.sub(lambda m: parse_chinese_number(m.group(0)), text)
    # English runs are separated from neighbouring digits by a space so they stay distinct numbers.
    return _EN_RUN.sub(lambda m: f" {parse_english_number(m.group(0))} ", text)


def fold(text: str) -> str:
    """NFKC fold and lower-case; full-width digits, letters and punctuation become half-width."""
    return unicodedata.normalize("NFKC", text).lower()


# A number: digit groups joined by single separators (thousands commas, spaces, dashes, dots, apostrophes).
_GROUPED = re.compile(r"\d+(?:[ ,'\u2009\u202f.\-_]\d+)*")


def number_candidates(text: str) -> set[str]:
    """All whole numbers an answer can be read as, after numeral normalization.

    Every maximal digit run is a candidate, and so is every contiguous sequence of separator-joined digit
    groups joined together ("4,729,183" gives "4", "729", "183", "4729", "729183", "4729183").

    Args:
        text: Raw answer text.

    Returns:
        The set of digit strings.
    """
    folded = _numerals_to_digits(fold(text))
    out: set[str] = set()
    for m in _GROUPED.finditer(folded):
        groups = re.findall(r"\d+", m.group(0))
        for i in range(len(groups)):
            for j in range(i + 1, len(groups) + 1):
                out.add("".join(groups[i:j]))
    return out


def normalize(text: str) -> str:
    """Normalize text for matching: NFKC, lower case, numerals to digits, no spaces/punctuation/symbols.

    Args:
        text: Any text.

    Returns:
        The normalized string ("４,７２９,１８３。" → "4729183", "四七二九一八三" → "4729183").
    """
    folded = _numerals_to_digits(fold(text))
    return "".join(c for c in folded if unicodedata.category(c)[0] not in "PZSC")


def contains_answer(answer: str, expected: str) -> bool:
    """Whether ``answer`` states ``expected``.

    A numeric ``expected`` must equal a whole number of the answer (never a substring of a longer number);
    any other ``expected`` must appear in the normalized answer.

    Args:
        answer: The model's answer.
        expected: The expected fact (e.g. "4729183" or "蓝色的雨伞").

    Returns:
        True when found.
    """
    exp = normalize(expected)
    if not exp:
        return False
    if exp.isdigit():
        return exp in number_candidates(answer)
    return exp in normalize(answer)


_ABSTAIN_ZH = (
    "不知道",
    "不清楚",
    "不确定",
    "没有提到",
    "没提到",
    "未提到",
    "未提及",
    "没有提及",
    "没有涉及",
    "未涉及",
    "没有找到",
    "没找到",
    "未找到",
    "找不到",
    "无法找到",
    "无法确定",
    "无法回答",
    "无法得知",
    "无从得知",
    "没有给出",
    "未给出",
    "没有说明",
    "未说明",
    "没有相关",
    "没有关于",
    "并没有",
    "并未",
    "不存在",
    "没有这个",
    "没有此",
    "文中没有",
    "文本中没有",
    "原文没有",
    "无相关",
    "无此",
)
_ABSTAIN_EN = re.compile(
    r"\b(?:not\s+(?:mentioned|stated|given|provided|specified|found|included|present|available|known|"
    r"in\s+the\s+(?:text|context|document|passage))|no\s+(?:mention|information|such|magic\s+number|"
    r"number\s+(?:is|was)\s+(?:given|mentioned|provided))|(?:don'?t|do\s+not|doesn'?t|does\s+not|"
    r"cannot|can'?t|could\s+not|couldn'?t|unable\s+to)\s+(?:know|find|say|determine|locate|tell|mention|"
    r"contain|provide|answer)|unknown|none|n/a|there\s+is\s+no)\b"
)


def is_abstention(answer: str) -> bool:
    """Whether the answer says the fact is not in the text (Chinese or English phrasing).

    Args:
        answer: The model's answer.

    Returns:
        True when an abstention phrase is present.
    """
    folded = fold(answer)
    compact = re.sub(r"\s+", "", folded)
    if any(p in compact for p in _ABSTAIN_ZH):
        return True
    return bool(_ABSTAIN_EN.search(folded)) or compact in {"无", "没有", "否"}


def quotes_sentence(answer: str, sentence: str, min_fraction: float = 0.5, min_chars: int = 6) -> bool:
    a, s = normalize(answer), normalize(sentence)
    if not a or not s:
        return False
    m = difflib.SequenceMatcher(None, a, s, autojunk=False).find_longest_match(0, len(a), 0, len(s))
    return m.size >= min_chars and m.size >= min_fraction * len(s)


def _group_candidates(match: str) -> set[str]:
    groups = re.findall(r"\d+", match)
    return {"".join(groups[i:j]) for i in range(len(groups)) for j in range(i + 1, len(groups) + 1)}


@dataclass(frozen=True)
class BoundNumbers:
    """The numbers an answer states, each attached to the key it is stated under.

    Attributes:
        by_label: Label → the numbers (all readings, see :func:`number_candidates`) stated under it.
        unbound: Numbers stated where the answer names no key at all.
        labelled: Whether the answer names any of the labels.
    """

    by_label: dict[str, frozenset[str]]
    unbound: frozenset[str]
    labelled: bool

    def stated(self) -> frozenset[str]:
        """Every number the answer states, bound or not."""
        out = set(self.unbound)
        for v in self.by_label.values():
            out |= v
        return frozenset(out)


def bind_numbers(answer: str, labels: Sequence[str]) -> BoundNumbers:
    """Attach each number of an answer to the key (label) it is stated under.

    Labels are the bare keys of the facts (city names such as ``"上海"`` / ``"Oslo"``). When the answer names
    none of them, every number is *unbound* (a bare "4729183" answers a one-key question). Otherwise the
    answer's convention is read from what comes first: a label before the first number means "key, then
    value" (each number belongs to the nearest label before it); a number first means "value, then key"
    (the nearest label after it). A number with no label on its side takes the nearest on the other side.

    Args:
        answer: The model's answer.
        labels: Every label that could be named (asked keys and distractor keys alike).

    Returns:
        The :class:`BoundNumbers`.
    """
    text = _numerals_to_digits(fold(answer))
    mentions: list[tuple[int, str]] = []
    for label in dict.fromkeys(lb for lb in labels if lb):
        needle = fold(label)
        for m in re.finditer(re.escape(needle), text):
            mentions.append((m.start(), label))
    mentions.sort()
    numbers = [(m.start(), _group_candidates(m.group(0))) for m in _GROUPED.finditer(text)]
    if not mentions:
        unbound: set[str] = set()
        for _, c in numbers:
            unbound |= c
        return BoundNumbers({}, frozenset(unbound), False)
    key_first = not numbers or mentions[0][0] < numbers[0][0]
    by_label: dict[str, set[str]] = {}
    for pos, cands in numbers:
        before = [lb for p, lb in mentions if p < pos]
        after = [lb for p, lb in mentions if p > pos]
        near, far = (before[-1:], after[:1]) if key_first else (after[:1], before[-1:])
        label = (near or far)[0]
        by_label.setdefault(label, set()).update(cands)
    return BoundNumbers({k: frozenset(v) for k, v in by_label.items()}, frozenset(), True)


def numbers_in_order(answer: str) -> list[frozenset[str]]:
    """The numbers an answer states, in order, each as the set of its readings ("4,729,183" → {"4729183",
    "4", "729", ...}); a bare list "4729183, 1234567" gives two entries."""
    text = _numerals_to_digits(fold(answer))
    return [frozenset(_group_candidates(m.group(0))) for m in _GROUPED.finditer(text)]


def number_positions(answer: str) -> list[tuple[int, str]]:
    """Every reading of every number with where it starts (in the normalized text), in text order.

    "4729183 1234567" is one separator-joined match, read as "4729183" at 0 and "1234567" at 8 (and their
    join); the offsets let a grader tell the order in which values were stated.
    """
    text = _numerals_to_digits(fold(answer))
    out: list[tuple[int, str]] = []
    for m in _GROUPED.finditer(text):
        spans = [(g.start(), g.group(0)) for g in re.finditer(r"\d+", m.group(0))]
        for i in range(len(spans)):
            for j in range(i + 1, len(spans) + 1):
                out.append((m.start() + spans[i][0], "".join(x for _, x in spans[i:j])))
    out.sort()
    return out
