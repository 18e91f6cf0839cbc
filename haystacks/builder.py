"""The token-exact context builder.

A haystack of L tokens is a prefix of the filler stream (:mod:`haystacks.stream`) with needles inserted at
sentence boundaries. Sizing never re-tokenizes the context: paragraph counts are prefix sums computed once
per tokenizer; only the one or two paragraphs that receive a needle, and the partial paragraph at the end,
are encoded per cell. This is exact for tokenizers whose counts add up across paragraph boundaries
(cl100k/o200k: a newline followed by a non-space character always starts a new pre-token; checked on the
corpus at load). Other tokenizers (Hugging Face files, llama.cpp servers, provider count APIs) get the same
layout, then one full count of the final context per attempt and a correction until the length is hit: the
cut of the last paragraph moves by local counts, each move confirmed by a full count.

``tokens_exact`` is the truth: True only when the context has exactly ``L`` tokens in the tokenizer named.
Where no cut of the text hits ``L`` (a character of two or three tokens at the cut, a mark merging with the
newline before the end needles), the context ends with one or two whitespace pads (:data:`_PADS`); where
nothing reaches ``L`` the haystack says False and ``tokens_note`` says why (as it does for ``approx:``).

Depth semantics: ``actual_depth = 100 * tokens(context[:needle.char_offset]) / context_tokens``. Depth 0 puts
the needle first, depth 100 last. A needle goes to the sentence boundary nearest its target token position
``depth/100 * L``; a needle whose target leaves no room after it goes at the very end, on its own line.
The end of the context is filled with a partial paragraph cut at a character boundary so that the length
is exact (never splitting a character).
"""

from __future__ import annotations

import dataclasses
import math
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from haystacks.corpus import Corpus
from haystacks.errors import SpecError, TokenizerError
from haystacks.needles import NeedlePlan, PlannedNeedle
from haystacks.spec import CellSpec
from haystacks.stream import CorpusStats, FillerStream, corpus_stats, filler_stream
from haystacks.tasks import AnswerKey, get_task
from haystacks.tokenizers import Tokenizer, get_tokenizer

__all__ = [
    "MAX_LENGTH",
    "CellSpec",
    "Frame",
    "Haystack",
    "Needle",
    "build_grid",
    "build_haystack",
    "validate_spec",
]

MAX_LENGTH = 50_000_000  # tokens; 10M-token haystacks are routine, this only stops typos
_MAX_ATTEMPTS = 8  # sizing attempts for tokenizers that are verified by a full count


@dataclass(frozen=True)
class Needle:
    """A placed needle (or distractor, or altered sentence).

    Attributes:
        kind: ``"needle"`` | ``"distractor"`` | ``"changed"``.
        text: Inserted verbatim at ``char_offset`` (for ``"changed"``: the altered sentence).
        key: What is asked about, e.g. ``"上海的神秘数字"``.
        answer: The fact, e.g. ``"4729183"`` (``"changed"``: the inserted phrase).
        depth: Requested depth (percent).
        actual_depth: ``100 * tokens(context[:char_offset]) / context_tokens``.
        char_offset: Where ``text`` starts in the context.
        token_offset: ``tokens(context[:char_offset])``.
        original: For ``"changed"``: the sentence before it was altered; else ``""``.
        label: The bare key an answer names it by (``"上海"``); ``""`` when none.
    """

    kind: str
    text: str
    key: str
    answer: str
    depth: float
    actual_depth: float
    char_offset: int
    token_offset: int
    original: str = ""
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``original`` only for changed lines, ``label`` only when there is one)."""
        d = asdict(self)
        if self.kind != "changed":
            d.pop("original")
        if not self.label:
            d.pop("label")
        return d


@dataclass(frozen=True)
class Haystack:
    """A built cell: the context, its exact size, and what was hidden in it.

    Attributes:
        spec: The cell spec.
        context: The haystack text with the needles in it.
        context_tokens: Tokens of ``context`` in ``tokenizer``. For a count-API tokenizer sized from shared
            counts (:class:`~haystacks.tokenizers.CountingTokenizer`): the context's share of a prompt, the
            newline a prompt puts after it included (the two can merge into one token).
        tokenizer: Name of the tokenizer that sized it.
        tokens_exact: True only when the context has exactly ``spec.length`` tokens in the tokenizer named
            (False for ``approx:`` stand-ins, count APIs that gave no count, and cells no cut could make
            exact; ``tokens_note`` says why).
        needles: The asked facts (empty for ``no_needle``; the altered sentence for ``changed_line``).
        distractors: Distractor needles.
        question: In ``spec.language``; reveals neither the answer nor (changed_line) the line.
        answers: What a correct answer must contain, one per asked fact (empty for ``no_needle``).
        corpus_sha256: SHA-256 of the cleaned seed text.
        tokenizer_backend: Library that produced the counts (``tiktoken``, ``quicktok``, ``tokenizers``...).
        absent_key: ``no_needle``: the key asked about, which appears in no needle.
        answer_key: What the task grades an answer against (:class:`haystacks.tasks.AnswerKey`).
        tokens_note: Why ``tokens_exact`` is False (None when it is True).
        tokens_counted: ``context_tokens`` is a count in ``tokenizer`` (False for ``approx:`` stand-ins and
            count APIs that gave no count), whether or not it hits the target.
    """

    spec: CellSpec
    context: str
    context_tokens: int
    tokenizer: str
    tokens_exact: bool
    needles: tuple[Needle, ...]
    distractors: tuple[Needle, ...]
    question: str
    answers: tuple[str, ...]
    corpus_sha256: str = ""
    tokenizer_backend: str = ""
    absent_key: str | None = None
    answer_key: AnswerKey | None = None
    tokens_note: str | None = None
    tokens_counted: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the context comes last so that the metadata reads first (``tokens_note`` only when
        the length is not exact)."""
        return {
            "spec": self.spec.to_dict(),
            "target_tokens": self.spec.length,
            "context_tokens": self.context_tokens,
            "tokenizer": self.tokenizer,
            "tokenizer_backend": self.tokenizer_backend,
            "tokens_exact": self.tokens_exact,
            **({"tokens_note": self.tokens_note} if self.tokens_note is not None else {}),
            "corpus_sha256": self.corpus_sha256,
            "question": self.question,
            "answers": list(self.answers),
            "absent_key": self.absent_key,
            "needles": [n.to_dict() for n in self.needles],
            "distractors": [n.to_dict() for n in self.distractors],
            "answer_key": self.answer_key.to_dict() if self.answer_key is not None else None,
            "context": self.context,
        }


