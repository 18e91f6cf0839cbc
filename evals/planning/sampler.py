"""Adaptive sampling of a (length, depth, seed) grid: fewer calls for the same effective context length.

Pure and deterministic: no I/O, no global RNG. The runner asks :meth:`AdaptiveSampler.next_batch` for cells,
runs them, and asks again with everything observed so far (a resumed run passes the cells already in
``results.jsonl``); an empty batch means stop. :meth:`AdaptiveSampler.status` says where the answer stands.

**What is estimated.** The effective context length *of the full grid*: the value
:func:`evals.stats.effective_length` would give on the per-length mean scores if every candidate cell were run
(the first length whose recall is below the threshold, or has no scored cell, ends the run). Each length's
full-grid recall is the mean of a finite population (its depth x seed cells), so the sampler bounds that
finite mean, not a model's "true" recall, and a fully observed length is known exactly.

**Design-based bounds.** Within each length the sampler takes cells in a fixed pseudo-random order (a
permutation seeded from the grid and ``salt``), so the cells seen at a length are a simple random sample of
its cells. The bounds on the length's full-grid recall are then exact hypergeometric (Clopper-Pearson style)
bounds for 0/1 scores, or Serfling's bound for sampling without replacement for fractional scores, combined
with the sure bounds ``[seen sum / N, (seen sum + unseen) / N]``. They hold whatever the correlation between
cells (cells of one seed share a needle and filler, see :mod:`evals.stats`): the randomness is the sampler's
choice, not the model's answers. Each bound is one-sided at ``(1 - confidence) / (2 * n_lengths)``
(Bonferroni over both bounds of every length), so that all the per-length decisions an answer rests on hold
together with probability >= ``confidence``. Looking after every batch (optional stopping) and choosing
where to look from the same cells make that level approximate; ``benchmarks/bench_adaptive.py`` measures
the agreement with the full grid.

A length *passes* when its lower bound is >= threshold, *fails* when its upper bound is < threshold (or
when every cell was tried and none was scored: errors or over the model's window), and is *unknown* otherwise.

**Rounds.**

1. Coarse pass: ``coarse_per_length`` cells (default 2) at *every* length. Every length is looked at once,
   which the monotonicity check needs and which locates the fall roughly for ~2 x n_lengths calls; the
   alternative (a coarse depth set at a few lengths, i.e. a binary search) is cheaper but blind to a curve
   that dips and recovers.
2. Verification: under the assumption below, lengths shorter than the longest passing length are inferred
   to pass; any such length whose observed mean is under the threshold is sampled until it is decided.
3. Boundary: the undecided lengths between the longest passing and the shortest failing length are
   sampled, at the last length that an isotonic (non-increasing) fit of the observed means puts at or above
   the threshold and at the next one, each with the number of cells that would decide it if the further
   answers agreed with what was seen.

**Assumption: recall does not rise with length** (non-increasing in length, averaged over depths and seeds).
It lets one passing length vouch for every shorter one. It is checked on the data: a *significant rise* is a
pair of lengths ``l1 < l2`` whose bounds do not overlap (``upper(l1) < lower(l2)``). When that happens
``status().assumption_ok`` is False, the note names the pair, and the sampler stops inferring: every length
up to the first failing one must then pass on its own data (sampled further, up to the whole length).

With ``assume_monotone=False`` the sampler never infers: every length up to the first failing one is decided
on its own data (more calls; the right mode when recall is known to dip and recover).

Stop: when settled (lower == upper: the boundary length passes and the next fails, or the first length
fails, or the last passes), when every candidate cell was observed (then the answer is exact), or when
``max_cells`` cells were observed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from evals.stats import effective_length, format_tokens

Point = tuple[int, float, int]
"""A candidate cell: ``(length, depth, seed)``."""


# --------------------------------------------------------------------------------------------------------
# Finite-population bounds
# --------------------------------------------------------------------------------------------------------


def _hyper_tail_ge(k: int, m: int, big_k: int, n: int) -> float:
    """P(X >= k) for X ~ Hypergeometric(population n, successes big_k, draws m)."""
    hi = min(m, big_k)
    if k > hi:
        return 0.0
    total = math.comb(n, m)
    num = sum(math.comb(big_k, i) * math.comb(n - big_k, m - i) for i in range(max(k, 0), hi + 1))
    return num / total


def _hyper_tail_le(k: int, m: int, big_k: int, n: int) -> float:
    """P(X <= k) for X ~ Hypergeometric(population n, successes big_k, draws m)."""
    lo = max(0, m - (n - big_k))
    if k < lo:
        return 0.0
    total = math.comb(n, m)
    num = sum(math.comb(big_k, i) * math.comb(n - big_k, m - i) for i in range(lo, min(k, m) + 1))
    return num / total


def finite_population_bounds(scores: Sequence[float], population: int, alpha: float) -> tuple[float, float]:
    """One-sided ``1 - alpha`` bounds on the mean of a finite population from a simple random sample of it.

    Args:
        scores: the sampled values, in [0, 1], drawn without replacement.
        population: size N of the population (>= ``len(scores)``).
        alpha: error probability of each bound.

    Returns:
        ``(low, high)``: for 0/1 scores the exact hypergeometric bounds (the smallest / largest number of
        ones K in the population that the sample does not reject at level ``alpha``, over N); for
        fractional scores Serfling's inequality
        ``P(sample mean - mean >= e) <= exp(-2 m e^2 / (1 - (m-1)/N))``, intersected with the sure
        range ``[sum / N, (sum + N - m) / N]``. A fully observed population gives its exact mean twice;
        an empty sample gives ``(0, 1)``.

    Raises:
        ValueError: if the sample is larger than the population or alpha is outside (0, 1).
    """
    m = len(scores)
    n = population
    if m > n:
        raise ValueError(f"sample of {m} from a population of {n}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be within (0, 1), got {alpha}")
    if n == 0 or m == 0:
        return (0.0, 1.0)
    total = math.fsum(scores)
    sure_low, sure_high = total / n, (total + n - m) / n
    if m == n:
        return (sure_low, sure_low)
    if all(s in (0, 1) for s in scores):
        k = round(total)
        # Lower: the smallest K whose P(X >= k) exceeds alpha (increasing in K; 1 at K = k + n - m).
        lo_k, hi_k = k, k + n - m
        while lo_k < hi_k:
            mid = (lo_k + hi_k) // 2
            if _hyper_tail_ge(k, m, mid, n) > alpha:
                hi_k = mid
            else:
                lo_k = mid + 1
        low = lo_k / n
        # Upper: the largest K whose P(X <= k) exceeds alpha (decreasing in K; 1 at K = k).
        lo_k, hi_k = k, k + n - m
        while lo_k < hi_k:
            mid = (lo_k + hi_k + 1) // 2
            if _hyper_tail_le(k, m, mid, n) > alpha:
                lo_k = mid
            else:
                hi_k = mid - 1
        return (low, lo_k / n)
    mean = total / m
    eps = math.sqrt(math.log(1 / alpha) * (1 - (m - 1) / n) / (2 * m))
    return (max(sure_low, mean - eps), min(sure_high, mean + eps))


def isotonic_decreasing(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Weighted least-squares non-increasing fit (pool adjacent violators).

    Args:
        values: observations in order (e.g. mean recall per length, ascending lengths).
        weights: positive weight of each (e.g. cells observed).

    Returns:
        The fitted values, non-increasing, same length as ``values``.
    """
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for v, w in zip(values, weights, strict=True):
        blocks.append([v * w, w, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] < blocks[-1][0] / blocks[-1][1]:
            s, w2, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w2
            blocks[-1][2] += c
    out: list[float] = []
    for s, w, c in blocks:
        out.extend([s / w] * int(c))
    return out


# --------------------------------------------------------------------------------------------------------
# Sampler
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LengthState:
    """What is known about one length.

    Attributes:
        length: context length (tokens).
        n_cells: candidate cells at this length.
        n_observed: cells observed (scored or not).
        n_scored: cells with a score (None scores are errors / over-window cells, left out of recall).
        mean: mean observed score, or None.
        low: lower bound of the length's full-grid recall (one-sided, see the module docstring), or None.
        high: upper bound, or None.
        decision: ``"pass"``, ``"fail"`` or ``"unknown"``, from this length's own data only.
    """

    length: int
    n_cells: int
    n_observed: int
    n_scored: int
    mean: float | None
    low: float | None
    high: float | None
    decision: str


@dataclass(frozen=True)
class AdaptiveStatus:
    """Where the effective context length stands.

    Attributes:
        effective_length: best estimate now (the observed means, cut to ``[lower, upper]``); None means below
            the shortest length.
        lower: shortest effective length still plausible (None: below the shortest length).
        upper: longest effective length still plausible (None: below the shortest length).
        settled: ``lower == upper`` (and no length below it awaits verification): the full grid's effective
            length is known at the requested confidence (exactly, when every cell was observed).
        reason: one line on why it is (not) settled, or why sampling stopped.
        assumption_ok: False when the data show a significant rise of recall with length.
        assumption_note: what the monotonicity check found.
        n_observed: candidate cells observed.
        n_cells: candidate cells in the grid.
        by_length: per-length state, ascending lengths.
    """

    effective_length: int | None
    lower: int | None
    upper: int | None
    settled: bool
    reason: str
    assumption_ok: bool
    assumption_note: str
    n_observed: int
    n_cells: int
    by_length: tuple[LengthState, ...]


@dataclass
class _Analysis:
    states: dict[int, LengthState]
    classes: dict[int, str]
    status: AdaptiveStatus
    targets: list[tuple[int, str]]  # (length, direction "pass" | "fail") to sample next
    coarse: list[Point]


class AdaptiveSampler:
    """Chooses which cells of a (length, depth, seed) grid to run; see the module docstring.

    Args:
        lengths: candidate context lengths (tokens).
        depths: candidate needle depths (%).
        seeds: candidate seeds.
        threshold: recall a length must reach (as in :func:`evals.stats.effective_length`).
        confidence: confidence of the settled answer; each per-length bound is one-sided at
            ``(1 - confidence) / (2 * n_lengths)``.
        max_cells: stop after this many observed cells (None: no budget).
        coarse_per_length: cells per length in the coarse pass.
        assume_monotone: infer that lengths shorter than a passing one pass (recall does not rise with
            length; checked on the data). False: decide every length up to the boundary on its own data.
        verify_below: sample lengths below the boundary whose observed mean is under the threshold
            (guards the monotonicity inference; switch off only for speed on trusted, smooth curves).
        salt: mixed into the within-length order; the same arguments give the same batches in every process.

    Raises:
        ValueError: on an empty axis, a threshold or confidence out of range, or a budget below 1.
    """

    def __init__(
        self,
        lengths: Iterable[int],
        depths: Iterable[float],
        seeds: Iterable[int],
        threshold: float = 0.85,
        confidence: float = 0.95,
        max_cells: int | None = None,
        *,
        coarse_per_length: int = 2,
        assume_monotone: bool = True,
        verify_below: bool = True,
        salt: str = "",
    ) -> None:
        self.lengths: tuple[int, ...] = tuple(sorted({int(x) for x in lengths}))
        self.depths: tuple[float, ...] = tuple(sorted({float(x) for x in depths}))
        self.seeds: tuple[int, ...] = tuple(sorted({int(x) for x in seeds}))
        if not self.lengths or not self.depths or not self.seeds:
            raise ValueError("lengths, depths and seeds must each have at least one value")
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be within (0, 1), got {confidence}")
        if max_cells is not None and max_cells < 1:
            raise ValueError(f"max_cells must be >= 1, got {max_cells}")
        if coarse_per_length < 1:
            raise ValueError(f"coarse_per_length must be >= 1, got {coarse_per_length}")
        self.threshold = float(threshold)
        self.confidence = float(confidence)
        self.alpha = (1.0 - confidence) / (2.0 * len(self.lengths))
        self.max_cells = max_cells
        self.coarse_per_length = coarse_per_length
        self.assume_monotone = assume_monotone
        self.verify_below = verify_below
        self.salt = salt
        grid_id = f"{self.depths}:{self.seeds}:{salt}"
        self._order: dict[int, tuple[Point, ...]] = {}
        for length in self.lengths:
            cells = [(length, d, s) for d in self.depths for s in self.seeds]
            random.Random(f"niah-adaptive:{length}:{grid_id}").shuffle(cells)
            self._order[length] = tuple(cells)

    @property
    def cells(self) -> list[Point]:
        """Every candidate cell, by length, in the order the sampler would take them."""
        return [c for length in self.lengths for c in self._order[length]]

    @property
    def n_cells(self) -> int:
        """Number of candidate cells."""
        return len(self.lengths) * len(self.depths) * len(self.seeds)

    # -- public --------------------------------------------------------------------------------------------

    def status(self, observed: Mapping[Point, float | None]) -> AdaptiveStatus:
        """Where the effective length stands given the cells observed so far.

        Args:
            observed: score per observed cell ``(length, depth, seed)``; None for a cell that was run but has
                no score (error, over the model's window). Cells outside the grid are ignored.

        Returns:
            The status.

        Raises:
            ValueError: on a score outside [0, 1].
        """
        return self._analyse(observed).status

    def next_batch(self, observed: Mapping[Point, float | None]) -> list[Point]:
        """The cells to run next; an empty list means stop (settled, grid exhausted or budget spent).

        Never proposes an observed cell, so a resumed run passes what it already has and continues.

        Args:
            observed: as for :meth:`status`.

        Returns:
            Cells ``(length, depth, seed)``, by length then in the sampler's order.
        """
        a = self._analyse(observed)
        done = a.status.n_observed
        if self.max_cells is not None and done >= self.max_cells:
            return []
        if a.coarse:
            batch = a.coarse
        elif a.status.settled:
            return []
        else:
            batch = []
            for length, direction in a.targets:
                need = self._need_more(a.states[length], direction, observed)
                batch.extend(self._unobserved(length, observed)[:need])
        if self.max_cells is not None:
            batch = batch[: self.max_cells - done]
        return batch

    # -- internals -----------------------------------------------------------------------------------------

    def _unobserved(self, length: int, observed: Mapping[Point, float | None]) -> list[Point]:
        return [c for c in self._order[length] if c not in observed]

    def _state(self, length: int, observed: Mapping[Point, float | None]) -> LengthState:
        seen = [observed[c] for c in self._order[length] if c in observed]
        scored: list[float] = []
        for v in seen:
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not (0 <= v <= 1):
                raise ValueError(f"score must be a number within [0, 1] or None, got {v!r}")
            scored.append(float(v))
        n_cells = len(self._order[length])
        population = n_cells - (len(seen) - len(scored))
        mean = math.fsum(scored) / len(scored) if scored else None
        if population == 0:
            return LengthState(length, n_cells, len(seen), 0, None, None, None, "fail")
        if not scored:
            return LengthState(length, n_cells, len(seen), 0, None, None, None, "unknown")
        low, high = finite_population_bounds(scored, population, self.alpha)
        decision = "pass" if low >= self.threshold else "fail" if high < self.threshold else "unknown"
        return LengthState(length, n_cells, len(seen), len(scored), mean, low, high, decision)

    def _need_more(self, state: LengthState, direction: str, observed: Mapping[Point, float | None]) -> int:
        """Cells to add at a length so that, if they all agreed with ``direction``, it would be decided."""
        remaining = len(self._unobserved(state.length, observed))
        seen = [float(v) for c in self._order[state.length] if (v := observed.get(c)) is not None]
        population = state.n_cells - (state.n_observed - state.n_scored)
        fill = 1.0 if direction == "pass" else 0.0

        def decided(extra: int) -> bool:
            low, high = finite_population_bounds(seen + [fill] * extra, population, self.alpha)
            return low >= self.threshold if direction == "pass" else high < self.threshold

        lo, hi = 1, remaining
        if remaining == 0:
            return 0
        if not decided(hi):
            return remaining
        while lo < hi:
            mid = (lo + hi) // 2
            if decided(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _analyse(self, observed: Mapping[Point, float | None]) -> _Analysis:
        t = self.threshold
        states = {length: self._state(length, observed) for length in self.lengths}
        n_observed = sum(s.n_observed for s in states.values())
        index = {length: i for i, length in enumerate(self.lengths)}

        coarse: list[Point] = []
        for length in self.lengths:
            want = min(self.coarse_per_length, states[length].n_cells) - states[length].n_observed
            if want > 0:
                coarse.extend(self._unobserved(length, observed)[:want])

        # Monotonicity check: a pair l1 < l2 whose bounds do not overlap is a significant rise.
        rises = [
            (a.length, b.length)
            for a in states.values()
            for b in states.values()
            if a.length < b.length and a.high is not None and b.low is not None and a.high < b.low
        ]
        assumption_ok = not rises
        infer = assumption_ok and self.assume_monotone
        if assumption_ok:
            note = "no significant rise of recall with length (pairwise bounds overlap)"
            if not self.assume_monotone:
                note += "; not relied on (assume_monotone=False)"
        else:
            l1, l2 = rises[0]
            note = (
                f"recall rises with length: {format_tokens(l1)} (upper bound {states[l1].high:.3f}) < "
                f"{format_tokens(l2)} (lower bound {states[l2].low:.3f}); {len(rises)} such pair(s); "
                "not inferring from neighbouring lengths"
            )

        raw = {length: s.decision for length, s in states.items()}
        passes = [length for length in self.lengths if raw[length] == "pass"]
        fails = [length for length in self.lengths if raw[length] == "fail"]
        p_len = passes[-1] if passes else None
        f_len = fails[0] if fails else None
        classes = dict(raw)
        suspicious: list[int] = []
        if infer:
            for length in self.lengths:
                if p_len is not None and length <= p_len:
                    if self.verify_below and raw[length] == "unknown":
                        mean = states[length].mean
                        if mean is None or mean < t:
                            suspicious.append(length)
                    classes[length] = "pass"
                elif f_len is not None and length >= f_len:
                    classes[length] = "fail"

        lower = effective_length({k: 1.0 if v == "pass" else 0.0 for k, v in classes.items()}, 1.0)
        upper = effective_length({k: 0.0 if v == "fail" else 1.0 for k, v in classes.items()}, 1.0)
        means = {k: s.mean for k, s in states.items() if s.mean is not None or s.decision == "fail"}
        if not infer:
            means = {k: states[k].mean for k in self.lengths}
        point = effective_length(means, t) if means else None

        def pos(x: int | None) -> int:
            return -1 if x is None else index[x]

        if pos(point) < pos(lower):
            point = lower
        if pos(point) > pos(upper):
            point = upper

        exhausted = n_observed >= self.n_cells
        settled = lower == upper and not suspicious
        targets: list[tuple[int, str]] = []

        def direction(length: int) -> str:
            mean = states[length].mean
            return "pass" if mean is None or mean >= t else "fail"

        if settled:
            if exhausted:
                reason = "settled: every candidate cell observed (exact)"
            elif lower is None:
                reason = f"settled: the shortest length {format_tokens(self.lengths[0])} fails"
            elif lower == self.lengths[-1]:
                reason = f"settled: the longest length {format_tokens(lower)} passes"
            else:
                nxt = self.lengths[index[lower] + 1]
                reason = f"settled: {format_tokens(lower)} passes and {format_tokens(nxt)} fails"
            if infer and lower is not None and not exhausted:
                reason += " (shorter lengths inferred to pass: recall assumed not to rise with length)"
            reason += f" at {self.confidence:.0%} confidence"
        elif coarse:
            reason = f"coarse pass: {len(coarse)} cell(s) to go"
        elif suspicious:
            targets = [(length, direction(length)) for length in suspicious]
            reason = "verifying lengths below the boundary whose observed recall is under the threshold: " + (
                ", ".join(format_tokens(x) for x in suspicious)
            )
        elif not infer:
            open_ = [x for x in self.lengths if raw[x] == "unknown" and (f_len is None or x < f_len)]
            targets = [(open_[0], direction(open_[0]))] if open_ else []
            why = "assumption violated" if not assumption_ok else "assume_monotone=False"
            reason = f"{why}: deciding each length on its own data; open: " + (
                ", ".join(format_tokens(x) for x in open_)
            )
        else:
            open_ = [
                x
                for x in self.lengths
                if classes[x] == "unknown" and (p_len is None or x > p_len) and (f_len is None or x < f_len)
            ]
            with_data = [x for x in self.lengths if states[x].mean is not None]
            fit = dict(
                zip(
                    with_data,
                    isotonic_decreasing(
                        [states[x].mean or 0.0 for x in with_data], [states[x].n_scored for x in with_data]
                    ),
                    strict=True,
                )
            )
            above = [x for x in open_ if fit.get(x, 0.0) >= t]
            if above:
                guess = above[-1]
                targets = [(guess, "pass")]
                after = [x for x in open_ if x > guess]
                if after:
                    targets.append((after[0], "fail"))
            elif open_:
                targets = [(open_[0], direction(open_[0]))]
            reason = "boundary undecided between " + (", ".join(format_tokens(x) for x in open_))
        if not settled and exhausted:
            reason = "candidate cells exhausted"
        elif self.max_cells is not None and n_observed >= self.max_cells and not settled:
            reason = f"budget of {self.max_cells} cells spent; " + reason

        status = AdaptiveStatus(
            effective_length=point,
            lower=lower,
            upper=upper,
            settled=settled,
            reason=reason,
            assumption_ok=assumption_ok,
            assumption_note=note,
            n_observed=n_observed,
            n_cells=self.n_cells,
            by_length=tuple(states[x] for x in self.lengths),
        )
        return _Analysis(states, classes, status, targets, coarse)
