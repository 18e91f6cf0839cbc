"""A small English book shaped like a Project Gutenberg plain-text file, written for the tests.

Hard-wrapped at 70 columns, blank lines between paragraphs, the licence header and footer, chapter
headings, dialogue, abbreviations, initials, times, decimals, a verse block and a list.
"""

from __future__ import annotations

import textwrap

TITLE = "The Orchard at West Egg"

HEADER = """\
The Project Gutenberg eBook of The Orchard at West Egg

This ebook is for the use of anyone anywhere in the United States and
most other parts of the world at no cost and with almost no restrictions
whatsoever. You may copy it, give it away or re-use it under the terms
of the Project Gutenberg License included with this ebook or online
at www.gutenberg.org. If you are not located in the United States,
you will have to check the laws of the country where you are located
before using this eBook.

Title: The Orchard at West Egg

Author: A. N. Example

Release date: May 1, 2026 [eBook #99999]

Language: English

*** START OF THE PROJECT GUTENBERG EBOOK THE ORCHARD AT WEST EGG ***

Produced by the Example Team.
"""

FOOTER = """\
*** END OF THE PROJECT GUTENBERG EBOOK THE ORCHARD AT WEST EGG ***

Updated editions will replace the previous one--the old editions will
be renamed.

Creating the works from print editions not protected by U.S. copyright
law means that no one owns a United States copyright in these works,
so the Foundation (and you!) can copy and distribute it in the United
States without permission and without paying copyright royalties.

START: FULL LICENSE

THE FULL PROJECT GUTENBERG LICENSE
PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK
"""

