"""Pure statistics for the reports: Wilson intervals, proportion summaries, effective context length,
cluster-robust intervals, paired model comparisons and sample sizes.

Every function here is deterministic and free of I/O, so the numbers in the heatmaps, the dashboard and
``leaderboard.json`` can be checked by hand.

Fractional scores (multi-needle partial credit) are summarised by their mean with a Wilson interval
computed as if ``sum(scores)`` successes had been seen in ``n`` trials. For a score bounded in [0, 1] with
mean ``p`` the variance is at most ``p(1 - p)``, the Bernoulli variance, so this interval is never narrower
than the one a normal approximation with the true variance would give: it errs on the side of caution and
reduces to the ordinary Wilson interval when every score is 0 or 1.

Clusters. Cells of a grid are not independent observations: every cell of one seed asks about the same
needle (key and value are drawn from ``f"{seed}:{task}:{language}:..."``, the same for every length and
depth) and reads the same filler stream (the stream of a ``(seed, shuffle)``; the haystack of a longer
length starts with the text of the shorter one, and two depths share everything before the needle). A
model that misreads one needle or one stretch of filler misreads it in many cells at once. The *cluster*
of a cell is therefore its haystack identity: ``seed`` within one (model, task, language) slice, and
``(language, seed)`` when a slice mixes languages (each language draws its own needles). Without
``--shuffle`` every seed reads the same filler, so the filler is a fixed effect common to every cluster:
the intervals are conditional on the corpus (they describe what repeating the run with new needles would
do, not what a different corpus would do).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

Z95 = 1.959964
"""Two-sided 95% standard normal quantile used for every interval in the reports."""

DEFAULT_THRESHOLD = 0.85
"""Recall a length must reach to count towards the effective context length (reports and ``--adaptive``)."""


@dataclass(frozen=True)
class Proportion:
    """A mean of scores in [0, 1] with its Wilson interval.

    Attributes:
        n: number of scored observations.
        successes: sum of the scores (an integer count when every score is 0 or 1).
        mean: ``successes / n``, or None when ``n == 0``.
        ci_low: lower bound of the 95% Wilson interval, or None when ``n == 0``.
        ci_high: upper bound of the 95% Wilson interval, or None when ``n == 0``.
    """

    n: int
    successes: float
    mean: float | None
    ci_low: float | None
    ci_high: float | None


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    Args:
        successes: number of successes (may be fractional: the sum of scores in [0, 1]).
        n: number of trials.
        z: standard normal quantile; the default gives a two-sided 95% interval.

    Returns:
        ``(low, high)`` with ``0 <= low <= high <= 1``. With ``n == 0`` there is no information and the
        interval is the whole range ``(0.0, 1.0)``.

    Raises:
        ValueError: if ``n`` is negative or ``successes`` is outside ``[0, n]``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if successes < 0 or successes > n:
        raise ValueError(f"successes must be within [0, {n}], got {successes}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n))
    low = max(0.0, centre - half)
    high = min(1.0, centre + half)
    # Exact bounds at the edges (floating point leaves 1e-17 crumbs there).
    if successes == 0:
        low = 0.0
    if successes == n:
        high = 1.0
    return (low, high)


def proportion(scores: Iterable[float], z: float = Z95) -> Proportion:
    """Summarise scores in [0, 1] as a mean with a Wilson interval.

    Args:
        scores: scores of the observations, each within [0, 1].
        z: standard normal quantile for the interval.

    Returns:
        The summary; ``mean``/``ci_low``/``ci_high`` are None when there are no scores.

    Raises:
        ValueError: if a score is outside [0, 1] or not a finite number.
    """
    values = list(scores)
    for v in values:
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v) or not 0 <= v <= 1:
            raise ValueError(f"score must be a number within [0, 1], got {v!r}")
    n = len(values)
    total = math.fsum(values)
    if n == 0:
        return Proportion(n=0, successes=0.0, mean=None, ci_low=None, ci_high=None)
    low, high = wilson_interval(total, n, z)
    return Proportion(n=n, successes=total, mean=total / n, ci_low=low, ci_high=high)


def effective_length(recall_by_length: Mapping[int, float | None], threshold: float = 0.85) -> int | None:
    """Longest tested length whose recall, and that of every shorter tested length, is at least ``threshold``.

    Lengths are taken in increasing order; the first length whose recall is below the threshold, or unknown
    (None: no scored cell there, e.g. all errors or over the model's window), ends the run.

    Args:
        recall_by_length: recall (or a bound of its interval) per tested context length in tokens.
        threshold: the recall a length must reach, in [0, 1].

    Returns:
        The effective context length in tokens, or None when even the shortest tested length misses the
        threshold (or there is no length at all).

    Raises:
        ValueError: if ``threshold`` is outside [0, 1].
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be within [0, 1], got {threshold}")
    best: int | None = None
    for length in sorted(recall_by_length):
        value = recall_by_length[length]
        if value is None or value < threshold:
            break
        best = length
    return best


@dataclass(frozen=True)
class EffectiveLength:
    """Effective context length with its uncertainty.

    Attributes:
        value: computed from the recall point estimates.
        ci_low_value: pessimistic value, computed from each length's interval lower bound.
        ci_high_value: optimistic value, computed from each length's interval upper bound.
        threshold: the recall threshold used.
        n: scored observations over all lengths.
    """

    value: int | None
    ci_low_value: int | None
    ci_high_value: int | None
    threshold: float
    n: int


def effective_length_with_ci(by_length: Mapping[int, Proportion], threshold: float = 0.85) -> EffectiveLength:
    """Effective context length from per-length proportions, with a [pessimistic, optimistic] range.

    Args:
        by_length: the recall summary at each tested length.
        threshold: the recall a length must reach, in [0, 1].

    Returns:
        The point value and the values obtained from the interval bounds; by construction
        ``ci_low_value <= value <= ci_high_value`` (None sorting below every length).
    """
    return EffectiveLength(
        value=effective_length({k: p.mean for k, p in by_length.items()}, threshold),
        ci_low_value=effective_length({k: p.ci_low for k, p in by_length.items()}, threshold),
        ci_high_value=effective_length({k: p.ci_high for k, p in by_length.items()}, threshold),
        threshold=threshold,
        n=sum(p.n for p in by_length.values()),
    )


def format_tokens(n: int) -> str:
    """Short, exact label for a token count: ``500``, ``1K``, ``1.5K``, ``128K``, ``1.024K``, ``1M``.

    Args:
        n: a token count (non-negative).

    Returns:
        The label; distinct counts always get distinct labels (no rounding).
    """
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return _trim(n / 1000) + "K"
    return _trim(n / 1_000_000) + "M"


def _trim(x: float) -> str:
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return text


def mean_or_none(values: Sequence[float]) -> float | None:
    """Arithmetic mean, or None for an empty sequence.

    Args:
        values: numbers.

    Returns:
        The mean, or None.
    """
    return math.fsum(values) / len(values) if values else None


# --------------------------------------------------------------------------------------------------------
# Cluster-robust intervals, paired comparisons, sample sizes
# --------------------------------------------------------------------------------------------------------


def rule_of_three(n: int) -> float:
    """Width of the one-sided 95% bound when ``n`` observations all agree: ``3 / n``, at most 1.

    With 0 failures in ``n`` independent trials the exact one-sided 95% upper bound of the failure rate
    is ``1 - 0.05 ** (1 / n)``, and ``-ln(0.05) = 2.996`` makes ``3 / n`` a slightly conservative
    approximation of it (exact to 1% from ``n`` = 30 on, conservative below).

    Args:
        n: number of observations, all right (bound on the failure rate) or all wrong (bound on the
            success rate).

    Returns:
        ``min(1, 3 / n)``; ``1.0`` when ``n == 0`` (no information).

    Raises:
        ValueError: if ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return 1.0 if n == 0 else min(1.0, 3.0 / n)


@dataclass(frozen=True)
class ClusteredProportion:
    """A mean of scores in [0, 1] with a cluster-robust interval.

    Attributes:
        mean: mean score, or None when ``n == 0``.
        se: standard error used for the interval (see :func:`clustered_proportion`); ``0.0`` for the
            rule-of-three case (the sample shows no variation), None when ``n == 0``.
        n: number of scored observations.
        n_clusters: number of distinct clusters among them.
        low: lower bound, within [0, 1] (None when ``n == 0``).
        high: upper bound, within [0, 1] (None when ``n == 0``).
        method: ``"clustered"`` (mean +- z * se, CR1 with an independent-observations floor),
            ``"rule_of_three"`` (every score 1, or every score 0), ``"wilson"`` (one cluster only: no
            between-cluster variation to estimate) or ``"empty"``.
        design_effect: ``(CR1 se / independent se) ** 2`` before the floor (how much the clustering
            inflates the variance; below 1 when clusters disagree more than chance); None when not
            computed (methods other than ``"clustered"``).
    """

    mean: float | None
    se: float | None
    n: int
    n_clusters: int
    low: float | None
    high: float | None
    method: str
    design_effect: float | None = None


def _check_scores(values: Sequence[float]) -> None:
    for v in values:
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v) or not 0 <= v <= 1:
            raise ValueError(f"score must be a number within [0, 1], got {v!r}")


def _cr1_se(values: Sequence[float], clusters: Sequence[Hashable]) -> tuple[float, int]:
    """CR1 standard error of the mean of ``values`` and the number of clusters.

    The mean is a regression on a constant (k = 1 parameter), so Stata's CR1 factor
    ``G/(G-1) * (n-1)/(n-k)`` is ``G/(G-1)``: ``se = sqrt(G/(G-1) * sum_g S_g**2) / n`` with ``S_g`` the sum
    of the residuals ``y_i - mean`` over cluster ``g``.
    """
    n = len(values)
    mean = math.fsum(values) / n
    sums: dict[Hashable, list[float]] = {}
    for v, c in zip(values, clusters, strict=True):
        sums.setdefault(c, []).append(v - mean)
    g = len(sums)
    if g < 2:
        return (math.nan, g)
    ss = math.fsum(math.fsum(r) ** 2 for r in sums.values())
    return (math.sqrt(g / (g - 1) * ss) / n, g)


def clustered_proportion(
    scores: Sequence[float], clusters: Sequence[Hashable], z: float = Z95
) -> ClusteredProportion:
    """Mean score with a cluster-robust (CR1) interval; see the module docstring for what a cluster is.

    * ``"clustered"``: ``se = max(se_CR1, sqrt(p(1-p)/n))`` and ``[mean - z*se, mean + z*se]`` clipped to
      [0, 1]. ``se_CR1`` is the sandwich (Liang-Zeger) standard error of a mean with Stata's CR1
      small-sample factor ``G/(G-1)`` (G clusters). The floor at the independent-observations standard
      error (the Bernoulli bound the Wilson intervals use) keeps the interval from being narrower than
      one that ignores clustering: with few clusters (a grid has a handful of seeds) the CR1 estimate is
      itself noisy and often too small. With fewer than ~20 clusters even the CR1 se understates the
      uncertainty (a t quantile with G-1 degrees of freedom would be wider); ``n_clusters`` is reported
      so the reader can judge.
    * ``"rule_of_three"``: every score is 1 (interval ``[1 - 3/n, 1]``) or every score is 0
      (``[0, 3/n]``). The sample has no variation, so a standard error says nothing; the bound treats
      the ``n`` cells as independent (the data cannot show their correlation), so with clustered cells
      it is optimistic; :func:`rule_of_three` has the details.
    * ``"wilson"``: a single cluster: no between-cluster variation can be estimated; the Wilson interval
      of :func:`wilson_interval` (independent observations), ``se = sqrt(p(1-p)/n)``.

    Args:
        scores: scores in [0, 1].
        clusters: the cluster of each score (same length as ``scores``), e.g. its seed.
        z: normal quantile (two-sided 95% by default).

    Returns:
        The summary.

    Raises:
        ValueError: on a score outside [0, 1] or when ``scores`` and ``clusters`` differ in length.
    """
    values = list(scores)
    keys = list(clusters)
    if len(values) != len(keys):
        raise ValueError(f"{len(values)} scores but {len(keys)} clusters")
    _check_scores(values)
    n = len(values)
    if n == 0:
        return ClusteredProportion(None, None, 0, 0, None, None, "empty")
    n_clusters = len(set(keys))
    mean = math.fsum(values) / n
    if all(v == 1 for v in values):
        return ClusteredProportion(
            1.0, 0.0, n, n_clusters, max(0.0, 1.0 - rule_of_three(n)), 1.0, "rule_of_three"
        )
    if all(v == 0 for v in values):
        return ClusteredProportion(0.0, 0.0, n, n_clusters, 0.0, rule_of_three(n), "rule_of_three")
    se_iid = math.sqrt(mean * (1.0 - mean) / n)
    if n_clusters == 1:
        low, high = wilson_interval(math.fsum(values), n, z)
        return ClusteredProportion(mean, se_iid, n, 1, low, high, "wilson")
    se_cr1, _ = _cr1_se(values, keys)
    deff = (se_cr1 / se_iid) ** 2 if se_iid > 0 else None
    se = max(se_cr1, se_iid)
    return ClusteredProportion(
        mean, se, n, n_clusters, max(0.0, mean - z * se), min(1.0, mean + z * se), "clustered", deff
    )


@dataclass(frozen=True)
class PairedDifference:
    """Difference of mean scores of two models (``a - b``) on the cells both answered.

    Attributes:
        diff: mean of ``a[c] - b[c]`` over the shared cells, or None when none is shared.
        se: its standard error (see :func:`paired_difference`), or None.
        low: lower bound of the interval, within [-1, 1], or None.
        high: upper bound of the interval, within [-1, 1], or None.
        n: number of shared cells.
        n_clusters: distinct clusters among the shared cells.
        n_only_a: cells scored for ``a`` only (left out).
        n_only_b: cells scored for ``b`` only (left out).
        no_overlap: True when the models share no cell (nothing can be compared).
        method: ``"clustered"``, ``"rule_of_three"`` (every shared difference is the same, e.g. both
            models right everywhere), ``"independent"`` (one cluster) or ``"none"`` (no overlap).
    """

    diff: float | None
    se: float | None
    low: float | None
    high: float | None
    n: int
    n_clusters: int
    n_only_a: int
    n_only_b: int
    no_overlap: bool
    method: str


def paired_difference(
    a: Mapping[Hashable, float],
    b: Mapping[Hashable, float],
    clusters: Mapping[Hashable, Hashable],
    z: float = Z95,
) -> PairedDifference:
    """Paired comparison of two models on the same cells: difference of means with a clustered interval.

    Only cells scored for both models count (a cell missing on one side, e.g. an error, is left out of
    both), so the two means are over the same haystacks and the cell-to-cell difficulty cancels.

    * ``"clustered"``: ``d_i = a_i - b_i``; ``se = max(se_CR1(d), sd(d)/sqrt(n))`` (CR1 as in
      :func:`clustered_proportion`; ``sd`` the sample standard deviation, ``n - 1`` denominator) and
      ``diff +- z*se`` clipped to [-1, 1].
    * ``"rule_of_three"``: every ``d_i`` is the same (typically 0: both right, or both wrong, everywhere).
      For 0/1 scores ``|E[a - b]|`` is at most the discordance rate, and with no discordant pair among
      ``n`` that rate is below ``3/n`` (:func:`rule_of_three`), so the interval is ``diff +- 3/n``.
    * ``"independent"``: one cluster: ``se = sd(d)/sqrt(n)``.

    Args:
        a: score per cell key for model a (e.g. key ``(length, depth, seed)``), in [0, 1].
        b: the same for model b.
        clusters: the cluster of each shared cell (e.g. its seed).
        z: normal quantile.

    Returns:
        The comparison; with no shared cell ``no_overlap`` is True and the numbers are None.

    Raises:
        ValueError: on a score outside [0, 1].
        KeyError: when a shared cell has no cluster.
    """
    shared = [k for k in a if k in b]
    n_only_a = len(a) - len(shared)
    n_only_b = len(b) - len(shared)
    if not shared:
        return PairedDifference(None, None, None, None, 0, 0, n_only_a, n_only_b, True, "none")
    _check_scores([a[k] for k in shared] + [b[k] for k in shared])
    d = [float(a[k]) - float(b[k]) for k in shared]
    keys = [clusters[k] for k in shared]
    n = len(d)
    g = len(set(keys))
    diff = math.fsum(d) / n
    if all(x == d[0] for x in d):
        w = rule_of_three(n)
        return PairedDifference(
            diff,
            0.0,
            max(-1.0, diff - w),
            min(1.0, diff + w),
            n,
            g,
            n_only_a,
            n_only_b,
            False,
            "rule_of_three",
        )
    se_iid = math.sqrt(math.fsum((x - diff) ** 2 for x in d) / (n - 1) / n)
    if g == 1:
        se, method = se_iid, "independent"
    else:
        se, method = max(_cr1_se(d, keys)[0], se_iid), "clustered"
    return PairedDifference(
        diff, se, max(-1.0, diff - z * se), min(1.0, diff + z * se), n, g, n_only_a, n_only_b, False, method
    )


def seeds_needed(
    diff: float,
    *,
    sd: float | None = None,
    p: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    cells_per_seed: int = 1,
    icc: float = 0.0,
) -> int:
    """Seeds (repeats of the grid) needed to detect a recall difference between two models, paired design.

    Normal approximation for a two-sided paired test at level ``alpha``:
    ``n_cells = ((z_{1-alpha/2} + z_{power}) * sd / diff) ** 2 * deff`` paired cells, with the design
    effect ``deff = 1 + (cells_per_seed - 1) * icc`` for cells of one seed being correlated (intra-class
    correlation ``icc`` of the paired differences within a seed), and
    ``seeds = ceil(n_cells / cells_per_seed)``. Quantiles come from :class:`statistics.NormalDist`.

    The spread of the per-cell paired differences is ``sd`` when known (e.g. measured on a pilot run), or,
    from ``p`` (the recall of the better model), ``sqrt(p(1-p) + q(1-q))`` with ``q = p - |diff|``: the
    spread when the two models' answers are independent. Two models usually fail on the same hard cells
    (positive correlation), which makes the true spread smaller, so the ``p`` form errs on the safe side.

    Args:
        diff: the recall difference to detect (sign ignored), in (0, 1].
        sd: standard deviation of a cell's paired difference ``a - b``; give exactly one of ``sd``, ``p``.
        p: recall of the better model, in [|diff|, 1].
        alpha: two-sided significance level.
        power: probability of detecting a true difference of ``diff``.
        cells_per_seed: cells one seed adds to the comparison (lengths x depths of the grid).
        icc: intra-class correlation of the paired differences within a seed, in [0, 1].

    Returns:
        The number of seeds, at least 1.

    Raises:
        ValueError: on an argument out of range, or unless exactly one of ``sd`` and ``p`` is given.
    """
    d = abs(diff)
    if not 0 < d <= 1:
        raise ValueError(f"diff must be within (0, 1] in absolute value, got {diff}")
    if (sd is None) == (p is None):
        raise ValueError("give exactly one of sd and p")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be within (0, 1), got {alpha}, {power}")
    if cells_per_seed < 1:
        raise ValueError(f"cells_per_seed must be >= 1, got {cells_per_seed}")
    if not 0 <= icc <= 1:
        raise ValueError(f"icc must be within [0, 1], got {icc}")
    if p is not None:
        if not d <= p <= 1:
            raise ValueError(f"p must be within [|diff|, 1], got {p}")
        q = p - d
        sd = math.sqrt(p * (1 - p) + q * (1 - q))
    assert sd is not None
    if not sd > 0 or not math.isfinite(sd):
        raise ValueError(f"sd must be a positive number, got {sd}")
    normal = NormalDist()
    z_sum = normal.inv_cdf(1 - alpha / 2) + normal.inv_cdf(power)
    n_cells = (z_sum * sd / d) ** 2 * (1 + (cells_per_seed - 1) * icc)
    return max(1, math.ceil(n_cells / cells_per_seed - 1e-9))
