"""Adaptive sampling of the grid (planning.sampler): acceptance, assumption check, determinism, resume."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import pytest

from evals.planning.sampler import AdaptiveSampler, Point, finite_population_bounds, isotonic_decreasing
from evals.stats import effective_length

LENGTHS = tuple(1000 * 2**i for i in range(12))
DEPTHS = tuple(float(d) for d in range(0, 101, 10))
SEEDS = (0, 1)
N_FULL = len(LENGTHS) * len(DEPTHS) * len(SEEDS)  # 264

Model = Callable[[Point], float | None]


def run(sampler: AdaptiveSampler, model: Model, observed: dict[Point, float | None] | None = None) -> dict:
    """Drive the sampler to the end like the runner would; returns everything observed."""
    observed = dict(observed or {})
    while batch := sampler.next_batch(observed):
        assert len(set(batch)) == len(batch)
        assert not any(c in observed for c in batch), "an observed cell was proposed again"
        for cell in batch:
            observed[cell] = model(cell)
    return observed


def full_grid_effective_length(model: Model) -> int | None:
    per_length: dict[int, float | None] = {}
    for length in LENGTHS:
        scores = [model((length, d, s)) for d in DEPTHS for s in SEEDS]
        scored = [x for x in scores if x is not None]
        per_length[length] = statistics.fmean(scored) if scored else None
    return effective_length(per_length, 0.85)


def cliff_model(cliff: int) -> Model:
    """Right only when the prompt is shorter than ``cliff`` tokens (deterministic)."""
    return lambda cell: 1.0 if cell[0] < cliff else 0.0


# -- acceptance ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cliff", [500, *(length + 1 for length in LENGTHS)])
def test_deterministic_cliff_reaches_the_full_grid_answer_with_at_most_30_percent_of_the_calls(
    cliff: int,
) -> None:
    model = cliff_model(cliff)
    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS, threshold=0.85, confidence=0.95)
    observed = run(sampler, model)
    status = sampler.status(observed)
    assert status.settled
    assert status.assumption_ok
    assert status.effective_length == full_grid_effective_length(model)
    assert status.lower == status.upper == status.effective_length
    assert len(observed) <= 0.30 * N_FULL, f"{len(observed)} of {N_FULL} calls"
    assert status.n_observed == len(observed)
    assert status.n_cells == N_FULL


def test_cliff_at_64k_numbers() -> None:
    # coarse 2 x 12 = 24; 64K needs 16 right of 22 to pass at alpha = 0.05/24 (C(18,16)/C(22,16) = 0.00205);
    # 128K: 3 wrong to fail (C(3,3)/C(22,3) = 0.00065), so 14 + 1 more: 39 calls = 14.8%
    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    observed = run(sampler, cliff_model(64001))
    st = sampler.status(observed)
    assert (st.effective_length, len(observed)) == (64000, 39)
    by = {s.length: s for s in st.by_length}
    assert (by[64000].n_observed, by[64000].decision) == (16, "pass")
    assert (by[128000].n_observed, by[128000].decision) == (3, "fail")
    assert st.reason.startswith("settled: 64K passes and 128K fails")


# -- the monotonicity assumption ----------------------------------------------------------------------------


def dip_model(cell: Point) -> float:
    """Fails at 4K only, then right again up to 256K: recall rises with length after 4K."""
    length = cell[0]
    return 0.0 if length == 4000 or length > 256000 else 1.0


def test_a_dip_and_recovery_is_flagged_and_the_answer_is_still_the_full_grids() -> None:
    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    observed = run(sampler, dip_model)
    st = sampler.status(observed)
    assert full_grid_effective_length(dip_model) == 2000
    assert st.settled
    assert st.effective_length == 2000
    assert not st.assumption_ok
    assert "recall rises with length: 4K" in st.assumption_note
    by = {s.length: s for s in st.by_length}
    # without the assumption, 1K and 2K had to pass on their own data
    assert by[1000].decision == by[2000].decision == "pass"
    assert by[4000].decision == "fail"


def test_no_assumption_mode_decides_every_length_on_its_own() -> None:
    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS, assume_monotone=False)
    observed = run(sampler, cliff_model(8001))
    st = sampler.status(observed)
    assert st.effective_length == 8000
    assert st.assumption_ok  # nothing rose; simply not relied on
    assert "assume_monotone=False" in st.assumption_note
    assert all(s.decision == "pass" for s in st.by_length if s.length <= 8000)
    monotone = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    assert len(run(monotone, cliff_model(8001))) < len(observed)


def test_no_violation_flagged_on_a_noisy_but_falling_curve() -> None:
    # right on 21 of 22 cells up to 32K (one fixed wrong depth), then 2 of 22: no length rises significantly
    def model(cell: Point) -> float:
        length, depth, seed = cell
        if length <= 32000:
            return 0.0 if (depth, seed) == (30.0, 1) else 1.0
        return 1.0 if (depth, seed) in ((0.0, 0), (100.0, 1)) else 0.0

    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    observed = run(sampler, model)
    st = sampler.status(observed)
    assert st.assumption_ok
    assert st.effective_length == full_grid_effective_length(model) == 32000


# -- determinism and resume ---------------------------------------------------------------------------------


def test_same_inputs_same_batches() -> None:
    model = cliff_model(16001)
    a, b = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS), AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    obs_a: dict[Point, float | None] = {}
    obs_b: dict[Point, float | None] = {}
    while True:
        batch_a, batch_b = a.next_batch(obs_a), b.next_batch(obs_b)
        assert batch_a == batch_b
        if not batch_a:
            break
        for c in batch_a:
            obs_a[c] = obs_b[c] = model(c)
    # argument order does not matter; another salt reorders cells but reaches the same answer
    c = AdaptiveSampler(reversed(LENGTHS), reversed(DEPTHS), reversed(SEEDS))
    assert c.next_batch({}) == a.next_batch({})
    salted = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS, salt="other")
    assert salted.next_batch({}) != a.next_batch({})
    assert salted.status(run(salted, model)).effective_length == 16000


def test_resume_continues_without_reproposing_observed_cells() -> None:
    model = cliff_model(32001)
    straight = run(AdaptiveSampler(LENGTHS, DEPTHS, SEEDS), model)
    # interrupted after the first round; a new sampler (new process) gets what results.jsonl holds
    first = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    partial = {c: model(c) for c in first.next_batch({})}
    resumed_sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    resumed = run(resumed_sampler, model, partial)
    assert resumed == straight
    # finished: nothing more to do
    assert resumed_sampler.next_batch(resumed) == []


def test_resume_from_cells_it_would_not_have_chosen() -> None:
    # e.g. an earlier plain run got through part of the grid (every seed-0 cell up to 8K)
    model = cliff_model(32001)
    earlier = {(length, d, 0): model((length, d, 0)) for length in LENGTHS[:4] for d in DEPTHS}
    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    observed = run(sampler, model, earlier)
    st = sampler.status(observed)
    assert st.effective_length == 32000
    assert st.settled


# -- errors, budget, bounds ---------------------------------------------------------------------------------


def test_lengths_without_any_score_end_the_run_like_the_full_grid() -> None:
    # over the model's window from 512K on: every such cell comes back without a score
    def model(cell: Point) -> float | None:
        return None if cell[0] >= 512000 else 1.0

    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    observed = run(sampler, model)
    st = sampler.status(observed)
    assert full_grid_effective_length(model) == 256000
    assert st.effective_length == 256000
    assert st.settled
    assert {s.length: s.decision for s in st.by_length}[512000] == "fail"


def test_budget_stops_early_and_says_so() -> None:
    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS, max_cells=30)
    observed = run(sampler, cliff_model(64001))
    assert len(observed) == 30
    st = sampler.status(observed)
    assert not st.settled
    assert "budget of 30 cells spent" in st.reason
    # coarse 24 + 6 of the 14 more that 64K needs: nothing decided yet (2 wrong of 22 do not fail a length at
    # alpha 0.05/24: C(3,2)/C(22,2) = 0.013), but the point estimate is already right
    assert (st.lower, st.upper, st.effective_length) == (None, 2048000, 64000)
    assert sampler.next_batch(observed) == []


def test_exhausted_grid_is_exact() -> None:
    model = dip_model
    sampler = AdaptiveSampler(LENGTHS, DEPTHS, SEEDS)
    everything = {c: model(c) for c in sampler.cells}
    st = sampler.status(everything)
    assert st.settled and st.effective_length == 2000
    assert sampler.next_batch(everything) == []
    assert len(sampler.cells) == N_FULL == len(set(sampler.cells))


def test_rejects_bad_arguments_and_scores() -> None:
    with pytest.raises(ValueError):
        AdaptiveSampler([], DEPTHS, SEEDS)
    with pytest.raises(ValueError):
        AdaptiveSampler(LENGTHS, DEPTHS, SEEDS, threshold=1.5)
    with pytest.raises(ValueError):
        AdaptiveSampler(LENGTHS, DEPTHS, SEEDS, confidence=1.0)
    with pytest.raises(ValueError):
        AdaptiveSampler(LENGTHS, DEPTHS, SEEDS, max_cells=0)
    with pytest.raises(ValueError):
        AdaptiveSampler(LENGTHS, DEPTHS, SEEDS).status({(1000, 0.0, 0): 2.0})


def test_finite_population_bounds_hand_computed() -> None:
    # 13 of 13 right from N = 22, alpha 0.025: P(all 13 right | K) = C(K,13)/C(22,13);
    # K = 18: 8568/497420 = 0.0172 <= 0.025 (rejected), K = 19: 27132/497420 = 0.0545 -> low = 19/22
    assert finite_population_bounds([1.0] * 13, 22, 0.025) == (19 / 22, 1.0)
    # mirror image: 13 wrong -> high = 3/22
    assert finite_population_bounds([0.0] * 13, 22, 0.025) == (0.0, 3 / 22)
    # fully observed: exact; nothing observed: the whole range
    assert finite_population_bounds([1, 0, 1, 1], 4, 0.01) == (0.75, 0.75)
    assert finite_population_bounds([], 10, 0.05) == (0.0, 1.0)
    # fractional, Serfling: m 50 of N 100, mean 0.5, alpha e^-2: eps = sqrt(2 * (1 - 49/100) / 100) = 0.100995
    low, high = finite_population_bounds([0.5] * 50, 100, math.exp(-2))
    assert math.isclose(low, 0.5 - math.sqrt(0.0102), rel_tol=1e-12)
    assert math.isclose(high, 0.5 + math.sqrt(0.0102), rel_tol=1e-12)
    with pytest.raises(ValueError):
        finite_population_bounds([1.0] * 3, 2, 0.05)


def test_isotonic_decreasing() -> None:
    # 0.5 < 0.7 violates: pooled (0.5 + 0.7)/2 = 0.6; with weight 3 on 0.7: (0.5 + 2.1)/4 = 0.65
    assert isotonic_decreasing([1.0, 0.5, 0.7, 0.2], [1, 1, 1, 1]) == pytest.approx([1.0, 0.6, 0.6, 0.2])
    assert isotonic_decreasing([1.0, 0.5, 0.7, 0.2], [1, 1, 3, 1]) == pytest.approx([1.0, 0.65, 0.65, 0.2])
    assert isotonic_decreasing([], []) == []