# --------------------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Item:
    planned: PlannedNeedle
    order: int
    size: int  # tokens of the inserted text alone (layout tokenizer)
    text: str = ""  # what ends up in the context (changed: the altered sentence)
    original: str = ""
    token_offset: int = 0
    char_offset: int = 0
    inserted: str = ""  # the text the edit adds (changed: the clause added inside the sentence)
    lead: int = 0  # characters of ``inserted`` before ``text`` (a space after a Latin sentence end)


@dataclass(eq=False)
class _Edit:
    start: int  # local char offsets in the ORIGINAL paragraph
    end: int
    text: str
    item: _Item
    seq: int = 0


_CLAUSE_END = frozenset("，,、：:—-")
_TRAIL = frozenset("。！？；…!?;.”’\"'」』）)】》〉］]｝} \t\n")


def _glued(before: str, after: str) -> bool:
    """Whether two texts joined would run into each other: Latin script on both sides of the join, where a
    space separates sentences ("...6021239." then "Children were...", "modal?" then "The magic..."); Chinese
    needs none."""
    a, b = before[-1:], after[:1]
    return bool(a and b) and a.isascii() and b.isascii() and not a.isspace() and (b.isalnum() or b in "\"'([")


def _split_trail(unit: str) -> tuple[str, str]:
    i = len(unit)
    while i > 0 and unit[i - 1] in _TRAIL:
        i -= 1
    return unit[:i], unit[i:]


@dataclass
class _Result:
    context: str
    tokens: int  # layout count (exact for additive tokenizers)
    items: list[_Item] = field(default_factory=list)
    layout: _Layout | None = None  # the layout it came from (its last cut can be moved)
    tail_char: int = 0  # where the last (cut) paragraph starts in the context


#: Pads tried, shortest first, when no cut of the last paragraph alone gives the exact count: ``(before the
#: end items, after them)``. A newline ends a context without end items; where the cut's last character
#: merges with the newline before the end items (``" \n"``, ``"。\n"`` are one token in cl100k) an
#: ideographic space before it, or a space after the last end item, adds the token; a character of three
#: tokens at the cut needs two pads.
_PADS: tuple[tuple[str, str], ...] = (
    ("\n", ""),
    (" ", ""),
    ("\u3000", ""),
    ("", " "),
    ("", "\n"),
    ("\u3000", " "),
    ("\n", " "),
    (" ", " "),
    ("\u3000", "\n"),
    (" ", "\n"),
    ("", "\n "),
    (" \u3000", ""),
    ("\n", "\n"),
    (" \u3000", " "),
    ("\u3000", "\n "),
    ("\n", "\n "),
    (" ", "\n "),
    (" \u3000", "\n"),
    (" \u3000", "\n "),
)


def _tail(text: str, k: int, pre: str, post: str, end_join: str) -> str:
    """The context's end: ``text[:k]``, ``pre``, the end items on a line of their own, ``post``."""
    head = text[:k] + pre
    sep = "\n" if end_join and k > 0 and not head.endswith("\n") else ""
    return head + sep + end_join + post


