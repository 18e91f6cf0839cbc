"""Answer matching: the pure text functions every task's grader uses (no I/O, no task knowledge).

Normalization first, then matching:

* NFKC folding (full-width digits/letters/punctuation become half-width), lower case;
* Chinese numerals become Arabic digits, both positional ("四百七十二万九千一百八十三") and read
  digit by digit ("四七二九一八三"), including 〇/零, 两, the financial forms (壹贰叁...) and
  decimals before a unit ("一点五亿" → 150000000);
* English number words become digits, positional ("four million seven hundred ...") and digit by digit
  ("four seven two nine ...");
* a number written with group separators ("4,729,183", "4 729 183", "472-9183") is read as one number;
* a numeric answer must match a *whole* number: "4729183" is not found in "47291835".

What an answer commits to, which value it states for which key and whether it refuses is read by the one
reader, :mod:`haystacks.reading`; this module keeps the plain matching helpers built on the same numeral
tables.
"""

from __future__ import annotations

import re
import unicodedata

#: Bumped whenever matching changes a grade (part of every run's identity; each task also has a version).
GRADING_VERSION = 4

__all__ = [
    "GRADING_VERSION",
    "contains_answer",
    "fold",
    "is_abstention",
    "normalize",
    "number_candidates",
    "parse_chinese_number",
    "parse_english_number",
]

# ---------------------------------------------------------------------------------------------- numerals

from haystacks.reading import (  # noqa: E402  (one source of the numeral tables)
    CN_CHARS,
    CN_FRACTION,
    EN_WORD,
    is_refusal,
    parse_chinese_number,
    parse_english_number,
)

_CN_RUN = re.compile(f"[0-9{CN_CHARS}]*[{CN_CHARS}][0-9{CN_CHARS}]*{CN_FRACTION}?")
_EN_RUN = re.compile(rf"\b(?:{EN_WORD})(?:(?:[\s\-]+|[\s\-]*,[\s\-]*|\s+and\s+)(?:{EN_WORD}))*\b")


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


def is_abstention(answer: str) -> bool:
    """Whether the answer declines (:func:`haystacks.reading.is_refusal`, the one refusal vocabulary).

    Args:
        answer: The model's answer.

    Returns:
        True when a refusal phrase is present.
    """
    return is_refusal(answer)
