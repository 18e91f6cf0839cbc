"""Reading a document as prose: front/back matter, hard-wrapped paragraphs, structural lines.

A book in plain text is wrapped near 70 columns with blank lines between paragraphs, and carries a licence
header and footer (Project Gutenberg). :func:`read_prose` turns such a document into blocks: each block is
one prose paragraph (its wrapped lines joined) or a run of structural lines (headings, list items, verse,
code, tables), each kept as its own line. Every decision is recorded as a :class:`Note` so that the user
can see what was removed, unwrapped or kept and why (``python -m haystacks.build --explain-cleaning``).

Documents that are not hard-wrapped plain text (the seed transcripts: one paragraph or subtitle phrase per
line) keep the line reading: every non-blank line is a paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DOCUMENT_RULES", "Block", "Note", "Reading", "read_prose", "wrap_width"]

Kind = Literal["txt", "md", "blocks", "pdf"]

# --------------------------------------------------------------------------------------------------------
# Front and back matter. A start rule drops everything up to and including its line; an end rule drops its
# line and everything after it. Patterns match a whole stripped line, case-insensitively.
# --------------------------------------------------------------------------------------------------------
DOCUMENT_RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (name, where, re.compile(pattern, re.IGNORECASE))
    for name, where, pattern in (
        ("gutenberg_header", "start", r"\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?(?:BOOK|TEXT).*"),
        ("gutenberg_header", "start", r"\*+\s*END\*?THE SMALL PRINT!.*"),
        ("gutenberg_footer", "end", r"\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?(?:BOOK|TEXT).*"),
        ("gutenberg_footer", "end", r"End of (?:the )?Project Gutenberg'?s? .*"),
    )
)
# A credits block right after the header ("Produced by ...") is not part of the book.
_CREDITS = re.compile(
    r"(?:Produced by|E-?text prepared by|Transcribed (?:from|by)|This e-?book was produced by)\b.*",
    re.IGNORECASE,
)

_TERMINAL = re.compile(r"[.!?。！？…:;—–][\"'”’)\]»]*$")  # a dash ends interrupted speech
_LIST_ITEM = re.compile(r"(?:[-*+•–]|\d{1,3}[.)]|\(?[A-Za-z0-9]{1,3}\))\s+\S")
_TABLE = re.compile(r".*\|.*\|.*|[+\-=| ]{4,}")
_MD_HEADING = re.compile(r"#{1,6}\s+\S.*")
_FENCE = re.compile(r"(?:```|~~~).*")
_CJK = re.compile(r"[\u3000-\u9fff\uf900-\ufaff\uff00-\uffef]")
_SPACE_RUN = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")


@dataclass(frozen=True)
class Note:
    """One cleaning decision: a rule name and what it did."""

    rule: str
    detail: str


@dataclass(frozen=True)
class Block:
    """A paragraph (one line of prose) or a run of structural lines, in document order."""

    lines: tuple[str, ...]
    prose: bool


@dataclass
class Reading:
    """A document read as prose.

    Attributes:
        blocks: The kept blocks; each line is whitespace-normalized and non-empty.
        paragraphs: True when blocks are separated by blank lines in the context (prose); False for the line
            reading, where every line is a paragraph and no blank line is kept.
        notes: What was removed, unwrapped or kept, and why.
        width: The wrap width found (0 when the document is not hard-wrapped).
    """

    blocks: list[Block] = field(default_factory=list)
    paragraphs: bool = True
    notes: list[Note] = field(default_factory=list)
    width: int = 0

    def text(self) -> str:
        """The cleaned text: lines end with ``"\\n"``; with :attr:`paragraphs`, a blank line after blocks."""
        end = "\n" if self.paragraphs else ""
        return "".join("".join(x + "\n" for x in b.lines) + end for b in self.blocks)


def _norm(line: str) -> str:
    return _SPACE_RUN.sub(" ", line).strip()


def _short(s: str, n: int = 60) -> str:
    s = _norm(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def _strip_matter(lines: list[str], notes: list[Note]) -> list[str]:
    """Drop licence headers/footers (:data:`DOCUMENT_RULES`) and a credits block after the header."""
    start, end = 0, len(lines)
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or len(s) > 200:
            continue
        for name, where, pat in DOCUMENT_RULES:
            if not pat.fullmatch(s):
                continue
            if where == "start" and i >= start and i < end:
                start = i + 1
                notes.append(Note(name, f"lines 1-{i + 1} ({i + 1} lines) up to {_short(s)!r}"))
            elif where == "end" and i < end and i >= start:
                notes.append(
                    Note(name, f"lines {i + 1}-{len(lines)} ({len(lines) - i} lines) from {_short(s)!r}")
                )
                end = i
            break
    if start > 0:
        # the first non-blank block after the header, when it is a credits line
        i = start
        while i < end and not lines[i].strip():
            i += 1
        if i < end and _CREDITS.fullmatch(lines[i].strip()):
            j = i
            while j < end and lines[j].strip():
                j += 1
            at = next((k + 1 for k, n in enumerate(notes) if n.rule == "gutenberg_header"), 0)
            notes.insert(at, Note("gutenberg_credits", f"lines {i + 1}-{j} {_short(lines[i])!r}"))
            start = j
    return lines[start:end]


def _blocks(lines: list[str], markdown: bool = False) -> list[list[str]]:
    """Blank-line separated blocks; in Markdown a fenced code block is one block, blank lines and all."""
    out: list[list[str]] = []
    cur: list[str] = []
    fence = ""
    for line in lines:
        if markdown and (fence or _FENCE.match(line.strip())):
            if not fence:
                if cur:
                    out.append(cur)
                cur, fence = [], line.strip()[:3]
            elif line.strip().startswith(fence):
                fence = ""
                out.append([*cur, line.rstrip()])
                cur = []
                continue
            if line.strip():
                cur.append(line.rstrip())
            continue
        if line.strip():
            cur.append(line.rstrip())
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def wrap_width(blocks: list[list[str]], max_width: int = 100) -> int:
    """The column width a document is hard-wrapped at, or 0 when it is not hard-wrapped.

    Hard-wrapped means: at least 8 lines that are followed by another line of their paragraph, a width
    (the 90th percentile of line lengths) between 40 and ``max_width`` columns, and at least 60 % of those
    lines filled to within 75 % of the width (a wrapped line breaks only when the next word does not fit).

    Args:
        blocks: The document's blank-line separated blocks of lines.
        max_width: The widest plain-text wrap considered (a PDF's lines are set wider).

    Returns:
        The width in characters, or 0.
    """
    lengths = sorted(len(x.strip()) for b in blocks for x in b)
    inner = [len(x.strip()) for b in blocks for x in b[:-1]]
    if len(inner) < 8 or not lengths:
        return 0
    width = lengths[min(len(lengths) - 1, int(0.9 * len(lengths)))]
    if not 40 <= width <= max_width:
        return 0
    full = sum(1 for n in inner if n >= 0.75 * width)
    return width if full >= 0.6 * len(inner) else 0


def _structural(line: str, markdown: bool) -> str | None:
    s = line.strip()
    if _LIST_ITEM.match(s):
        return "list item"
    if _TABLE.fullmatch(s):
        return "table or rule"
    if markdown and (_MD_HEADING.fullmatch(s) or s.startswith(">")):
        return "heading" if s.startswith("#") else "quote"
    return None


_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def _join(a: str, b: str, words: frozenset[str] = frozenset()) -> str:
    """Join two wrapped lines: no space between CJK characters; a word hyphenated at the line end loses its
    hyphen when the document has it whole elsewhere (``exam-`` + ``ple``), else keeps it (``well-known``)."""
    if a.endswith("-") and len(a) > 1 and a[-2].isalpha() and b[:1].islower():
        head = re.search(r"[^\W\d_]+-$", a)
        tail = _WORD.match(b)
        if head and tail and (head.group(0)[:-1] + tail.group(0)).lower() in words:
            return a[:-1] + b
        return a + b
    if _CJK.match(a[-1:]) and _CJK.match(b[:1]):
        return a + b
    return a + " " + b


def _unwrap(
    block: list[str],
    width: int,
    join_all: bool,
    markdown: bool,
    counts: dict[str, int],
    indent: int = 0,
    words: frozenset[str] = frozenset(),
) -> list[Block]:
    """Split one block into prose paragraphs and structural lines."""
    if markdown and _FENCE.match(block[0].strip()):
        counts["code"] += len(block)
        return [Block(tuple(_norm(x) for x in block), prose=False)]
    indents = [len(x) - len(x.lstrip()) for x in block]
    if (
        len(block) >= 2
        and (
            (markdown and min(indents) >= 4)  # an indented code block
            or (width and all(len(x.strip()) < 0.75 * width for x in block[:-1]))  # verse, an address...
            or (  # set in from the prose and not filled to the width: verse, a letter
                width
                and not markdown
                and min(indents) >= indent + 2
                and sum(len(x.strip()) >= 0.75 * width for x in block[:-1]) < 0.6 * (len(block) - 1)
            )
            or (not join_all and not width)  # lines of a reader's block (<br>, a list)
        )
    ):
        kinds = [
            _structural(x, markdown) or ("code" if markdown and min(indents) >= 4 else "line") for x in block
        ]
        for k in kinds:
            counts[k] += 1
        return [Block(tuple(_norm(x) for x in block), prose=False)]
    out: list[Block] = []
    cur: list[str] = []
    struct: list[str] = []

    def flush() -> None:
        if cur:
            text = cur[0]
            for x in cur[1:]:
                text = _join(text, x, words)
            if len(cur) > 1:
                counts["unwrapped"] += 1
                counts["wrapped lines"] += len(cur)
            out.append(Block((text,), prose=True))
            cur.clear()

    for i, raw in enumerate(block):
        line = _norm(raw)
        kind = _structural(raw, markdown)
        if kind is not None:
            counts[kind] += 1
            if len(cur) == 1 and not struct:  # a one-line lead-in ("Things I bought:") stays with its list
                struct.append(cur.pop())
            flush()
            struct.append(line)
            continue
        if struct and indents[i] > min(indents) and not _structural(raw, markdown):
            struct[-1] = _join(struct[-1], line)  # continuation of a wrapped list item
            continue
        if struct:
            out.append(Block(tuple(struct), prose=False))
            struct = []
        new_par = bool(cur) and (
            (indents[i] > indents[i - 1] and _TERMINAL.search(cur[-1]) is not None)  # an indented first line
            or (width > 0 and len(cur[-1]) < 0.6 * width and _TERMINAL.search(cur[-1]) is not None)
        )
        if new_par:
            flush()
        cur.append(line)
    flush()
    if struct:
        out.append(Block(tuple(struct), prose=False))
    # a single short line without sentence punctuation is a heading: its own structural block
    return [
        Block(b.lines, prose=False)
        if b.prose and len(b.lines[0]) < 80 and not _sentence_like(b.lines[0])
        else b
        for b in out
    ]


def _sentence_like(line: str) -> bool:
    return _TERMINAL.search(line) is not None or line[:1] in "\"“‘'«「『"


def read_prose(raw: str, kind: Kind = "txt") -> Reading:
    """Read one document as prose.

    Args:
        raw: The document's text (newlines normalized to ``"\\n"``). For ``"blocks"`` (what the HTML, EPUB
            and DOCX readers produce) every block is already one paragraph per line, blocks separated by a
            blank line.
        kind: ``txt`` (plain text: unwrapped and read as paragraphs when hard-wrapped, else one paragraph
            per line), ``md`` (Markdown: the lines of a paragraph join), ``blocks``, or ``pdf`` (extracted
            lines: unwrapped like hard-wrapped text).

    Returns:
        The :class:`Reading`.
    """
    notes: list[Note] = []
    lines = _strip_matter(raw.split("\n"), notes)
    blocks = _blocks(lines, markdown=kind == "md")
    width = wrap_width(blocks, 250 if kind == "pdf" else 100) if kind in ("txt", "pdf") else 0
    if kind == "txt" and not width:
        # the line reading: every non-blank line is a paragraph (blank lines carry no meaning here)
        kept = [Block((_norm(x),), prose=True) for b in blocks for x in b if _norm(x)]
        return Reading(blocks=kept, paragraphs=False, notes=notes)
    if width:
        notes.append(
            Note("hard_wrapped", f"lines wrapped at about {width} columns: paragraphs are unwrapped")
        )
    counts: dict[str, int] = {
        k: 0
        for k in (
            "unwrapped",
            "wrapped lines",
            "list item",
            "table or rule",
            "heading",
            "quote",
            "code",
            "line",
        )
    }
    # words the document has whole: a PDF's line-end hyphenation is undone only for those
    words = frozenset(w.lower() for x in lines for w in _WORD.findall(x)) if kind == "pdf" else frozenset()
    indents = sorted(len(x) - len(x.lstrip()) for b in blocks for x in b)
    indent = indents[len(indents) // 2] if indents else 0  # the prose's usual indentation
    out: list[Block] = []
    for b in blocks:
        out.extend(_unwrap(b, width, kind in ("md", "pdf"), kind == "md", counts, indent, words))
    out = [Block(tuple(x for x in b.lines if x), b.prose) for b in out]
    out = [b for b in out if b.lines]
    if counts["unwrapped"]:
        notes.append(
            Note("unwrapped", f"{counts['unwrapped']} paragraphs joined from {counts['wrapped lines']} lines")
        )
    kept = {k: v for k, v in counts.items() if v and k not in ("unwrapped", "wrapped lines")}
    headings = sum(1 for b in out if not b.prose and len(b.lines) == 1)
    if kept or headings:
        parts = ", ".join(f"{v} {k}" for k, v in kept.items())
        notes.append(
            Note(
                "structural_lines",
                f"kept as their own lines: {parts}{', ' if parts else ''}{headings} single-line blocks",
            )
        )
    notes.append(
        Note("paragraphs", f"{sum(b.prose for b in out)} prose paragraphs, a blank line between blocks")
    )
    return Reading(blocks=out, paragraphs=True, notes=notes, width=width)