class _Layout:
    """One placement of a cell's items at one layout length (in the layout tokenizer's tokens)."""

    def __init__(self, stream: FillerStream, stats: CorpusStats, length: int) -> None:
        self.s = stream
        self.st = stats
        self.corpus = stats.corpus
        self.count = stats.tokenizer.count
        self.L = length
        self.edits: dict[int, list[_Edit]] = {}
        self.delta: dict[int, int] = {}
        self.modified: list[int] = []
        self.end_items: list[_Item] = []
        self.prev: tuple[int, int] = (0, 0)
        self._seq = 0
        self.cut: tuple[int, str, list[int], int, int, str, str] = (0, "", [], 0, 0, "", "")

    # ---- positions ------------------------------------------------------------------------------------
    def base(self, g: int) -> int:
        """Context tokens before global paragraph ``g``."""
        extra = 0
        for h in self.modified:
            if h >= g:
                break
            extra += self.delta[h]
        return self.s.tok_start(g) + extra

    def total_delta(self) -> int:
        return sum(self.delta.values())

    def mod_text(self, g: int, upto: int | None = None) -> tuple[str, list[int]]:
        """Paragraph ``g`` with its edits; with ``upto``, only up to original offset ``upto``.

        Returns the text and, per edit, where its text starts in it.
        """
        par = self.s.paragraphs[self.s.par(g)]
        out: list[str] = []
        starts: list[int] = []
        pos = 0
        length = 0
        for e in self.edits.get(g, ()):
            if upto is not None and e.start > upto:
                break
            piece = par[pos : e.start]
            out.append(piece)
            length += len(piece)
            starts.append(length)
            out.append(e.text)
            length += len(e.text)
            pos = e.end
        out.append(par[pos:] if upto is None else par[pos:upto])
        return "".join(out), starts

    def prefix_tokens(self, g: int, off: int) -> int:
        """Context tokens before original local offset ``off`` of paragraph ``g`` (edits at ``off`` count)."""
        j = self.s.par(g)
        if off == 0 and not any(e.start == 0 for e in self.edits.get(g, ())):
            return self.base(g)
        if g not in self.edits:
            starts = self.corpus.unit_starts[j]
            i = bisect_right(starts, off) - 1
            if starts[i] == off:
                return self.base(g) + self.st.unit_prefix(j)[i]
            if off == len(self.s.paragraphs[j]):
                return self.base(g) + self.st.counts[j]
            return self.base(g) + self.count(self.s.paragraphs[j][:off])
        text, _ = self.mod_text(g, upto=off)
        return self.base(g) + self.count(text)

    def add_edit(self, g: int, start: int, end: int, text: str, item: _Item) -> None:
        self._seq += 1
        lst = self.edits.setdefault(g, [])
        lst.append(_Edit(start, end, text, item, self._seq))
        lst.sort(key=lambda e: (e.start, e.seq))
        if g not in self.delta:
            insort(self.modified, g)
        j = self.s.par(g)
        key = ("delta", j, tuple((e.start, e.end, e.text) for e in lst))
        d = self.st.memo.get(key)
        if d is None:
            d = self.st.remember(key, self.count(self.mod_text(g)[0]) - self.st.counts[j])
        self.delta[g] = d

    # ---- placement ------------------------------------------------------------------------------------
    def place_insert(self, item: _Item, room_after: int) -> None:
        """Insert ``item`` at the sentence boundary nearest its target, or at the end."""
        target = item.planned.depth * self.L / 100.0
        limit = self.L - room_after
        item.text = item.inserted = item.planned.text
        if target >= limit or self.end_items:
            # the end items need their room, and a deeper item never goes before a shallower one
            self.end_items.append(item)
            return
        g = max(self.s.locate(math.floor(target) - self.total_delta()), self.prev[0])
        j = self.s.par(g)
        cands = [(g, off) for off in self.corpus.unit_starts[j]] + [(g + 1, 0)]
        cands = [c for c in cands if c >= self.prev]
        if g in self.edits or (g + 1) in self.edits:
            est = [self.prefix_tokens(*c) for c in cands]
        else:
            b = self.base(g)
            pre = self.st.unit_prefix(j)
            starts = self.corpus.unit_starts[j]
            est = [
                b + (pre[starts.index(off)] if gg == g else self.st.counts[j] + self.delta.get(g, 0))
                for gg, off in cands
            ]
        lo = max((i for i, p in enumerate(est) if p <= target), default=None)
        hi = min((i for i, p in enumerate(est) if p > target), default=None)
        best: tuple[float, int, tuple[int, int]] | None = None
        for i in (lo, hi):
            if i is None:
                continue
            pos = self.prefix_tokens(*cands[i])
            if pos > limit:
                continue
            score = (abs(pos - target), pos, cands[i])
            if best is None or score < best:
                best = score
        if best is None:
            self.end_items.append(item)
            return
        _, pos, (gg, off) = best
        par = self.s.paragraphs[self.s.par(gg)]
        before = par[off - 1] if off > 0 else ""
        for e in self.edits.get(gg, ()):
            if e.start == e.end == off:  # a needle inserted here already: this one follows it
                before = e.text
        item.lead = 1 if before and _glued(before, item.text) else 0
        item.token_offset = pos + item.lead  # a trailing space is one token of the prefix before the needle
        item.inserted = " " * item.lead + item.text + (" " if _glued(item.text, par[off : off + 1]) else "")
        self.add_edit(gg, off, off, item.inserted, item)
        self.prev = (gg, off)

    def _eligible(self, j: int) -> list[int]:
        key = ("eligible", j)
        got = self.st.memo.get(key)
        if got is None:
            par = self.s.paragraphs[j]
            starts = self.corpus.unit_starts[j]
            ends = [*starts[1:], len(par)]
            spans = enumerate(zip(starts, ends, strict=True))
            prose = self.corpus.is_prose(j)  # a heading, list item or verse line is not a sentence
            got = [i for i, (a, b) in spans if prose and len(_split_trail(par[a:b])[0].strip()) >= 8]
            self.st.remember(key, got)
        return got

    def place_change(self, item: _Item, sep: str) -> None:
        """Alter the eligible sentence whose start is nearest the target (it must fit before the end)."""
        target = item.planned.depth * self.L / 100.0
        limit = self.L - item.size
        g0 = self.s.locate(math.floor(target))
        g_max = self.s.locate(self.L)
        radius = 2
        best: tuple[float, int, int, int] | None = None
        while True:
            for g in range(max(0, g0 - radius), min(g0 + radius, g_max) + 1):
                j = self.s.par(g)
                b = self.base(g)
                pre = self.st.unit_prefix(j)
                for i in self._eligible(j):
                    start, end = b + pre[i], b + pre[i + 1]
                    if end > limit:
                        continue
                    cand = (abs(start - target), start, g, i)
                    if best is None or cand < best:
                        best = cand
            if best is not None or (g0 - radius <= 0 and g0 + radius >= g_max):
                break
            radius *= 4
        if best is None:
            raise SpecError(f"length {self.L} is too short for the changed-line task (no sentence fits)")
        _, pos, g, i = best
        j = self.s.par(g)
        par = self.s.paragraphs[j]
        starts = self.corpus.unit_starts[j]
        a, b = starts[i], (starts[i + 1] if i + 1 < len(starts) else len(par))
        body, trail = _split_trail(par[a:b])
        joiner = "" if body[-1:] in _CLAUSE_END else sep
        altered = body + joiner + item.planned.text + trail
        item.inserted = joiner + item.planned.text
        item.original = par[a:b].rstrip("\n")
        item.text = altered.rstrip("\n")
        item.token_offset = pos
        self.add_edit(g, a, b, altered, item)
        self.prev = (g, b)

    # ---- end ------------------------------------------------------------------------------------------
    def _fit(self, g: int, text: str, kmin: int, r: int, end_join: str) -> tuple[int, int, str, str]:
        """Cut ``k >= kmin`` of ``text`` whose tail has exactly ``r`` tokens where the tokenizer allows.

        Returns ``(k, tokens of the tail, pre, post)``: ``pre`` and ``post`` are whitespace pads of
        :data:`_PADS` (before the end items, after them) used only when no cut alone hits ``r`` (a character
        of two or three tokens, or a mark that merges with the newline, straddles it).
        """
        count = self.count

        def f(k: int) -> int:
            return count(_tail(text, k, "", "", end_join))

        n = len(text)
        lo, hi = kmin, n
        if g not in self.edits:
            # bracket with the sentence offsets (exact prefix counts) to keep the search short
            j = self.s.par(g)
            starts = self.corpus.unit_starts[j]
            pre = self.st.unit_prefix(j)
            e = self.st.memo.get(("count", end_join))
            if e is None:
                e = self.st.remember(("count", end_join), count(end_join) if end_join else 0)
            idx = bisect_right(pre[:-1], r - e) - 1
            lo = max(kmin, starts[max(idx - 1, 0)])
            hi = min(n, starts[idx + 2] if idx + 2 < len(starts) else n)
        cache: dict[int, int] = {}

        def fc(k: int) -> int:
            v = cache.get(k)
            if v is None:
                v = cache[k] = f(k)
            return v

        if fc(lo) > r:
            lo2 = kmin
            if fc(lo2) > r:
                return lo2, fc(lo2), "", ""
            hi, lo = lo, lo2
        if fc(hi) <= r:
            k = hi
        else:
            a, b = lo, hi  # f(a) <= r < f(b)
            while b - a > 1:
                m = (a + b) // 2
                if fc(m) <= r:
                    a = m
                else:
                    b = m
            k = a
        if fc(k) == r:
            return k, r, "", ""
        # counts are not strictly monotone in k: look around for an exact hit
        window = range(max(kmin, k - 8), min(n, k + 8) + 1)
        exact = [x for x in window if fc(x) == r]
        if exact:
            return max(exact), r, "", ""
        under = sorted((x for x in window if r - 3 <= fc(x) < r), key=lambda y: (fc(y), y), reverse=True)
        for pre, post in _PADS:
            if pre.startswith("\n") and end_join:
                continue  # the end items start on a line of their own anyway
            for x in under[:4]:
                if pre == "\n" and not (0 < x < n and not text[x - 1].isspace()):
                    continue
                if count(_tail(text, x, pre, post, end_join)) == r:
                    return x, r, pre, post
        x = max((y for y in window if fc(y) < r), key=lambda y: (fc(y), y), default=k)
        return x, fc(x), "", ""

    def finish(self) -> _Result:
        """Cut the end so the context has exactly ``L`` tokens (where the tokenizer allows), assemble it."""
        L = self.L
        end_join = "\n".join(it.text for it in self.end_items)
        e_tok = self.count(end_join) if end_join else 0
        g_last = self.modified[-1] if self.modified else 0
        g = max(self.s.locate(L - e_tok - self.total_delta()), g_last)
        seen: set[int] = set()
        while g not in seen:
            seen.add(g)
            r = L - self.base(g)
            full = self.st.counts[self.s.par(g)] + self.delta.get(g, 0)
            if full + e_tok < r:
                g += 1
                continue
            if r < e_tok and g > g_last:
                g -= 1
                continue
            break
        j = self.s.par(g)
        if g in self.edits:
            text, starts = self.mod_text(g)
            last = self.edits[g][-1]
            kmin = starts[-1] + len(last.text)
        else:
            text, starts = self.s.paragraphs[j], []
            kmin = 0
        r = L - self.base(g)
        key = ("fit", j, tuple((e.start, e.end, e.text) for e in self.edits.get(g, ())), r, end_join, kmin)
        got = self.st.memo.get(key)
        if got is None:
            got = self.st.remember(key, self._fit(g, text, kmin, r, end_join))
        k, fk, pre, post = got
        self.cut = (g, text, starts, kmin, k, pre, post)
        return self.recut(k, pre, post, fk)

    def recut(self, k: int, pre: str = "", post: str = "", tail_tokens: int | None = None) -> _Result:
        """The context cut at ``k`` of the last paragraph :meth:`finish` chose, with pads ``pre``/``post``.

        ``tail_tokens`` is the tail's count when known; the result's ``tokens`` is the layout count.
        """
        g, text, starts, kmin, _, _, _ = self.cut
        self.cut = (g, text, starts, kmin, k, pre, post)
        context, tail, tail_char, pos = self.assemble(g, text, starts, k, pre, post)
        base_g = self.base(g)
        for it in self.end_items:
            it.token_offset = base_g + (self.count(tail[:pos]) if pos else 0)
            pos += len(it.text) + 1
        if tail_tokens is None:
            tail_tokens = self.count(tail)
        return _Result(
            context=context, tokens=base_g + tail_tokens, items=self.items(), layout=self, tail_char=tail_char
        )

    def items(self) -> list[_Item]:
        """The placed items in context order."""
        return [e.item for h in self.modified for e in self.edits[h]] + self.end_items

    def last_edit_end(self) -> int:
        """Stream position (original text) just after the last edit; 0 without edits."""
        if not self.modified:
            return 0
        h = self.modified[-1]
        return self.s.chr_start(h) + max(e.end for e in self.edits[h])

    def assemble_at(self, x: int, pad: str = "") -> tuple[str, int]:
        """The context with the filler cut at stream position ``x`` (after every edit), then ``pad``, then
        the end items; returns it and the character offset of the first end item in it."""
        s = self.s
        g = s.locate_chr(x)
        off = x - s.chr_start(g)
        if g in self.edits:
            text, starts = self.mod_text(g)
            k = off + sum(len(e.text) - (e.end - e.start) for e in self.edits[g] if e.end <= off)
        else:
            text, starts, k = s.paragraphs[s.par(g)], [], off
        context, _tail, tail_char, pos = self.assemble(g, text, starts, k, pad)
        return context, tail_char + pos

    def assemble(
        self, g: int, text: str, starts: list[int], k: int, pad: str, post: str = ""
    ) -> tuple[str, str, int, int]:
        """Join the stream up to paragraph ``g``, the first ``k`` characters of its (edited) ``text`` and
        the end items; set every item's ``char_offset``.

        Returns the context, its tail (from paragraph ``g``), the tail's offset in the context and where the
        first end item starts in the tail.
        """
        end_join = "\n".join(it.text for it in self.end_items)
        pieces: list[str] = []
        added = 0
        cursor = 0
        for h in self.modified:
            if h >= g:
                break
            self.s.text_pieces(cursor, self.s.chr_start(h), pieces)
            mt, mstarts = self.mod_text(h)
            cbase = self.s.chr_start(h) + added
            for e, st in zip(self.edits[h], mstarts, strict=True):
                e.item.char_offset = cbase + st + e.item.lead
            pieces.append(mt)
            added += len(mt) - len(self.s.paragraphs[self.s.par(h)])
            cursor = self.s.chr_start(h + 1)
        self.s.text_pieces(cursor, self.s.chr_start(g), pieces)
        tail_char = self.s.chr_start(g) + added
        for e, st in zip(self.edits.get(g, ()), starts, strict=True):
            e.item.char_offset = tail_char + st + e.item.lead
        tail = _tail(text, k, pad, post, end_join)
        first = pos = len(tail) - len(end_join) - len(post)
        for it in self.end_items:
            it.char_offset = tail_char + pos
            pos += len(it.text) + 1
        pieces.append(tail)
        return "".join(pieces), tail, tail_char, first


