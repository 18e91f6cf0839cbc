"""Exact model-token counts of the filler stream, learned from a count API with few calls.

A model known only through a token-count API (Claude, Gemini) answers one number per call: the tokens of
the whole text sent. Recounting every cell's context costs the whole context several times per cell. Here
the *filler stream* (:mod:`haystacks.stream`) is counted instead, once per stream, in pieces that start or
end at a paragraph start: counts add up there (a newline ends every pre-token in byte-level BPE and
SentencePiece vocabularies; 0 of 2,000 paragraph joins of the seed corpus differ in cl100k or o200k). Every
cell of every length, depth, task and (unshuffled) seed then shares what was learned:

* ``M(x)``: the model's tokens of the stream's first ``x`` characters followed by the newline a prompt puts
  after a context (inside a paragraph: the join of the context's last character and that newline is
  counted, ``"。\n"`` being one token in cl100k and o200k); at a paragraph start, of the characters alone
  (they end with the paragraph's own newline). ``M(0) = 0``.
* anchors: paragraph starts with ``M`` exact, from the count of the piece between two anchors;
* points: positions inside a paragraph with ``M`` exact, from the count of the piece from the anchor before
  (plus the newline);
* :meth:`FillerCounts.cut`: a position ``x`` with ``M(x) == R``, found by a bracketed secant search. Each
  probe is one count at the position where an estimate, interpolated between the nearest exact points, puts
  ``R``. Far from the last anchor (over :data:`ANCHOR_SPAN` estimated tokens) and uncertain by more than a
  paragraph, the probe goes to a paragraph start a little below ``R`` instead (an anchor: later probes count
  only from there); an anchor that overshoots is counted back from, not past. Two estimates compete: linear
  in the layout tokenizer's (the proxy's) counts, and, for short spans, linear in characters; each probe
  scores both, and a bracket a few tokens wide is searched by characters. Where no cut gives ``R`` (a
  character of two tokens straddles it) the context ends with :data:`PAD` when that makes it exact.

Between exact points :meth:`FillerCounts.estimate` interpolates ``M`` on the proxy (a needle's depth is not
worth a count per cell).
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right, insort
from collections.abc import Callable

from haystacks.stream import FillerStream

__all__ = ["MAX_PROBES", "PAD", "FillerCounts"]

#: Count calls one :meth:`FillerCounts.cut` may make before it settles for the closest count under its target.
MAX_PROBES = 24
#: What a context ends with when no cut of the filler gives the exact count (one more count finds out).
PAD = " "
#: Relative error of an estimate before anything was counted (the proxy-to-model ratio is then a guess from
#: a few short texts).
_PRIOR_ERROR = 0.15
#: Uncertainty (tokens) above which a probe goes to a paragraph start (an anchor) rather than inside one.
_ANCHOR_ABOVE = 40
#: Spans (tokens) up to this size are "small" for scoring the estimates (characters predict short spans of
#: one script well and long mixed ones badly; the proxy the other way round).
_SMALL = 200
#: How far below its target (in estimated standard errors) a far probe places its anchor.
_BELOW = 1.5
#: A bracket at most this many tokens wide is searched by characters.
_TIGHT = 64
#: A probe further than this (estimated tokens) from the anchor before it goes to a paragraph start: later
#: probes then count only from there.
ANCHOR_SPAN = 2000


class FillerCounts:
    """Exact ``M(x)`` of one filler stream in one model (see the module docstring).

    Args:
        stream: The filler stream (its paragraphs, offsets and proxy counts).
        count: The model's tokens of a text that starts at a paragraph start (one count call).
        proxy_count: The layout tokenizer's count (local, free).
        prior_ratio: Model tokens per proxy token, as far as known before any filler was counted.

    Thread-safe: one lock serialises the searches (cells of one length share their count).
    """

    def __init__(
        self,
        stream: FillerStream,
        count: Callable[[str], int],
        proxy_count: Callable[[str], int],
        prior_ratio: float = 1.0,
    ) -> None:
        self.s = stream
        self._count = count
        self._proxy = proxy_count
        self._prior = prior_ratio if prior_ratio > 0 else 1.0
        self._xs: list[int] = [0]
        self._m: dict[int, int] = {0: 0}
        self._anchors: list[int] = [0]
        self._cuts: dict[int, tuple[int, int]] = {}
        # relative error of each estimate, by (estimate, small span)
        self._scores: dict[tuple[str, bool], float] = {}
        self._pmemo: dict[tuple[int, int], int] = {}
        self._piece: tuple[str, int] | None = None
        self._pads: dict[int, str] = {}
        self._lock = threading.RLock()
        #: Count calls made and characters counted (the sizing cost).
        self.calls = 0
        self.chars = 0

    # -- proxy positions -------------------------------------------------------------------------------

    def proxy_at(self, x: int) -> int:
        """Proxy tokens of the stream's first ``x`` characters (paragraph prefix sums plus one partial)."""
        s = self.s
        g = s.locate_chr(x)
        off = x - s.chr_start(g)
        base = s.tok_start(g)
        if off <= 0:
            return base
        j = s.par(g)
        par = s.paragraphs[j]
        if off >= len(par):
            return base + s.stats.counts[j]
        key = (j, off)
        v = self._pmemo.get(key)
        if v is None:
            if len(self._pmemo) > 50_000:
                self._pmemo.clear()
            v = self._pmemo[key] = self._proxy(par[:off])
        return base + v

    def _x_at_proxy(self, pt: float, lo: int) -> int:
        """The last position at or after ``lo`` whose proxy prefix is at most ``pt``."""
        s = self.s
        g = max(s.locate(math.floor(pt)), s.locate_chr(lo))
        start = s.chr_start(g)
        j = s.par(g)
        par = s.paragraphs[j]
        if s.tok_start(g) + s.stats.counts[j] <= pt:
            return start + len(par)
        a, b = 0, len(par)
        while b - a > 1:
            mid = (a + b) // 2
            if self.proxy_at(start + mid) <= pt:
                a = mid
            else:
                b = mid
        return start + a

    # -- estimates -------------------------------------------------------------------------------------

    def _ratios(self) -> tuple[float, float]:
        """Model tokens per proxy token and per character over everything counted (priors before)."""
        last = self._xs[-1]
        if last > 0 and self._m[last] > 0:
            return self._m[last] / max(self.proxy_at(last), 1), self._m[last] / last
        return self._prior, self._prior * self.proxy_at(4096) / 4096

    def ratio(self) -> float:
        """Model tokens per proxy token over everything counted so far."""
        with self._lock:
            return self._ratios()[0]

    def _neighbours(self, x: int) -> tuple[int, int | None]:
        i = bisect_right(self._xs, x) - 1
        return self._xs[i], (self._xs[i + 1] if i + 1 < len(self._xs) else None)

    def _guess(self, kind: str, x: int) -> float:
        lo, hi = self._neighbours(x)
        mlo = self._m[lo]
        if lo == x:
            return float(mlo)
        if kind == "proxy":
            f = self.proxy_at
        else:

            def f(y: int) -> int:
                return y

        if hi is not None and f(hi) > f(lo):
            return mlo + (self._m[hi] - mlo) * (f(x) - f(lo)) / (f(hi) - f(lo))
        per_proxy, per_char = self._ratios()
        return mlo + (per_proxy if kind == "proxy" else per_char) * (f(x) - f(lo))

    def estimate(self, x: int) -> float:
        """``M(x)``: exact at a counted point, else interpolated on the proxy between the nearest ones."""
        with self._lock:
            return self._guess("proxy", x)

    def exact(self, x: int) -> int | None:
        """``M(x)`` when it was counted, else None."""
        return self._m.get(x)

    def _best(self, span: float) -> tuple[str, float]:
        """The estimate to trust at this span and its relative error."""
        small = span <= _SMALL
        proxy = self._scores.get(("proxy", small), self._scores.get(("proxy", not small), _PRIOR_ERROR))
        chars = self._scores.get(("chars", small))
        if small and chars is not None and chars < proxy:
            return "chars", chars
        return "proxy", proxy

    def _target(self, kind: str, r: float, lo: int, hi: int | None) -> int:
        """Where ``kind`` puts ``M == r`` between the exact points ``lo`` and ``hi``."""
        mlo = self._m[lo]
        per_proxy, per_char = self._ratios()
        if kind == "chars":
            if hi is not None:
                x = lo + (r - mlo) * (hi - lo) / max(self._m[hi] - mlo, 1)
            else:
                x = lo + (r - mlo) / max(per_char, 1e-9)
            return round(x)
        plo = self.proxy_at(lo)
        if hi is not None:
            pt = plo + (r - mlo) * (self.proxy_at(hi) - plo) / max(self._m[hi] - mlo, 1)
        else:
            pt = plo + (r - mlo) / max(per_proxy, 1e-9)
        return self._x_at_proxy(pt, lo)

    # -- counting --------------------------------------------------------------------------------------

    def _add(self, x: int, m: int, anchor: bool) -> None:
        if x not in self._m:
            insort(self._xs, x)
        self._m[x] = m
        if anchor and x not in self._anchors:
            insort(self._anchors, x)

    def _probe(self, x: int) -> int:
        """Count one piece ending at ``x`` (or, for a paragraph start, starting there); ``M(x)``.

        A piece runs from the last anchor before ``x``; when ``x`` is a paragraph start and the next anchor
        after it is nearer, from ``x`` to that anchor instead (``M(x) = M(anchor) - count``).
        """
        s = self.s
        is_start = s.chr_start(s.locate_chr(x)) == x
        i = bisect_right(self._anchors, x) - 1
        a = self._anchors[i]
        after = self._anchors[i + 1] if i + 1 < len(self._anchors) else None
        lo, _ = self._neighbours(x)
        guesses = {kind: self._guess(kind, x) for kind in ("proxy", "chars")}
        if is_start and after is not None and after - x < x - a:
            m = self._m[after] - self._counted(s.text(x, after))
        else:
            # a piece ending inside a paragraph is counted with the newline a prompt puts after a context
            m = self._m[a] + self._counted(s.text(a, x) + ("" if is_start else "\n"))
        near = self._m[lo]
        self._add(x, m, anchor=is_start)
        span = max(abs(m - near), 1)
        for kind, g in guesses.items():
            key = (kind, span <= _SMALL)
            err = abs(g - m) / span
            old = self._scores.get(key)
            self._scores[key] = err if old is None else 0.5 * (old + err)
        return m

    def _counted(self, piece: str) -> int:
        v = self._count(piece)
        self.calls += 1
        self.chars += len(piece)
        return v

    def _bracket(self, r: int) -> tuple[int, int | None]:
        """The last exact position with ``M <= r`` and the first after it (None: none counted)."""
        lo = 0
        for x in self._xs:
            if self._m[x] > r:
                return lo, x
            lo = x
        return lo, None

    def _cuttable(self, x: int) -> bool:
        """A context may end at ``x``: inside a paragraph (not at its start)."""
        return x > 0 and self.s.text(x - 1, x) != "\n"

    def _nearest_cuttable(self, x: int, lo: int, hi: int | None) -> int | None:
        """The cuttable position nearest ``x`` strictly inside ``(lo, hi)`` (None: there is none near)."""
        for d in range(1, 64):
            for y in (x - d, x + d):
                if lo < y and (hi is None or y < hi) and y not in self._m and self._cuttable(y):
                    return y
        return None

    # -- the search ------------------------------------------------------------------------------------

    def cut(self, r: int) -> tuple[int, int]:
        """A position ``x`` with ``M(x) == r`` where the text allows one, else the closest below.

        Args:
            r: The model tokens the filler must have (``>= 1``).

        Returns:
            ``(x, M(x))``; ``M(x) < r`` only when no position gives ``r`` (a character of two or more
            tokens straddles it) or the probe budget ran out.
        """
        if r < 1:
            raise ValueError(f"a cut needs at least one token, got {r}")
        with self._lock:
            got = self._cuts.get(r)
            if got is None:
                got = self._search(r)
                self._cuts[r] = got
            return got

    def known_piece(self) -> tuple[str, int] | None:
        """A counted piece a context may end with: text from an anchor to a cuttable point, and its exact
        tokens (for measuring a prompt's frame around a context of known size). The shortest one known when
        first asked, then always that one; None before any."""
        with self._lock:
            if self._piece is not None:
                return self._piece
            best: tuple[int, int, int] | None = None
            for x in self._xs:
                if not self._cuttable(x):
                    continue
                a = self._anchors[bisect_right(self._anchors, x) - 1]
                if a < x and (best is None or x - a < best[0]):
                    best = (x - a, a, x)
            if best is None:
                return None
            _, a, x = best
            self._piece = (self.s.text(a, x), self._m[x] - self._m[a])  # its count includes a newline
            return self._piece

    def warm(self, r: int) -> None:
        """Probe towards ``r`` until a piece is known (:meth:`known_piece`); the probes serve later cuts."""
        with self._lock:
            if self.known_piece() is None:
                self._search(max(r, 1), until_piece=True)

    def _search(self, r: int, until_piece: bool = False) -> tuple[int, int]:
        s = self.s
        for _ in range(MAX_PROBES):
            if until_piece and self.known_piece() is not None:
                break
            hit = next((x for x in self._xs if self._m[x] == r and self._cuttable(x)), None)
            if hit is not None:
                return hit, r
            lo, hi = self._bracket(r)
            if hi is not None and hi - lo <= 1:
                break
            span = r - self._m[lo]
            kind, err = self._best(span)
            if hi is not None and self._m[hi] - self._m[lo] <= _TIGHT:
                kind = "chars"  # a few tokens apart: within a sentence, characters place a cut best
            x = self._target(kind, r, lo, hi)
            x = max(lo + 1, x if hi is None else min(x, hi - 1))
            a_below = self._anchors[bisect_right(self._anchors, x) - 1]
            if r - self._m[a_below] > ANCHOR_SPAN and err * span > _ANCHOR_ABOVE:
                # uncertain by more than a paragraph: probe a paragraph start (an anchor) instead, a little
                # below the estimate so that the short probes after it go forward from it
                if hi is None:
                    x = max(lo + 1, self._target(kind, r - _BELOW * err * span, lo, hi))
                p = s.chr_start(s.locate_chr(x))
                if p > lo and p not in self._m:
                    x = p
            elif not self._cuttable(x):
                x = self._nearest_cuttable(x, lo, hi)
                if x is None:
                    break
            if x in self._m:
                break
            self._probe(x)
        if until_piece:
            return 0, 0
        below = [x for x in self._xs if self._m[x] <= r and self._cuttable(x)]
        if not below:
            self._probe(1)
            below = [1]
        best = max(below, key=lambda y: (self._m[y], y))
        if self._m[best] < r:
            # no cut gives r (a character of two tokens straddles it): end with a space instead
            a = self._anchors[bisect_right(self._anchors, best) - 1]
            m = self._m[a] + self._counted(s.text(a, best) + PAD + "\n")
            if m == r:
                self._pads[r] = PAD
                return best, r
        return best, self._m[best]

    def pad(self, r: int) -> str:
        """What the context ends with after the cut of ``r`` (a space where no cut alone gives ``r``)."""
        return self._pads.get(r, "")
