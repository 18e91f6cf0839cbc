"""Statistics against hand-computed values (z = 1.959964, z^2 = 3.841459)."""

from __future__ import annotations

import math

import pytest

from evals.stats import (
    Proportion,
    clustered_proportion,
    effective_length,
    effective_length_with_ci,
    format_tokens,
    paired_difference,
    proportion,
    rule_of_three,
    seeds_needed,
    wilson_interval,
)

# Wilson: centre = (p + z^2/2n) / (1 + z^2/n); half = z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2).


def test_wilson_8_of_10() -> None:
    # denom 1.384146, centre 0.992073/1.384146 = 0.716738, half 1.416011*sqrt(0.016+0.009604) = 0.226578
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_0_of_5() -> None:
    # denom 1.768292, centre 0.384146/1.768292 = 0.217241 = half: the lower bound is exactly 0
    assert wilson_interval(0, 5) == (0.0, pytest.approx(0.4345, abs=1e-4))


def test_wilson_5_of_5() -> None:
    # mirror image of 0/5
    assert wilson_interval(5, 5) == (pytest.approx(0.5655, abs=1e-4), 1.0)


def test_wilson_0_of_0_is_the_whole_range() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_large_n_all_successes() -> None:
    # 100/100: denom 1.038415, centre 1.019207/1.038415 = 0.981503, half 1.887457*0.009800 = 0.018497
    low, high = wilson_interval(100, 100)
    assert low == pytest.approx(0.9630, abs=1e-4)
    assert high == 1.0


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (1, -1)])
def test_wilson_rejects_impossible_counts(k: float, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n)


def test_proportion_of_binary_scores() -> None:
    p = proportion([1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
    assert (p.n, p.successes, p.mean) == (10, 8.0, 0.8)
    assert (p.ci_low, p.ci_high) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_proportion_of_fractional_scores_uses_the_sum_as_successes() -> None:
    # [0.5, 0.5, 1, 0]: mean 0.5, Wilson(2, 4): centre 0.5, half 0.999795*sqrt(0.0625+0.060023) = 0.349961
    p = proportion([0.5, 0.5, 1.0, 0.0])
    assert p.mean == 0.5
    assert p.successes == 2.0
    assert (p.ci_low, p.ci_high) == pytest.approx((0.1500, 0.8500), abs=1e-4)


def test_proportion_of_nothing() -> None:
    assert proportion([]) == Proportion(n=0, successes=0.0, mean=None, ci_low=None, ci_high=None)


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), True, "1"])
def test_proportion_rejects_bad_scores(bad: object) -> None:
    with pytest.raises(ValueError):
        proportion([1.0, bad])  # type: ignore[list-item]


def test_effective_length_stops_at_first_miss() -> None:
    # 8000 recovers to 0.95 but 4000 already fell below: the run ends at 2000.
    assert effective_length({1000: 0.9, 2000: 0.86, 4000: 0.5, 8000: 0.95}, 0.85) == 2000


def test_effective_length_threshold_is_inclusive_and_input_order_free() -> None:
    assert effective_length({4000: 0.85, 1000: 1.0, 2000: 0.9}, 0.85) == 4000


def test_effective_length_below_the_shortest_is_none() -> None:
    assert effective_length({1000: 0.8, 2000: 0.99}, 0.85) is None
    assert effective_length({}, 0.85) is None


def test_effective_length_unknown_length_breaks_the_run() -> None:
    assert effective_length({1000: 1.0, 2000: None, 4000: 1.0}, 0.85) == 1000


def test_effective_length_rejects_bad_threshold() -> None:
    with pytest.raises(ValueError):
        effective_length({1000: 1.0}, 1.5)


def test_effective_length_with_ci_hand_computed() -> None:
    # recall: 1000 100/100, 2000 9/10, 4000 8/10, 8000 2/10; threshold 0.85
    # point: 1.0, 0.9, 0.8 < .85                                                   -> 2000
    # lower bounds: 0.9630, Wilson(9,10) low 0.5958 < .85                          -> 1000
    # upper bounds: 1.0, 0.9821, 0.9433, Wilson(2,10) high 0.5098 < .85            -> 4000
    by_length = {
        1000: proportion([1.0] * 100),
        2000: proportion([1.0] * 9 + [0.0]),
        4000: proportion([1.0] * 8 + [0.0] * 2),
        8000: proportion([1.0] * 2 + [0.0] * 8),
    }
    assert by_length[2000].ci_low == pytest.approx(0.5958, abs=1e-4)
    assert by_length[2000].ci_high == pytest.approx(0.9821, abs=1e-4)
    assert by_length[8000].ci_high == pytest.approx(0.5098, abs=1e-4)
    eff = effective_length_with_ci(by_length, 0.85)
    assert (eff.value, eff.ci_low_value, eff.ci_high_value) == (2000, 1000, 4000)
    assert eff.n == 130
    assert eff.threshold == 0.85