# --------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------
def _resolve(tokenizer: Tokenizer | str) -> Tokenizer:
    return get_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer


def _check_spec(spec: CellSpec) -> None:
    if not isinstance(spec.length, int) or isinstance(spec.length, bool):
        raise SpecError(f"length must be a whole number of tokens, got {spec.length!r}")
    if spec.length < 1:
        raise SpecError(f"length must be positive, got {spec.length}")
    if spec.length > MAX_LENGTH:
        raise SpecError(f"length {spec.length} is above the maximum of {MAX_LENGTH} tokens")


def _layout_tokenizer(tok: Tokenizer) -> Tokenizer:
    """The tokenizer that lays out the context: a count API's proxy, an ``approx:`` wrapper's inner one."""
    return getattr(tok, "layout_tokenizer", None) or tok


_SIZE_MEMO: dict[tuple[str, str], int] = {}


def _prepare(spec: CellSpec, tok: Tokenizer) -> tuple[NeedlePlan, list[PlannedNeedle], list[int], int]:
    _check_spec(spec)
    plan = get_task(spec.task).plan(spec)
    layout_tok = _layout_tokenizer(tok)
    key_base = str(getattr(layout_tok, "cache_key", layout_tok.name))
    planned: list[PlannedNeedle] = (
        [plan.change] if plan.change is not None else [*plan.needles, *plan.distractors]
    )
    sizes: list[int] = []
    for p in planned:
        text = (plan.clause_sep + p.text) if p.kind == "changed" else p.text
        n = _SIZE_MEMO.get((key_base, text))
        if n is None:
            if len(_SIZE_MEMO) > 10_000:
                _SIZE_MEMO.clear()
            n = _SIZE_MEMO[(key_base, text)] = layout_tok.count(text)
        sizes.append(n)
    min_len = sum(sizes) + (8 if plan.change is not None else 0)
    if spec.length < min_len:
        raise SpecError(
            f"length {spec.length} is below the size of the needles ({min_len} tokens in {layout_tok.name})"
        )
    return plan, planned, sizes, min_len


