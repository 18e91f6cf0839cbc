"""Reading plain text as prose: wrap detection, unwrapping, structural lines, front and back matter."""

from __future__ import annotations

import textwrap
from pathlib import Path

from haystacks.prose import read_prose, wrap_width

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
PROSE = (
    "It was a matter of chance that I should have rented a house in one of the strangest communities in "
    "North America. It was on that slender riotous island which extends itself due east of New York, and "
    "where there are, among other natural curiosities, two unusual formations of land."
)


def _wrapped(*pars: str, width: int = 70, indent: str = "") -> str:
    return "\n\n".join(textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent) for p in pars)


def test_the_seeds_are_not_hard_wrapped() -> None:
    for p in sorted(SEEDS.glob("*.txt")):
        r = read_prose(p.read_text(encoding="utf-8"))
        assert not r.paragraphs and r.width == 0, p.name


def test_wrapped_paragraphs_are_joined_and_separated_by_a_blank_line() -> None:
    r = read_prose(_wrapped(PROSE, PROSE + " Twenty miles from the city.", PROSE))
    assert r.width and r.paragraphs
    assert r.text() == f"{PROSE}\n\n{PROSE} Twenty miles from the city.\n\n{PROSE}\n\n"


def test_a_uniformly_indented_book_is_prose_and_indented_verse_stays_lines() -> None:
    verse = "\n".join(f"    {x}" for x in ("The orchard sleeps beneath the moon,", "The boats are drawn up;"))
    r = read_prose(_wrapped(PROSE, PROSE, PROSE, indent="  ") + "\n\n" + verse + "\n\n" + _wrapped(PROSE))
    assert [b.prose for b in r.blocks] == [True, True, True, False, True]
    assert r.blocks[3].lines == ("The orchard sleeps beneath the moon,", "The boats are drawn up;")


def test_paragraphs_marked_by_indentation_alone() -> None:
    text = _wrapped(PROSE) + "\n" + textwrap.fill(PROSE, 70, initial_indent="    ")
    text = text + "\n\n" + _wrapped(PROSE, PROSE)
    r = read_prose(text)
    assert [b.lines[0] for b in r.blocks][:2] == [PROSE, PROSE]


def test_lists_headings_and_tables_are_structural() -> None:
    text = (
        "CHAPTER IV\n\n" + _wrapped(PROSE, PROSE) + "\n\nHe wrote down:\n- Rise from bed 6.00 a.m.\n"
        "- Study electricity 7.15-8.15 p.m.\n\n| a | b |\n|---|---|\n\n" + _wrapped(PROSE)
    )
    r = read_prose(text)
    kinds = [(b.prose, b.lines[0][:10]) for b in r.blocks]
    assert kinds == [
        (False, "CHAPTER IV"),
        (True, PROSE[:10]),
        (True, PROSE[:10]),
        (False, "He wrote d"),
        (False, "| a | b |"),
        (True, PROSE[:10]),
    ]
    assert r.blocks[3].lines[1] == "- Rise from bed 6.00 a.m."


def test_gutenberg_matter_is_removed_and_explained() -> None:
    text = (
        "The Project Gutenberg eBook of X\n\nSome licence words.\n\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\nProduced by Someone.\n\n"
        + _wrapped(PROSE, PROSE, PROSE)
        + "\n\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\n\nSTART: FULL LICENSE\n"
    )
    r = read_prose(text)
    assert r.text() == f"{PROSE}\n\n{PROSE}\n\n{PROSE}\n\n"
    assert [n.rule for n in r.notes][:3] == ["gutenberg_header", "gutenberg_credits", "gutenberg_footer"]


def test_pdf_hyphenation_is_undone_only_for_words_seen_whole() -> None:
    text = (
        "Some text that talks about an example and keeps going for a long while\n"
        "here; then comes an exam-\nple and a well-\nknown word that stays hyphenated at the end.\n"
    ) * 2
    para = read_prose(text, "pdf").blocks[0].lines[0]
    assert "an example and a well-known word" in para


def test_markdown_joins_lines_and_keeps_fences_and_headings() -> None:
    r = read_prose("# Notes\n\nA short note that\nwraps here.\n\n```\nx = 1\n\ny = 2\n```\n", "md")
    assert r.text() == "# Notes\n\nA short note that wraps here.\n\n```\nx = 1\ny = 2\n```\n\n"
    assert [b.prose for b in r.blocks] == [False, True, False]


def test_wrap_width_needs_filled_lines() -> None:
    short = [["a short line", "another one", "and a third", "fourth", "fifth", "sixth", "7", "8", "9", "10"]]
    assert wrap_width(short) == 0
    assert wrap_width([x.split("\n") for x in _wrapped(PROSE, PROSE, PROSE).split("\n\n")]) in range(60, 71)