def test_effective_length_with_ci_pessimistic_can_be_none() -> None:
    # 6/6 has lower bound 0.6097 < 0.85: nothing can be claimed pessimistically.
    eff = effective_length_with_ci({1000: proportion([1.0] * 6), 2000: proportion([1.0] * 6)}, 0.85)
    assert (eff.value, eff.ci_low_value, eff.ci_high_value) == (2000, None, 2000)


@pytest.mark.parametrize(
    ("n", "label"),
    [
        (500, "500"),
        (1000, "1K"),
        (1500, "1.5K"),
        (1024, "1.024K"),
        (128000, "128K"),
        (1_000_000, "1M"),
        (2_500_000, "2.5M"),
    ],
)
def test_format_tokens(n: int, label: str) -> None:
    assert format_tokens(n) == label


# --- cluster-robust intervals, paired comparisons, sample sizes -------------------------------------------


def test_rule_of_three() -> None:
    assert rule_of_three(30) == 0.1  # 3/30
    assert rule_of_three(2) == 1.0  # 3/2 capped at 1
    assert rule_of_three(0) == 1.0  # no information
    with pytest.raises(ValueError):
        rule_of_three(-1)


def test_clustered_proportion_cr1_hand_computed() -> None:
    # clusters of 4: a 4/4, b 2/4, c 1/4 -> mean 7/12
    # residual sums: a 4 - 4*7/12 = 5/3, b 2 - 7/3 = -1/3, c 1 - 7/3 = -4/3; squares 25/9 + 1/9 + 16/9 = 14/3
    # CR1: G/(G-1) = 3/2 -> 3/2 * 14/3 = 7; se = sqrt(7)/12 = 0.220479
    # independent floor sqrt((7/12)(5/12)/12) = 0.142319 < 0.220479, so the CR1 se stands
    # design effect (0.220479/0.142319)^2 = (7/144)/(35/1728) = 2.4
    # interval 7/12 -+ 1.959964*0.220479 = 0.151202 .. 1.015465 -> clipped to 1
    scores = [1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0]
    clusters = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    r = clustered_proportion(scores, clusters)
    assert r.method == "clustered"
    assert (r.n, r.n_clusters) == (12, 3)
    assert math.isclose(r.mean, 7 / 12, rel_tol=1e-12)
    assert math.isclose(r.se, math.sqrt(7) / 12, rel_tol=1e-12)
    assert math.isclose(r.design_effect, 2.4, rel_tol=1e-12)
    assert math.isclose(r.low, 7 / 12 - 1.959964 * math.sqrt(7) / 12, rel_tol=1e-12)
    assert math.isclose(r.low, 0.151202, rel_tol=1e-5)
    assert r.high == 1.0


def test_clustered_proportion_never_narrower_than_independent() -> None:
    # a: 1,1,0  b: 1,0,0 -> mean 1/2; residual sums a +1/2, b -1/2; CR1 = sqrt(2 * 1/2)/6 = 1/6
    # independent sqrt(0.25/6) = 0.204124 > 1/6: the floor applies; design effect (1/36)/(1/24) = 2/3
    r = clustered_proportion([1, 1, 0, 1, 0, 0], [0, 0, 0, 1, 1, 1])
    assert r.method == "clustered"
    assert math.isclose(r.se, math.sqrt(0.25 / 6), rel_tol=1e-12)
    assert math.isclose(r.design_effect, 2 / 3, rel_tol=1e-12)
    assert math.isclose(r.low, 0.5 - 1.959964 * math.sqrt(0.25 / 6), rel_tol=1e-12)  # 0.099923
    assert math.isclose(r.high, 0.5 + 1.959964 * math.sqrt(0.25 / 6), rel_tol=1e-12)  # 0.900077


def test_clustered_proportion_all_right_or_all_wrong_is_rule_of_three() -> None:
    r = clustered_proportion([1.0] * 30, [i % 3 for i in range(30)])
    # 3/30 = 0.1 -> [0.9, 1]
    assert (r.method, r.mean, r.se, r.low, r.high, r.n_clusters) == ("rule_of_three", 1.0, 0.0, 0.9, 1.0, 3)
    r = clustered_proportion([0] * 6, [0, 0, 0, 1, 1, 1])
    # 3/6 = 0.5 -> [0, 0.5]
    assert (r.method, r.mean, r.low, r.high) == ("rule_of_three", 0.0, 0.0, 0.5)


