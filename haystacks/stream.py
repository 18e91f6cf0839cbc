"""The filler stream: corpus passes laid end to end, addressed by token and character offsets.

For a given (seed, shuffle) the filler is ONE endless stream of paragraphs: pass ``k`` is the corpus in its
own order, or (``shuffle``) in an order drawn from ``random.Random(f"{seed}:shuffle:{k}")`` (runs of
structural lines, :attr:`~haystacks.corpus.Corpus.groups`, move as one). A haystack of
length L is a prefix of this stream plus its needles, so haystacks share prefixes across lengths and depths.

Nothing here re-tokenizes per cell: :class:`CorpusStats` counts every seed paragraph once per tokenizer (and
lazily the token offsets of the sentence starts inside a paragraph), and :class:`FillerStream` turns a token
position into a paragraph with prefix sums. Memory is one pass's offsets and text per cached pass, never the
whole stream; a context is materialized only when a haystack is built.
"""

from __future__ import annotations

import random
import threading
from bisect import bisect_right
from collections import OrderedDict
from itertools import accumulate
from typing import Any

from haystacks.corpus import Corpus

__all__ = ["CorpusStats", "FillerStream", "corpus_stats", "filler_stream"]


class CorpusStats:
    """Token counts of one corpus in one tokenizer, computed once.

    Attributes:
        counts: Tokens of each paragraph (``count(paragraph)``).
        pass_tokens: Tokens of one whole pass (their sum).
        additive: True when counts add up exactly across paragraph boundaries (checked on the corpus, not
            only claimed by the tokenizer); the builder then needs no full count of a context.
    """

    def __init__(self, corpus: Corpus, tokenizer: Any) -> None:
        self.corpus = corpus
        self.tokenizer = tokenizer
        many = getattr(tokenizer, "count_many", None)
        if many is not None:
            counts = [int(c) for c in many(list(corpus.paragraphs))]
        else:
            counts = [tokenizer.count(p) for p in corpus.paragraphs]
        self.counts: list[int] = counts
        self.pass_tokens: int = sum(counts)
        claimed = bool(getattr(tokenizer, "additive", False))
        # Every join (in any order, shuffled or not) is a newline then the next paragraph; one extra encode of
        # the whole pass confirms the claim on this corpus.
        joins = all(p.endswith("\n") for p in corpus.paragraphs)
        self.additive: bool = claimed and joins and tokenizer.count(corpus.text) == self.pass_tokens
        self._prefix: dict[int, list[int]] = {}
        self.memo: dict[Any, Any] = {}

    def unit_prefix(self, j: int) -> list[int]:
        """``count(paragraph[:start])`` for each unit start of paragraph ``j``, then the paragraph's count.

        Args:
            j: Corpus paragraph index.

        Returns:
            A list one longer than the paragraph's units; first 0, last ``counts[j]``.
        """
        p = self._prefix.get(j)
        if p is None:
            par = self.corpus.paragraphs[j]
            starts = self.corpus.unit_starts[j]
            p = [0, *(self.tokenizer.count(par[:s]) for s in starts[1:]), self.counts[j]]
            self._prefix[j] = p
        return p

    def remember(self, key: Any, value: Any) -> Any:
        """Store a memoized result (bounded: the memo is dropped when it grows past 20,000 entries)."""
        if len(self.memo) >= 20_000:
            self.memo.clear()
        self.memo[key] = value
        return value


class _Pass:
    __slots__ = ("cum_chr", "cum_tok", "order", "text")

    def __init__(self, order: list[int], cum_tok: list[int], cum_chr: list[int], text: str) -> None:
        self.order = order
        self.cum_tok = cum_tok
        self.cum_chr = cum_chr
        self.text = text


