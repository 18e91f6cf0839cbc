"""Pure statistics for the reports: Wilson intervals, proportion summaries, effective context length.

Every function here is deterministic and free of I/O, so the numbers in the heatmaps, the dashboard and
``leaderboard.json`` can be checked by hand.

Fractional scores (multi-needle partial credit) are summarised by their mean with a Wilson interval
computed as if ``sum(scores)`` successes had been seen in ``n`` trials. For a score bounded in [0, 1] with
mean ``p`` the variance is at most ``p(1 - p)``, the Bernoulli variance, so this interval is never narrower
than the one a normal approximation with the true variance would give: it errs on the side of caution and
reduces to the ordinary Wilson interval when every score is 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Z95 = 1.959964
"""Two-sided 95% standard normal quantile used for every interval in the reports."""


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