def validate_spec(spec: CellSpec, tokenizer: Tokenizer | str) -> None:
    """Check a spec without building it (cheap: counts only the needle texts).

    Args:
        spec: The cell.
        tokenizer: A tokenizer or a spec.

    Raises:
        SpecError: Unknown task/language, depth outside 0..100, bad counts, length below the needles' size.
        UnknownTokenizerError: Unknown tokenizer spec.
    """
    _prepare(spec, _resolve(tokenizer))


def _layout(
    spec: CellSpec,
    plan: NeedlePlan,
    items: list[_Item],
    stream: FillerStream,
    stats: CorpusStats,
    length: int,
) -> _Result:
    lay = _Layout(stream, stats, length)
    _place(lay, plan, items)
    return lay.finish()


def _place(lay: _Layout, plan: NeedlePlan, items: list[_Item]) -> None:
    if plan.change is not None:
        lay.place_change(items[0], plan.clause_sep)
    else:
        ordered = sorted(items, key=lambda it: (it.planned.depth, it.order))
        rest = sum(it.size for it in ordered)
        for it in ordered:
            lay.place_insert(it, rest)
            rest -= it.size


class Frame(Protocol):
    """A prompt's text around a context, measured by the model's own server (see :func:`build_haystack`)."""

    def estimate(self) -> int:
        """A guess of the prompt's tokens outside the context (for the first probes only)."""
        ...

    def measure(self, lead: str, end: str, piece: str) -> int:
        """The server's prompt tokens of a prompt whose context is ``lead + piece``, then ``end`` on its
        own line when given (the needle texts at the start and at the end of a context)."""
        ...


