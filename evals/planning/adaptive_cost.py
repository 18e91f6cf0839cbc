"""What an adaptive run (``--adaptive``, with or without ``--batch``) is expected to cost, and at worst.

The cells an adaptive run sends depend on the answers, so the plan simulates them: one
:class:`evals.planning.sampler.AdaptiveSampler` per (task, language), as
:class:`evals.execution.adaptive.AdaptiveRun` sets them up, answered by a *sharp cliff* (every cell right up
to some length, wrong beyond) at each of the grid's boundaries in turn (all wrong, the cliff after the first
length, ..., all right), each equally likely. Each simulated round is priced as the run would send it (one
batch per round with ``--batch``, the door's cache rules within the round,
:func:`evals.planning.cost.estimate_cost`); the expected cost is the mean over the cliffs. The worst case is
every candidate cell sent with no cache read and every breakpoint a write (the sampler may end up asking for
the whole grid). Answers that hover near the threshold take more rounds than a cliff (``docs/adaptive.md``:
0.3-0.4 of the calls instead of 0.17), which the worst case covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evals.planning.cost import cache_layout, estimate_cost, position_band
from evals.planning.grid import Cell, order_cells
from evals.planning.sampler import AdaptiveSampler

if TYPE_CHECKING:
    from providers.entry import ModelInfo

__all__ = ["AdaptiveCost", "adaptive_cost"]


@dataclass(frozen=True)
class AdaptiveCost:
    """The expected and worst-case cost of an adaptive run.

    Attributes:
        expected_usd: Mean over the simulated cliffs (None: no prices).
        worst_usd: Every candidate cell, no cache read (None: no prices).
        expected_cells: Mean cells sent over the cliffs.
        expected_rounds: Mean rounds (batches, with ``--batch``) over the cliffs.
        candidates: Candidate cells.
        scenarios: Cliffs simulated.
    """

    expected_usd: float | None
    worst_usd: float | None
    expected_cells: float
    expected_rounds: float
    candidates: int
    scenarios: int


def adaptive_cost(
    cells: Sequence[Cell],
    info: ModelInfo,
    *,
    threshold: float = 0.85,
    confidence: float = 0.95,
    assume_monotone: bool = True,
    batch: bool = False,
    concurrency: int = 1,
    order: str = "shared",
    extra_output_tokens: int = 0,
) -> AdaptiveCost:
    """Simulate an adaptive run over ``cells`` (the candidate grid) and price it (module docstring).

    Args:
        cells: The candidate cells (grid cells and closed-book controls).
        info: The model's entry (prices, door).
        threshold: ``--threshold``.
        confidence: ``--confidence``.
        assume_monotone: Not ``--adaptive-strict``.
        batch: ``--batch``: each round one batch at the door's discount.
        concurrency: Cells in flight at once (the cache layout within a round).
        order: The request order.
        extra_output_tokens: Hidden reasoning tokens per cell.

    Returns:
        The :class:`AdaptiveCost`.
    """
    from providers.doors import door_for
    from providers.entry import cost_usd

    caps = door_for(info).capabilities(info)
    groups: dict[tuple[str, str], dict[tuple[int, float, int], Cell]] = {}
    closed = [c for c in cells if c.kind != "cell"]
    for c in cells:
        if c.kind == "cell":
            groups.setdefault((c.task, c.language), {})[(c.length, float(c.depth), c.seed)] = c
    lengths = sorted({c.length for c in cells if c.kind == "cell"})
    total: float | None = 0.0
    n_sent = n_rounds = 0
    scenarios = len(lengths) + 1
    for cliff in range(scenarios):
        right = set(lengths[:cliff])
        samplers = {
            key: AdaptiveSampler(
                sorted({p[0] for p in g}),
                sorted({p[1] for p in g}),
                sorted({p[2] for p in g}),
                threshold=threshold,
                confidence=confidence,
                assume_monotone=assume_monotone,
                salt=f"{key[0]}:{key[1]}",
            )
            for key, g in groups.items()
        }
        observed: dict[tuple[str, str], dict[tuple[int, float, int], float | None]] = {k: {} for k in groups}
        first = True
        while True:
            chosen: list[Cell] = list(closed) if first else []
            for key, sampler in samplers.items():
                batch_points = sampler.next_batch(observed[key])
                for p in batch_points:
                    observed[key][p] = 1.0 if p[0] in right else 0.0
                chosen.extend(groups[key][p] for p in batch_points)
            first = False
            if not any(c.kind == "cell" for c in chosen):
                break
            ordered = order_cells(chosen, order, rules=caps.cache)  # type: ignore[arg-type]
            est = estimate_cost(
                ordered,
                info.prices,
                extra_output_tokens,
                batch=batch,
                info=info,
                concurrency=concurrency,
            )
            cost = est.cost_cached_usd if est.cost_cached_usd is not None else est.cost_usd
            total = None if cost is None or total is None else total + cost
            n_sent += len(chosen)
            n_rounds += 1
    discount = caps.batch.discount if batch and caps.batch is not None else 1.0
    worst: float | None = 0.0
    long = batch and caps.cache.long_ttl_s is not None
    layout = cache_layout(list(cells), caps.cache, long=long)
    explicit = caps.cache.explicit and any(s.write for s in layout)
    for c in cells:
        write = position_band(c)[1] if explicit and c.kind == "cell" else 0
        one: Any = cost_usd(
            info.prices,
            c.length,
            0,
            write,
            c.max_tokens + extra_output_tokens,
            discount=discount,
            n_write_1h=write if long else 0,
            write_1h_factor=caps.cache.long_write_factor,
        )
        worst = None if one is None or worst is None else worst + one
    return AdaptiveCost(
        expected_usd=None if total is None else total / scenarios,
        worst_usd=worst,
        expected_cells=n_sent / scenarios,
        expected_rounds=n_rounds / scenarios,
        candidates=len(cells),
        scenarios=scenarios,
    )