class FillerStream:
    """The endless paragraph stream of one (corpus, tokenizer, seed, shuffle).

    A global paragraph index ``g`` is pass ``g // n``, position ``g % n`` in that pass.
    """

    def __init__(self, stats: CorpusStats, seed: int, shuffle: bool, max_cached_passes: int = 8) -> None:
        corpus = stats.corpus
        self.stats = stats
        self.paragraphs = corpus.paragraphs
        self.n = len(corpus.paragraphs)
        self.pass_tokens = stats.pass_tokens
        self.pass_chars = len(corpus.text)
        self.seed = seed
        self.shuffle = shuffle
        self._max = max_cached_passes
        self._cache: OrderedDict[int, _Pass] = OrderedDict()
        self._lock = threading.Lock()
        ident = list(range(self.n))
        self._ident = self._make(ident, corpus.text)

    def _make(self, order: list[int], text: str | None) -> _Pass:
        counts = self.stats.counts
        cum_tok = [0, *accumulate(counts[j] for j in order)]
        cum_chr = [0, *accumulate(len(self.paragraphs[j]) for j in order)]
        if text is None:
            text = "".join(self.paragraphs[j] for j in order)
        return _Pass(order, cum_tok, cum_chr, text)

    def _pass(self, k: int) -> _Pass:
        if not self.shuffle:
            return self._ident
        with self._lock:
            p = self._cache.get(k)
            if p is not None:
                self._cache.move_to_end(k)
                return p
        groups = self.stats.corpus.groups
        rng = random.Random(f"{self.seed}:shuffle:{k}")
        if not groups or len(groups) == self.n:  # every paragraph alone
            order = list(range(self.n))
            rng.shuffle(order)
        else:  # the lines of a stanza, a list or a table move together
            picks = list(range(len(groups)))
            rng.shuffle(picks)
            order = [j for g in picks for j in groups[g]]
        p = self._make(order, None)
        with self._lock:
            self._cache[k] = p
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return p

    def par(self, g: int) -> int:
        """Corpus paragraph index at global position ``g``."""
        k, i = divmod(g, self.n)
        return self._pass(k).order[i]

    def tok_start(self, g: int) -> int:
        """Stream tokens before global paragraph ``g``."""
        k, i = divmod(g, self.n)
        return k * self.pass_tokens + self._pass(k).cum_tok[i]

    def chr_start(self, g: int) -> int:
        """Stream characters before global paragraph ``g``."""
        k, i = divmod(g, self.n)
        return k * self.pass_chars + self._pass(k).cum_chr[i]

    def locate(self, s: int) -> int:
        """The global paragraph containing stream token position ``s`` (``s < 0`` gives 0)."""
        if s <= 0:
            return 0
        k, rest = divmod(s, self.pass_tokens)
        i = bisect_right(self._pass(k).cum_tok, rest) - 1
        return k * self.n + min(max(i, 0), self.n - 1)

    def locate_chr(self, x: int) -> int:
        """The global paragraph containing stream character position ``x`` (``x < 0`` gives 0)."""
        if x <= 0:
            return 0
        k, rest = divmod(x, self.pass_chars)
        i = bisect_right(self._pass(k).cum_chr, rest) - 1
        return k * self.n + min(max(i, 0), self.n - 1)

    def text(self, a: int, b: int) -> str:
        """The stream text between global char positions ``a`` and ``b``."""
        out: list[str] = []
        self.text_pieces(a, b, out)
        return "".join(out)

    def text_pieces(self, a: int, b: int, out: list[str]) -> None:
        """Append the stream text between global char positions ``a`` and ``b`` to ``out`` (as slices)."""
        C = self.pass_chars
        while a < b:
            k, off = divmod(a, C)
            end = min(b - k * C, C)
            t = self._pass(k).text
            out.append(t if off == 0 and end == C else t[off:end])
            a = k * C + end


_LOCK = threading.Lock()
_STATS: OrderedDict[tuple[str, str], CorpusStats] = OrderedDict()
_STREAMS: OrderedDict[tuple[str, str, int | None, bool], FillerStream] = OrderedDict()
_MAX_STATS = 8
_MAX_STREAMS = 4


def _key(tokenizer: Any) -> str:
    return str(getattr(tokenizer, "cache_key", None) or tokenizer.name)


def corpus_stats(corpus: Corpus, tokenizer: Any) -> CorpusStats:
    """The cached :class:`CorpusStats` of (tokenizer, corpus); computed on first use."""
    key = (_key(tokenizer), corpus.sha256)
    with _LOCK:
        st = _STATS.get(key)
        if st is not None:
            _STATS.move_to_end(key)
            return st
    st = CorpusStats(corpus, tokenizer)
    with _LOCK:
        _STATS[key] = st
        while len(_STATS) > _MAX_STATS:
            _STATS.popitem(last=False)
    return st


def filler_stream(corpus: Corpus, tokenizer: Any, seed: int, shuffle: bool) -> FillerStream:
    """The cached :class:`FillerStream` (unshuffled streams are shared by every seed)."""
    key = (_key(tokenizer), corpus.sha256, seed if shuffle else None, shuffle)
    with _LOCK:
        fs = _STREAMS.get(key)
        if fs is not None:
            _STREAMS.move_to_end(key)
            return fs
    fs = FillerStream(corpus_stats(corpus, tokenizer), seed, shuffle)
    with _LOCK:
        _STREAMS[key] = fs
        while len(_STREAMS) > _MAX_STREAMS:
            _STREAMS.popitem(last=False)
    return fs


def clear_caches() -> None:
    """Drop every cached stats and stream (benchmarks use it to measure a cold start)."""
    with _LOCK:
        _STATS.clear()
        _STREAMS.clear()
