"""Statistics against hand-computed values (z = 1.959964, z^2 = 3.841459)."""

from __future__ import annotations

import pytest

from evals.stats import (
    Proportion,
    effective_length,
    effective_length_with_ci,
    format_tokens,
    proportion,
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
