"""Edges of :mod:`evals.stats` a reader of the reports relies on: clipping of comparison intervals at [-1, 1],
the exact shape of a comparison with no shared cell, and every argument check of the sample-size formula."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from evals.stats import PairedDifference, _cr1_se, paired_difference, rule_of_three, seeds_needed


def test_rule_of_three_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match=r"^n must be >= 0, got -1$"):
        rule_of_three(-1)


def test_cr1_refuses_mismatched_clusters() -> None:
    with pytest.raises(ValueError):
        _cr1_se([0.0, 1.0], ["a"])


def test_no_shared_cell_is_said_so_exactly() -> None:
    got = paired_difference({"x": 1.0, "y": 0.0}, {"z": 1.0}, {})
    assert got == PairedDifference(None, None, None, None, 0, 0, 2, 1, True, "none")


def test_constant_differences_clip_at_both_ends() -> None:
    keys = [(i, i % 3) for i in range(10)]
    clusters = {k: k[1] for k in keys}
    ones, zeros = dict.fromkeys(keys, 1.0), dict.fromkeys(keys, 0.0)
    only = {("only-a", 0): 1.0}
    assert paired_difference(ones | only, zeros, clusters) == PairedDifference(
        1.0, 0.0, 0.7, 1.0, 10, 3, 1, 0, False, "rule_of_three"
    )
    assert paired_difference(zeros, ones, clusters) == PairedDifference(
        -1.0, 0.0, -1.0, -0.7, 10, 3, 0, 0, False, "rule_of_three"
    )


def test_clustered_interval_clips_at_minus_one() -> None:
    a = {1: 0.0, 2: 0.0, 3: 1.0}
    b = {1: 1.0, 2: 1.0, 3: 0.0}
    got = paired_difference(a, b, {1: "s1", 2: "s2", 3: "s3"})
    assert got.method == "clustered" and got.n == 3 and got.n_clusters == 3 and got.no_overlap is False
    assert got.diff == pytest.approx(-1 / 3)
    assert got.low == -1.0
    assert got.high == pytest.approx(got.diff + 1.959963984540054 * got.se)
    assert got.n_only_a == 0 and got.n_only_b == 0


def test_clustered_interval_clips_at_plus_one() -> None:
    a = {1: 1.0, 2: 1.0, 3: 0.0}
    b = {1: 0.0, 2: 0.0, 3: 1.0}
    got = paired_difference(a, b, {1: "s1", 2: "s2", 3: "s3"})
    assert got.high == 1.0 and got.low == pytest.approx(got.diff - 1.959963984540054 * got.se)


def test_seeds_needed_accepts_the_closed_ends() -> None:
    assert seeds_needed(1.0, sd=0.01) == 1  # never fewer than one seed
    assert seeds_needed(-1.0, sd=0.01) == 1
    assert seeds_needed(0.5, p=0.5) >= 1  # p == |diff|
    assert seeds_needed(0.1, p=1.0) >= 1
    assert seeds_needed(0.1, sd=0.5, icc=1.0, cells_per_seed=10) == seeds_needed(0.1, sd=0.5) == 197
    assert seeds_needed(0.1, sd=0.5, icc=0.0, cells_per_seed=1) == 197


def test_seeds_needed_rounds_an_exact_count_down_not_up() -> None:
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    sd = 2.0 / z  # (z * sd / 1) ** 2 == 4 up to rounding
    assert math.isclose((z * sd) ** 2, 4.0, rel_tol=1e-12)
    assert seeds_needed(1.0, sd=sd) == 4
    assert seeds_needed(1.0, sd=sd, cells_per_seed=2) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"diff": 0.0, "sd": 0.5}, r"diff must be within \(0, 1\] in absolute value, got 0.0"),
        ({"diff": 1.5, "sd": 0.5}, r"diff must be within \(0, 1\] in absolute value, got 1.5"),
        ({"diff": 0.1}, r"give exactly one of sd and p"),
        ({"diff": 0.1, "sd": 0.5, "p": 0.5}, r"give exactly one of sd and p"),
        ({"diff": 0.1, "sd": 0.5, "alpha": 0.0}, r"alpha and power must be within \(0, 1\), got 0.0, 0.8"),
        ({"diff": 0.1, "sd": 0.5, "alpha": 1.0}, r"alpha and power must be within \(0, 1\), got 1.0, 0.8"),
        ({"diff": 0.1, "sd": 0.5, "alpha": 1.5}, r"alpha and power must be within \(0, 1\), got 1.5, 0.8"),
        ({"diff": 0.1, "sd": 0.5, "power": 0.0}, r"alpha and power must be within \(0, 1\), got 0.05, 0.0"),
        ({"diff": 0.1, "sd": 0.5, "power": 1.0}, r"alpha and power must be within \(0, 1\), got 0.05, 1.0"),
        ({"diff": 0.1, "sd": 0.5, "power": 1.5}, r"alpha and power must be within \(0, 1\), got 0.05, 1.5"),
        ({"diff": 0.1, "sd": 0.5, "cells_per_seed": 0}, r"cells_per_seed must be >= 1, got 0"),
        ({"diff": 0.1, "sd": 0.5, "icc": 1.5}, r"icc must be within \[0, 1\], got 1.5"),
        ({"diff": 0.1, "sd": 0.5, "icc": -0.1}, r"icc must be within \[0, 1\], got -0.1"),
        ({"diff": 0.5, "p": 0.4}, r"p must be within \[\|diff\|, 1\], got 0.4"),
        ({"diff": 0.5, "p": 1.5}, r"p must be within \[\|diff\|, 1\], got 1.5"),
        ({"diff": 0.1, "sd": 0.0}, r"sd must be a positive number, got 0.0"),
        ({"diff": 0.1, "sd": math.inf}, r"sd must be a positive number, got inf"),
        ({"diff": 0.1, "sd": -1.0}, r"sd must be a positive number, got -1.0"),
    ],
)
def test_seeds_needed_refuses_out_of_range_arguments(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        seeds_needed(**kwargs)  # type: ignore[arg-type]


def test_mean_or_none() -> None:
    from evals.stats import mean_or_none

    assert mean_or_none([]) is None
    assert mean_or_none([0.25, 0.5, 1.0]) == 1.75 / 3
    assert mean_or_none([2.0]) == 2.0


def test_proportion_checks_scores_and_uses_the_given_z() -> None:
    from evals.stats import proportion, wilson_interval

    with pytest.raises(ValueError, match=r"^score must be a number within \[0, 1\], got 1.5$"):
        proportion([1.5])
    p = proportion([1.0, 0.0, 1.0], z=1.0)
    assert (p.ci_low, p.ci_high) == wilson_interval(2.0, 3, 1.0) != wilson_interval(2.0, 3)


def test_effective_length_threshold_is_a_closed_interval() -> None:
    from evals.stats import effective_length

    assert effective_length({1000: 0.0, 2000: 0.0}, threshold=0.0) == 2000
    assert effective_length({1000: 1.0, 2000: 0.99}, threshold=1.0) == 1000
    with pytest.raises(ValueError, match=r"^threshold must be within \[0, 1\], got 1.5$"):
        effective_length({1000: 1.0}, threshold=1.5)


def test_effective_length_range_uses_the_given_threshold() -> None:
    from evals.stats import Proportion, effective_length_with_ci

    by_length = {
        1000: Proportion(n=10, successes=9.0, mean=0.9, ci_low=0.6, ci_high=0.98),
        2000: Proportion(n=10, successes=7.0, mean=0.7, ci_low=0.55, ci_high=0.9),
    }
    got = effective_length_with_ci(by_length, threshold=0.58)
    assert (got.value, got.ci_low_value, got.ci_high_value, got.threshold, got.n) == (
        2000,
        1000,
        2000,
        0.58,
        20,
    )


def test_clustered_proportion_shapes_exactly() -> None:
    from evals.stats import ClusteredProportion, clustered_proportion, wilson_interval

    with pytest.raises(ValueError, match=r"^2 scores but 1 clusters$"):
        clustered_proportion([1.0, 0.0], ["a"])
    assert clustered_proportion([], []) == ClusteredProportion(None, None, 0, 0, None, None, "empty")
    assert clustered_proportion([0.0] * 6, [1, 2, 3] * 2) == ClusteredProportion(
        0.0, 0.0, 6, 3, 0.0, 0.5, "rule_of_three"
    )
    got = clustered_proportion([1.0, 0.0, 1.0, 1.0], ["s"] * 4, z=1.0)
    low, high = wilson_interval(3.0, 4, 1.0)
    assert got == ClusteredProportion(0.75, math.sqrt(0.75 * 0.25 / 4), 4, 1, low, high, "wilson")