def test_clustered_proportion_one_cluster_is_wilson() -> None:
    # same numbers as test_wilson_8_of_10; se sqrt(0.8*0.2/10) = 0.126491
    r = clustered_proportion([1] * 8 + [0] * 2, ["s"] * 10)
    assert r.method == "wilson"
    assert (r.low, r.high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert math.isclose(r.se, math.sqrt(0.016), rel_tol=1e-12)


def test_clustered_proportion_empty_and_errors() -> None:
    r = clustered_proportion([], [])
    assert (r.method, r.mean, r.se, r.low, r.high, r.n) == ("empty", None, None, None, None, 0)
    with pytest.raises(ValueError):
        clustered_proportion([1, 0], [0])
    with pytest.raises(ValueError):
        clustered_proportion([1.2, 0], [0, 1])


def test_paired_difference_hand_computed() -> None:
    # shared cells c1..c4 (c5 only in a, c6 only in b): d = 0, 1, 0, 1 -> diff 1/2
    # clusters: s0 = {c1, c3} residuals -1/2, -1/2 -> -1; s1 = {c2, c4} -> +1; CR1 sqrt(2 * 2)/4 = 1/2
    # independent: sample var of d = 1/3, se sqrt(1/3/4) = 0.288675 < 1/2
    # interval 0.5 -+ 1.959964*0.5 = -0.479982 .. 1.479982 -> clipped to 1
    a = {"c1": 1, "c2": 1, "c3": 0, "c4": 1, "c5": 1}
    b = {"c1": 1, "c2": 0, "c3": 0, "c4": 0, "c6": 0}
    clusters = {"c1": 0, "c2": 1, "c3": 0, "c4": 1}
    r = paired_difference(a, b, clusters)
    assert (r.n, r.n_clusters, r.n_only_a, r.n_only_b, r.no_overlap, r.method) == (
        4,
        2,
        1,
        1,
        False,
        "clustered",
    )
    assert r.diff == 0.5
    assert r.se == 0.5
    assert math.isclose(r.low, 0.5 - 1.959964 * 0.5, rel_tol=1e-12)
    assert r.high == 1.0


def test_paired_difference_floor_and_independent() -> None:
    # same d = 0, 1, 0, 1 but clusters {c1, c2}, {c3, c4}: residual sums 0 and 0 -> CR1 0 -> floor sqrt(1/12)
    a = {"c1": 1, "c2": 1, "c3": 0, "c4": 1}
    b = {"c1": 1, "c2": 0, "c3": 0, "c4": 0}
    r = paired_difference(a, b, {"c1": 0, "c2": 0, "c3": 1, "c4": 1})
    assert r.method == "clustered"
    assert math.isclose(r.se, math.sqrt(1 / 12), rel_tol=1e-12)
    r = paired_difference(a, b, dict.fromkeys(a, 7))
    assert r.method == "independent"
    assert math.isclose(r.se, math.sqrt(1 / 12), rel_tol=1e-12)


def test_paired_difference_no_discordance_and_no_overlap() -> None:
    # both right on all 30 shared cells: diff 0, interval 0 -+ 3/30
    a = {i: 1.0 for i in range(30)}
    r = paired_difference(a, dict(a), {i: i % 2 for i in range(30)})
    assert (r.method, r.diff, r.se, r.low, r.high) == ("rule_of_three", 0.0, 0.0, -0.1, 0.1)
    r = paired_difference({"x": 1.0}, {"y": 0.0}, {})
    assert r.no_overlap and r.method == "none"
    assert (r.diff, r.se, r.low, r.high, r.n, r.n_only_a, r.n_only_b) == (None, None, None, None, 0, 1, 1)
    with pytest.raises(KeyError):
        paired_difference({"x": 1.0}, {"x": 0.0}, {})


def test_seeds_needed_hand_computed() -> None:
    # z_.975 = 1.959964, z_.8 = 0.841621, sum 2.801585
    # sd 0.5, diff 0.1: (2.801585 * 0.5 / 0.1)^2 = 14.007926^2 = 196.2220 paired cells
    # 22 cells per seed: 196.2220 / 22 = 8.919 -> 9 seeds; 1 cell per seed -> 197
    assert seeds_needed(0.1, sd=0.5, cells_per_seed=22) == 9
    assert seeds_needed(0.1, sd=0.5) == 197
    # p = 0.9, q = 0.8: sd = sqrt(0.09 + 0.16) = 0.5 -> the same; the sign of diff is ignored
    assert seeds_needed(-0.1, p=0.9, cells_per_seed=22) == 9
    # icc 0.1: deff 1 + 21*0.1 = 3.1 -> 608.288 cells / 22 = 27.65 -> 28 seeds
    assert seeds_needed(0.1, sd=0.5, cells_per_seed=22, icc=0.1) == 28
    # alpha 0.01, power 0.9: z 2.575829 + 1.281552 = 3.857381; (3.857381*0.5/0.2)^2 = 92.9962 -> 93
    assert seeds_needed(0.2, sd=0.5, alpha=0.01, power=0.9) == 93


@pytest.mark.parametrize(
    "kwargs",
    [
        {"diff": 0.0, "sd": 0.5},
        {"diff": 0.1},
        {"diff": 0.1, "sd": 0.5, "p": 0.9},
        {"diff": 0.1, "sd": 0.5, "cells_per_seed": 0},
        {"diff": 0.1, "p": 0.05},
        {"diff": 0.1, "sd": 0.5, "icc": 1.5},
        {"diff": 0.1, "sd": 0.5, "power": 1.0},
    ],
)
def test_seeds_needed_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        seeds_needed(**kwargs)
