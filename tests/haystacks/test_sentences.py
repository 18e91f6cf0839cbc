"""Sentence boundaries measured against a reference segmenter (pysbd) on held-out prose.

English: public-domain prose by F. Scott Fitzgerald, hard-wrapped as published. ``data/dev_en.txt`` (The
Great Gatsby, chapter VII; The Beautiful and Damned, book one, chapter II) was read while writing the rules;
``data/heldout_en.txt`` (The Great Gatsby, chapter IV; This Side of Paradise, book one, chapter 2) was not,
and is the figure. Chinese: every paragraph of the seed transcripts. Agreement is the Jaccard index of the
sentence boundaries inside paragraphs (both segmenters' boundaries, matched by character offset; a
reference boundary before a closing quote counts after it). Run this module to print the figures::

    python -m tests.haystacks.test_sentences
"""

from __future__ import annotations

from pathlib import Path

import pytest

from haystacks.corpus import Corpus, load_corpus, split_sentences
from haystacks.prose import read_prose

pysbd = pytest.importorskip("pysbd")

DATA = Path(__file__).parent / "data"
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
_CLOSERS = "”’\"'」』）)】》〉］]｝}"


def _first_char(text: str, i: int) -> int:
    while i < len(text) and (text[i].isspace() or text[i] in _CLOSERS):
        i += 1
    return i


def _ours(par: str) -> set[int]:
    out, pos = set(), 0
    for u in split_sentences(par)[:-1]:
        pos += len(u)
        out.add(_first_char(par, pos))
    return out


def _reference(par: str, seg: object) -> set[int]:
    spans = seg.segment(par)  # type: ignore[attr-defined]
    out = {_first_char(par, s.start) for s in spans[1:]}
    return {b for b in out if 0 < b < len(par.rstrip())}


def agreement(paragraphs: list[str], language: str) -> tuple[float, int, int, int]:
    """Jaccard agreement of sentence boundaries with pysbd, and (shared, ours only, reference only)."""
    seg = pysbd.Segmenter(language=language, clean=False, char_span=True)
    both = ours_only = ref_only = 0
    for par in paragraphs:
        par = par.rstrip("\n")
        a, b = _ours(par), _reference(par, seg)
        both += len(a & b)
        ours_only += len(a - b)
        ref_only += len(b - a)
    total = both + ours_only + ref_only
    return (both / total if total else 1.0), both, ours_only, ref_only


def english_paragraphs(name: str = "heldout_en.txt") -> list[str]:
    reading = read_prose((DATA / name).read_text(encoding="utf-8"), "txt")
    assert reading.width, "the held-out text is hard-wrapped"
    return [b.lines[0] for b in reading.blocks if b.prose]


def chinese_paragraphs() -> list[str]:
    corpus: Corpus = load_corpus(SEEDS)
    return list(corpus.paragraphs)


def test_english_agreement_with_pysbd() -> None:
    score, both, _, _ = agreement(english_paragraphs(), "en")
    assert both > 80
    assert score >= 0.98


def test_chinese_agreement_with_pysbd() -> None:
    score, both, _, _ = agreement(chinese_paragraphs(), "zh")
    assert both > 600
    assert score >= 0.98


if __name__ == "__main__":
    sets = {"en held-out": english_paragraphs(), "en dev": english_paragraphs("dev_en.txt")}
    for name, pars in (*sets.items(), ("zh seeds", chinese_paragraphs())):
        s, both, a, b = agreement(pars, name[:2])
        print(f"{name}: agreement {100 * s:.1f} % ({both} boundaries shared, {a} only ours, {b} only pysbd)")