# Each chapter: a heading, then blocks. A block is a paragraph (str) or structural lines (a list).
CHAPTERS: list[tuple[str, list[str | list[str]]]] = [
    (
        "CHAPTER I",
        [
            "In my younger and more restless years my uncle, Mr. T. J. Halloway of Chicago, gave me a "
            'piece of advice that I have been turning over in my mind ever since. "Whenever you feel '
            'like judging anyone," he told me, "just remember that the people in this world haven\'t '
            "all had the advantages that you've had.\" He didn't say any more, but we have always been "
            "unusually communicative in a reserved way, and I understood that he meant a great deal "
            "more than that.",
            "The house I rented stood at the very tip of the egg, only fifty yards from the Sound, and "
            "squeezed between two huge places that rented for twelve or fifteen thousand a season. It "
            "cost me 80 dollars a month, or about 2.5 per cent of what my neighbour paid for his lawn "
            "alone. The one on my right was a colossal affair by any standard, e.g. it had a tower on "
            "one side, spanking new under a thin beard of raw ivy, and a marble swimming pool.",
            "I arrived on a Tuesday at 4 p.m. and the agent met me at the station. He was a small man "
            'with a large watch, which he consulted twice before he spoke. "You are late, Mr. Carraway," '
            "he said, though the train had been on time to the minute. I did not argue with him.",
            '"No!" he said, when I asked whether the house had a telephone. "Nobody out here wants to '
            'be reached before noon." Then he handed me the keys, a ring of seven of them, and walked '
            "back towards the road without another word.",
            "That evening I walked down to the water. The lawn started at the beach and ran towards the "
            "front door for a quarter of a mile, jumping over sun-dials and brick walks and burning "
            "gardens. Across the bay the white palaces of fashionable East Egg glittered along the "
            "water, and a single green light, minute and far away, burned at the end of a dock.",
        ],
    ),
    (
        "CHAPTER II",
        [
            "About half way between West Egg and the city the motor road hastily joins the railroad and "
            "runs beside it for a quarter of a mile, so as to shrink away from a certain desolate area "
            "of land. This is a valley of ashes, a fantastic farm where ashes grow like wheat into "
            "ridges and hills and grotesque gardens.",
            "Dr. Eckleburg's eyes looked down over it from a faded billboard. They were blue and "
            "gigantic, their retinas one yard high, and they looked out of no face but from a pair of "
            "enormous yellow spectacles. Some wild wag of an oculist set them there, I suppose, to fatten "
            "his practice in the borough of Queens, and then sank down himself into eternal blindness.",
            '"Where are we going?" asked Myrtle. "To the city," said Tom. "We have an appointment at '
            "8.30, and I don't mean to keep Mrs. Wilson waiting.\" She laughed at that, a thin and "
            "nervous laugh, and looked out of the window at the grey cars crawling along the track.",
            [
                "Things I bought in the city that afternoon:",
                "- a copy of Town Tattle and a moving-picture magazine,",
                "- some cold cream and a small flask of perfume,",
                "- a dog, which was not a police dog at all.",
            ],
            "The apartment was on the top floor, a small living-room, a small dining-room, a small "
            "bedroom and a bath. The living-room was crowded to the doors with a set of tapestried "
            "furniture entirely too large for it, so that to move about was to stumble continually over "
            "scenes of ladies swinging in the gardens of Versailles.",
        ],
    ),
    (
        "CHAPTER III",
        [
            "There was music from my neighbour's house through the summer nights. In his blue gardens "
            "men and girls came and went like moths among the whisperings and the champagne and the "
            "stars. At high tide in the afternoon I watched his guests diving from the tower of his raft, "
            "or taking the sun on the hot sand of his beach while his two motor-boats slit the waters of "
            "the Sound.",
            "On Mondays eight servants, including an extra gardener, toiled all day with mops and "
            "scrubbing-brushes and hammers and garden-shears, repairing the ravages of the night before. "
            "Every Friday five crates of oranges and lemons arrived from a fruiterer in New York; every "
            "Monday these same oranges and lemons left his back door in a pyramid of pulpless halves.",
            [
                "    The orchard sleeps beneath the moon,",
                "    The boats are drawn up on the sand;",
                "    And we shall all be going soon",
                "    To some more fashionable land.",
            ],
            "I was one of the few guests who had actually been invited. People were not invited; they "
            'went there. "I like to come," Lucille said. "I never care what I do, so I always have a '
            'good time." Somebody asked her whether she had met the host. She said she had, once, at '
            "about 11 a.m. on a Sunday, and that he had been perfectly charming about a torn gown.",
            "At a little after midnight the orchestra played a piece by Vladimir Tostoff, and the "
            "caterwauling horns died away. I looked around for my host, but he was standing alone on the "
            "marble steps and looking from one group to another with approving eyes. Was he a nephew of "
            "the Kaiser? Had he killed a man once? Nobody knew, and nobody cared very much.",
        ],
    ),
]


def _wrap(par: str, width: int = 70) -> str:
    return "\n".join(textwrap.wrap(par, width=width, break_long_words=False, break_on_hyphens=False))


def paragraphs() -> list[str]:
    """The book's paragraphs as a reader sees them: headings, prose paragraphs and structural lines."""
    out: list[str] = []
    for heading, blocks in CHAPTERS:
        out.append(heading)
        for b in blocks:
            if isinstance(b, list):
                out.extend(line.strip() for line in b)
            else:
                out.append(b)
    return out


def gutenberg_text(width: int = 70) -> str:
    """The book as a Project Gutenberg ``.txt``: hard-wrapped, blank lines between paragraphs, licence."""
    body: list[str] = []
    for heading, blocks in CHAPTERS:
        body.append(f"\n\n{heading}\n")
        for b in blocks:
            body.append("\n".join(b) if isinstance(b, list) else _wrap(b, width))
    return HEADER + "\n\n" + "\n\n".join(body) + "\n\n\n" + FOOTER


def html_text() -> str:
    """The same book as an HTML page (paragraphs as ``<p>``, the list as ``<ul>``, verse as lines)."""
    parts = [f"<html><head><title>{TITLE}</title></head><body>"]
    for heading, blocks in CHAPTERS:
        parts.append(f"<h2>{heading}</h2>")
        for b in blocks:
            if isinstance(b, list):
                parts.append("<div class='lines'>" + "<br/>\n".join(x.strip() for x in b) + "</div>")
            else:
                parts.append("<p>" + _html_escape(_wrap(b)) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
