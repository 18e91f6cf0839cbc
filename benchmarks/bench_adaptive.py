"""Benchmark of adaptive sampling (run by hand: ``python benchmarks/bench_adaptive.py [--sims 200]``).

For each synthetic recall surface p(length, depth, seed), each simulation draws one Bernoulli answer per cell
of a 12-length x 11-depth x 2-seed grid (264 cells): that realisation is the full grid, and its effective
context length (:func:`evals.stats.effective_length` on the per-length means) is the reference. The adaptive
sampler (:class:`evals.planning.sampler.AdaptiveSampler`, defaults: threshold 0.85, confidence 0.95) then runs
on the *same* realisation, seeing only the cells it asks for. Printed per surface, all measured in this one
run: the calls ratio (adaptive / full), how often the adaptive effective length is the full grid's (the same
length), how often it is within one grid step, and how often its monotonicity check fired; for the default
sampler (recall assumed not to rise with length) and for ``assume_monotone=False`` (every length up to the
boundary decided on its own data).

The rounds columns count the sampler's rounds: with ``--adaptive --batch`` each is one batch (the same
cells, so the same answers and calls ratio; what batching adds is one batch turnaround per round).

The yardstick column: how often the full grid agrees with *itself*, i.e. a second full grid with
fresh draws from the same surface gives the same effective length. Where recall hovers near the threshold
over several lengths, the full grid's effective length is a noisy number, and no sampler can agree with one
realisation of it more often than the data allow. A second table compares each answer with the effective
length of the surface itself (its per-length mean probability), which no finite grid knows exactly.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.planning.sampler import AdaptiveSampler, Point
from evals.stats import effective_length, format_tokens

LENGTHS = tuple(1000 * 2**i for i in range(12))
DEPTHS = tuple(float(d) for d in range(0, 101, 10))
SEEDS = (0, 1)
THRESHOLD = 0.85

Surface = Callable[[int, float, int], float]  # (length index, depth, seed) -> probability of a right answer
_JITTER = [random.Random(f"jitter:{i}").uniform(-0.08, 0.08) for i in range(len(LENGTHS))]


def _clip(p: float) -> float:
    return min(1.0, max(0.0, p))


SURFACES: dict[str, Surface] = {
    # right almost always up to 64K, then almost never
    "sharp cliff": lambda li, d, s: 0.98 if li < 7 else 0.03,
    # recall falls by 4 points per doubling from 1.0: 0.88 at 8K, 0.84 at 16K
    "gradual decline": lambda li, d, s: _clip(1.0 - 0.04 * li),
    # mid-depth needles get lost as the context grows: the per-length mean is 1 - 0.024 * li (0.855 at 64K)
    "lost in the middle": lambda li, d, s: _clip(1.0 - 0.06 * li * math.exp(-(((d - 50) / 25) ** 2))),
    # a declining curve with a fixed +-8-point wobble per length and a seed effect (+-5 points)
    "noisy": lambda li, d, s: _clip(0.99 - 0.03 * li + _JITTER[li] + (0.05 if s == 0 else -0.05)),
    # 97% everywhere: the effective length is the longest length
    "flat": lambda li, d, s: 0.97,
    # 50% everywhere: below the shortest length
    "flat low": lambda li, d, s: 0.5,
}


_INDEX = {length: i for i, length in enumerate(LENGTHS)}


def _draw(surface: Surface, key: str) -> dict[Point, float]:
    rng = random.Random(key)
    truth: dict[Point, float] = {}
    for li, length in enumerate(LENGTHS):
        for d in DEPTHS:
            for s in SEEDS:
                truth[(length, d, s)] = 1.0 if rng.random() < surface(li, d, s) else 0.0
    return truth


def _full_index(truth: dict[Point, float]) -> int:
    per_length = {
        length: statistics.fmean(truth[(length, d, s)] for d in DEPTHS for s in SEEDS) for length in LENGTHS
    }
    eff = effective_length(per_length, THRESHOLD)
    return -1 if eff is None else _INDEX[eff]


def _adaptive(truth: dict[Point, float], assume_monotone: bool) -> tuple[int, int, bool, bool, int]:
    sampler = AdaptiveSampler(
        LENGTHS, DEPTHS, SEEDS, threshold=THRESHOLD, confidence=0.95, assume_monotone=assume_monotone
    )
    observed: dict[Point, float] = {}
    rounds = 0
    while batch := sampler.next_batch(observed):
        rounds += 1
        for cell in batch:
            observed[cell] = truth[cell]
    st = sampler.status(observed)
    eff = -1 if st.effective_length is None else _INDEX[st.effective_length]
    return len(observed), eff, st.settled, not st.assumption_ok, rounds


def _surface_index(surface: Surface) -> int:
    per_length = {
        length: statistics.fmean(surface(li, d, s) for d in DEPTHS for s in SEEDS)
        for li, length in enumerate(LENGTHS)
    }
    eff = effective_length(per_length, THRESHOLD)
    return -1 if eff is None else _INDEX[eff]


def simulate(surface: Surface, sim: int, name: str) -> dict[str, float]:
    """One realisation of the full grid, both sampler modes on it, and an independent second full grid."""
    truth = _draw(surface, f"{name}:{sim}")
    full = _full_index(truth)
    curve = _surface_index(surface)
    out: dict[str, float] = {
        "repeat_same": _full_index(_draw(surface, f"{name}:{sim}:repeat")) == full,
        "full_curve": full == curve,
    }
    for mode, monotone in (("mono", True), ("free", False)):
        calls, eff, settled, flagged, rounds = _adaptive(truth, monotone)
        out[f"{mode}_calls"] = calls
        out[f"{mode}_rounds"] = rounds
        out[f"{mode}_same"] = eff == full
        out[f"{mode}_near"] = abs(eff - full) <= 1
        out[f"{mode}_settled"] = settled
        out[f"{mode}_flagged"] = flagged
        out[f"{mode}_curve"] = eff == curve
    return out


def main() -> None:
    """Run every surface, print one table row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=200)
    args = parser.parse_args()
    n_full = len(LENGTHS) * len(DEPTHS) * len(SEEDS)
    t0 = time.perf_counter()
    print(
        f"grid {len(LENGTHS)} lengths x {len(DEPTHS)} depths x {len(SEEDS)} seeds = {n_full} cells; "
        f"threshold {THRESHOLD}, confidence 0.95, {args.sims} simulations per surface"
    )
    print()
    print(
        "| surface | calls ratio | same length | within 1 step | assumption flagged "
        "| calls ratio, no assumption | same length, no assumption | full grid vs fresh full grid "
        "| rounds (batches with --batch) | rounds, no assumption |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = {
        name: [simulate(surface, sim, name) for sim in range(args.sims)] for name, surface in SURFACES.items()
    }
    for name, rows in results.items():

        def mean(key: str, rows: list[dict[str, float]] = rows) -> float:
            return statistics.fmean(r[key] for r in rows)

        def pct(key: str) -> str:
            return f"{100 * mean(key):.1f}%"

        assert all(r["mono_settled"] and r["free_settled"] for r in rows)
        print(
            f"| {name} | {mean('mono_calls') / n_full:.3f} | {pct('mono_same')} | {pct('mono_near')} "
            f"| {pct('mono_flagged')} | {mean('free_calls') / n_full:.3f} | {pct('free_same')} "
            f"| {pct('repeat_same')} | {mean('mono_rounds'):.1f} | {mean('free_rounds'):.1f} |"
        )
    print()
    print("| surface | its own effective length | full grid finds it | adaptive | adaptive, no assumption |")
    print("|---|---|---|---|---|")
    for name, rows in results.items():
        idx = _surface_index(SURFACES[name])
        label = "below 1K" if idx < 0 else format_tokens(LENGTHS[idx])

        def pct2(key: str, rows: list[dict[str, float]] = rows) -> str:
            return f"{100 * statistics.fmean(r[key] for r in rows):.1f}%"

        print(f"| {name} | {label} | {pct2('full_curve')} | {pct2('mono_curve')} | {pct2('free_curve')} |")
    print()
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