def _frame_parts(frame: Frame, fc: Any, target: int, lead: str, end: str) -> tuple[int, int, int]:
    """Prompt tokens outside the context, of a lead text and of an end text, from ``frame``'s measures of
    prompts whose context is a counted piece of filler."""
    if fc.known_piece() is None:
        fc.warm(target - frame.estimate())
    piece, tokens = fc.known_piece()
    for _ in range(2):
        plain = frame.measure("", "", piece)
        lead_n = frame.measure(lead, "", piece) - plain if lead else 0
        end_n = frame.measure("", end, piece) - plain if end else 0
        if frame.measure("", "", piece) == plain:  # kept: all three came from one source
            break
    return plain - tokens, lead_n, end_n


def _layout_shared(
    spec: CellSpec,
    plan: NeedlePlan,
    tok: Any,
    make_items: Callable[[], list[_Item]],
    stream: FillerStream,
    stats: CorpusStats,
    min_len: int,
    frame: Frame | None,
) -> tuple[_Result, int]:
    """A count-API model's layout from shared filler counts (:mod:`haystacks.filler_counts`).

    The layout tokenizer places the items; the filler then ends where the model's count of it, plus the
    model's count of each inserted text (one call per distinct text), makes ``spec.length``: the context's
    share of a prompt, which includes the newline a prompt puts after the context (counted with the text
    before it, which it can merge with). Counts are assumed to add up where a needle is inserted; the
    generation's reported prompt tokens confirm it (a cell found off is recorded as such). A needle's token
    offset interpolates the filler's exact counts.
    """
    fc = tok.filler_counts(stream)
    proxy = stats.tokenizer
    target = spec.length
    base = 0
    lp = max(min_len, round((target - (frame.estimate() if frame else 0)) / fc.ratio()))
    for _ in range(8):
        items = make_items()
        lay = _Layout(stream, stats, lp)
        _place(lay, plan, items)
        inner = [(h, e) for h in lay.modified for e in lay.edits[h]]
        end_text = "\n".join(it.text for it in lay.end_items)
        if frame is not None:
            # the first needle and the end are measured inside a prompt, with the frame
            lead = inner[0][1].item.inserted if inner else ""
            base, lead_n, end = _frame_parts(frame, fc, target, lead, end_text)
            sizes = [lead_n] + [tok.count(e.item.inserted) for _, e in inner[1:]] if inner else []
        else:
            sizes = [tok.count(e.item.inserted) for _, e in inner]
            # counted with the newline a prompt puts after the context (a needle's full stop merges with it)
            end = tok.count(end_text + "\n") if end_text else 0
        r = target - base - sum(sizes) - end
        if r < 1:
            raise SpecError(
                f"length {target} is below the size of the needles ({target - r} tokens in {tok.name})"
            )
        x, m = fc.cut(r)
        implied = fc.proxy_at(x) + lay.total_delta() + (proxy.count("\n" + end_text) if end_text else 0)
        last = lay.last_edit_end()
        if x > last and abs(implied - lp) <= max(2, lp // 1000):
            break
        if x <= last:
            # the model's cut falls before the last edit: lay out shorter, by the proxy tokens in between
            implied -= fc.proxy_at(last) - fc.proxy_at(x) + 2
        lp = max(min_len, implied)
    else:
        if x <= lay.last_edit_end():
            raise SpecError(f"could not fit the needles of a {target}-token context in {tok.name}")
    context, _ = lay.assemble_at(x, fc.pad(r))
    total = m + sum(sizes) + end
    before = 0
    for (h, e), n in zip(inner, sizes, strict=True):
        e.item.token_offset = round(fc.estimate(stream.chr_start(h) + e.start)) + before
        before += n
    for i, it in enumerate(lay.end_items):
        rest = "\n".join(t.text for t in lay.end_items[i:])
        it.token_offset = total - (end if i == 0 and frame is not None else tok.count(rest + "\n"))
    return _Result(context=context, tokens=total, items=lay.items()), target - base


_WINDOW = 256  # characters before the last paragraph counted with it when its cut is moved
_MAX_MOVES = 4  # full counts spent on moving the cut of one layout


def _move_cut(
    res: _Result, measured: int, target: int, counter: Callable[[str], int | None]
) -> tuple[_Result, int] | None:
    """Move the cut of ``res``'s last paragraph (or pad it) so that the whole context counts ``target``.

    For tokenizers whose counts do not add up across pieces: the count of the context is taken to change
    like the count of its end (the last paragraph with a window of text before it); each candidate is then
    confirmed by a full count, which re-anchors the estimate for the next one. Returns the new result and
    its count, or None (``res`` and its items left as they were).
    """
    lay = res.layout
    if lay is None:
        return None
    _g, text, _starts, kmin, k0, pre0, post0 = lay.cut
    end_join = "\n".join(it.text for it in lay.end_items)
    win = res.context[max(0, res.tail_char - _WINDOW) : res.tail_char]
    memo: dict[tuple[int, str, str], int] = {}

    def loc(k: int, pre: str = "", post: str = "") -> int:
        got = memo.get((k, pre, post))
        if got is None:
            got = counter(win + _tail(text, k, pre, post, end_join))
            if got is None:
                raise _NoLocalCount
            memo[(k, pre, post)] = got
        return got

    try:
        return _move_cut_search(lay, text, kmin, end_join, (k0, pre0, post0), measured, target, counter, loc)
    except _NoLocalCount:
        lay.recut(k0, pre0, post0)
        return None


class _NoLocalCount(Exception):
    """The counter gave no count of a piece (moving the cut is then given up)."""


def _move_cut_search(
    lay: _Layout,
    text: str,
    kmin: int,
    end_join: str,
    cur: tuple[int, str, str],
    measured: int,
    target: int,
    counter: Callable[[str], int | None],
    loc: Callable[..., int],
) -> tuple[_Result, int] | None:
    """The search of :func:`_move_cut` from the cut ``cur`` (whose context counts ``measured``)."""
    k0, pre0, post0 = cur
    n = len(text)
    cur_n = measured
    tried = {cur}
    for _ in range(_MAX_MOVES):
        need = target - cur_n + loc(*cur)
        if loc(kmin) > need or loc(n) + 3 < need:
            break  # not within this paragraph
        a, b = kmin, n
        if loc(b) <= need:
            k = b
        else:
            while b - a > 1:  # loc(a) <= need < loc(b)
                m = (a + b) // 2
                if loc(m) <= need:
                    a = m
                else:
                    b = m
            k = a
        window = range(max(kmin, k - 8), min(n, k + 8) + 1)
        cands = sorted((abs(loc(x) - need), abs(x - k), -x, x, "", "") for x in window)
        if cands[0][0]:  # no cut alone gives the count: the pads too
            under = [x for x in window if 0 < need - loc(x) <= 3]
            under.sort(key=lambda y: (loc(y), y), reverse=True)
            for i, (pre, post) in enumerate(_PADS):
                if pre.startswith("\n") and end_join:
                    continue
                cands += [
                    (abs(loc(x, pre, post) - need), 1 + i, j, x, pre, post) for j, x in enumerate(under[:4])
                ]
            cands.sort()
        pick = next(((x, pre, post) for *_, x, pre, post in cands if (x, pre, post) not in tried), None)
        if pick is None:
            break
        tried.add(pick)
        moved = lay.recut(*pick)
        got = counter(moved.context)
        if got is None:
            break
        if got == target:
            return moved, got
        if abs(got - target) <= abs(cur_n - target):
            cur, cur_n = pick, got
    lay.recut(k0, pre0, post0)  # the items' offsets back to ``res``
    return None


def build_haystack(
    spec: CellSpec, tokenizer: Tokenizer | str, corpus: Corpus, frame: Frame | None = None
) -> Haystack:
    """Build one haystack, sized exactly in ``tokenizer``.

    Args:
        spec: The cell.
        tokenizer: A tokenizer or a spec for :func:`haystacks.tokenizers.get_tokenizer`.
        corpus: The seed corpus (:func:`haystacks.corpus.load_corpus`).
        frame: For a count-API tokenizer (:class:`~haystacks.tokenizers.CountingTokenizer`): the prompt
            around the context as the model's server counts it. ``spec.length`` is then the whole prompt's
            tokens, and the haystack's spec says the context's share.

    Returns:
        The haystack. Same arguments give byte-identical results in every process.

    Raises:
        SpecError: Invalid spec, or a length below the size of the needles.
        UnknownTokenizerError: ``tokenizer`` is an unknown spec.
        TokenizerError: The tokenizer failed (e.g. a server did not answer).
    """
    tok = _resolve(tokenizer)
    plan, planned, sizes, min_len = _prepare(spec, tok)
    layout_tok = _layout_tokenizer(tok)
    stats = corpus_stats(corpus, layout_tok)
    stream = filler_stream(corpus, layout_tok, spec.seed, spec.shuffle)

    def make_items() -> list[_Item]:
        pairs = enumerate(zip(planned, sizes, strict=True))
        return [_Item(planned=p, order=i, size=n) for i, (p, n) in pairs]  # type: ignore[arg-type]

    counted = bool(getattr(tok, "exact", True))  # counts are in the tokenizer named
    note: str | None = None if counted else f"{tok.name} is a stand-in: lengths counted in {layout_tok.name}"
    shared = tok is not layout_tok and bool(getattr(tok, "shared", False)) and hasattr(tok, "filler_counts")
    if shared:
        try:
            res, context_target = _layout_shared(spec, plan, tok, make_items, stream, stats, min_len, frame)
            spec = dataclasses.replace(spec, length=context_target)
        except TokenizerError as exc:
            if not getattr(exc, "no_count", False):
                raise
            shared, counted = False, False  # a count API without a count: the proxy's layout, said so
            note = f"{tok.name} gave no count: lengths counted in {layout_tok.name}"
    verify = not stats.additive or (tok is not layout_tok and hasattr(tok, "count_exact"))
    if shared:
        items, total = res.items, res.tokens
    elif not verify or not counted:
        items = make_items()
        res = _layout(spec, plan, items, stream, stats, spec.length)
        total = res.tokens
    else:
        counter = getattr(tok, "count_exact", None) or tok.count
        movable = not hasattr(tok, "count_exact")  # a local tokenizer: moving the cut costs no API calls
        target = spec.length
        lay_len = target
        tried: set[int] = set()
        best: tuple[tuple[int, bool], _Result, list[_Item], int] | None = None
        for _ in range(_MAX_ATTEMPTS):
            if lay_len in tried:
                break
            tried.add(lay_len)
            items = make_items()
            res = _layout(spec, plan, items, stream, stats, lay_len)
            measured = counter(res.context)
            if measured is None:  # a count API without a count: keep the proxy's layout, say so
                counted = False
                note = f"{tok.name} gave no count: lengths counted in {layout_tok.name}"
                best = ((0, False), res, items, res.tokens)
                counter = layout_tok.count
                break
            if movable and measured != target and abs(measured - target) <= max(64, target // 50):
                moved = _move_cut(res, measured, target, counter)
                if moved is not None:
                    res, measured = moved
            score = (abs(measured - target), measured > target)
            if best is None or score < best[0]:
                best = (score, res, items, measured)
            if measured == target:
                break
            step = round((target - measured) * lay_len / max(measured, 1)) or (1 if target > measured else -1)
            lay_len = max(min_len, lay_len + step)
        assert best is not None
        _, res, items, total = best
        for it in items:
            it.token_offset = counter(res.context[: it.char_offset]) if it.char_offset else 0
    exact = counted and total == spec.length
    if counted and not exact:
        note = f"no cut of the filler gives exactly {spec.length} tokens in {tok.name} (closest {total})"

    def placed(it: _Item) -> Needle:
        return Needle(
            kind=it.planned.kind,
            text=it.text,
            key=it.planned.key,
            answer=it.planned.answer,
            depth=it.planned.depth,
            actual_depth=round(100.0 * it.token_offset / total, 4) if total else 0.0,
            char_offset=it.char_offset,
            token_offset=it.token_offset,
            original=it.original,
            label=it.planned.label,
        )

    by_order = sorted(items, key=lambda it: it.order)
    asked = tuple(placed(it) for it in by_order if it.planned.kind in ("needle", "changed"))
    distractors = tuple(placed(it) for it in by_order if it.planned.kind == "distractor")
    return Haystack(
        spec=spec,
        context=res.context,
        context_tokens=total,
        tokenizer=tok.name,
        tokens_exact=exact,
        tokens_note=note,
        tokens_counted=counted,
        needles=asked,
        distractors=distractors,
        question=plan.question,
        answers=plan.answers,
        corpus_sha256=corpus.sha256,
        tokenizer_backend=str(getattr(tok, "backend", "")),
        absent_key=plan.absent_key,
        answer_key=plan.answer_key(
            spec.task, spec.language, next((n.text for n in asked if n.kind == "changed"), None)
        ),
    )


def build_grid(specs: Iterable[CellSpec], tokenizer: Tokenizer | str, corpus: Corpus) -> Iterator[Haystack]:
    """Build many haystacks lazily, one at a time, in the order of ``specs``.

    The corpus is tokenized once per tokenizer (cached by tokenizer and corpus hash); each cell then costs
    a few encodes of single paragraphs plus the copy of its context.

    Args:
        specs: Cells to build.
        tokenizer: A tokenizer or a tokenizer spec.
        corpus: The seed corpus.

    Yields:
        One :class:`Haystack` per spec.
    """
    tok = _resolve(tokenizer)
    for spec in specs:
        yield build_haystack(spec, tok, corpus)
