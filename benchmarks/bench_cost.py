"""Benchmark (by hand, no network): what a 35 x 35 grid from 1K to 1M tokens costs, four ways.

For a 1M-window model at its registry list prices (``providers/models.toml`` through
``providers.registry``) it estimates, cell by cell, the dollars of

* ``naive``: every prompt token at the full input price;
* ``cache``: the cells in the runner's prefix-sharing order (``evals.planning.grid.order_cells(...,
  "shared")``), priced as the vendor bills its prompt cache by ``evals.planning.cost.vendor_cache_tokens``
  (the rule the dry run and ``--max-cost`` use; an upper bound): Anthropic's explicit breakpoints on the
  sizer's character ladder, each rung prefix written once at the write premium and read after; OpenAI's
  automatic caching above 1024 tokens in 128-token steps; Gemini's implicit caching above 4096 tokens;
* ``batch``: every token at half price (the three vendors' batch APIs);
* ``batch+cache``: both discounts (Anthropic documents that they stack; in a batch the vendor picks the
  order, so cache hits are likelier with the shared order but not guaranteed: the expected figure the dry
  run prints for ``--batch``; Anthropic's breakpoints then ask for 1-hour entries, written at 2x input);
* ``adapt+b+c``: ``--adaptive --batch``, the expected cost the dry run prints
  (:func:`evals.planning.adaptive_cost.adaptive_cost`: the sampler simulated on a sharp cliff at each boundary
  of the grid, each round one batch priced with the door's cache rules at the entry's concurrency; mean over
  the cliffs), and ``worst``, its worst case (every cell, no cache read);

long-context tiers (``*_long`` prices above ``long_context_threshold``) applied per request, every answer at
``--max-tokens``. It prints one row per model with the ratios to naive, all measured in this one run, the
cached-input share, the written share, and (``rough``) the old figure that read every shared prefix at the
cached price, for comparison; it checks its totals against ``evals.planning.cost.estimate_cost``.

Usage::

    python benchmarks/bench_cost.py [--models gpt-6.1-sol,gemini-4-argon,claude-sonnet-5-5] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.planning.adaptive_cost import adaptive_cost
from evals.planning.cost import estimate_cost, vendor_cache_tokens
from evals.planning.grid import Cell, Grid, make_cells, order_cells
from haystacks.grids import depth_grid, length_grid
from providers.doors import door_for
from providers.entry import cost_usd
from providers.registry import ModelInfo, Prices, list_models, resolve_model

PREFERRED = ("gpt-6.1-sol", "gemini-4-argon", "claude-sonnet-5-5")
#: Used only when no 1M-window entry of the registry has prices.
EXAMPLE = Prices(input=2.0, output=8.0, cached_input=0.5, source="fixed example (not a vendor's price)")


@dataclass
class Costs:
    naive: float = 0.0
    cache: float = 0.0
    batch: float = 0.0
    both: float = 0.0
    cached_tokens: int = 0
    written_tokens: int = 0


def grid_cells(model: str, max_len: int, n: int, max_tokens: int, rules: Any = None) -> list[Cell]:
    """The n x n grid (log lengths 1K..max_len, linear depths 0..100) in the shared order (for ``rules``)."""
    grid = Grid(
        tasks=("single",),
        lengths=tuple(length_grid(1000, max_len, n, "log")),
        depths=tuple(depth_grid(n, "linear")),
        seeds=(0,),
        language="zh",
    )
    return order_cells(make_cells(model, grid, max_tokens=max_tokens), "shared", rules=rules)


def cell_costs(info: ModelInfo, prices: Prices, cells: list[Cell]) -> Costs:
    """Dollars of the four ways for ``cells`` in their order (sequential: concurrency 1)."""
    caps = door_for(info).capabilities(info)
    per_cell = vendor_cache_tokens(cells, caps.cache) or [(0, 0)] * len(cells)
    discount = caps.batch.discount if caps.batch is not None else 1.0
    out = Costs()
    for c, (read, write) in zip(cells, per_cell, strict=True):
        naive = cost_usd(prices, c.length, 0, 0, c.max_tokens) or 0.0
        cached = cost_usd(prices, c.length, read, write, c.max_tokens) or 0.0
        out.naive += naive
        out.cache += cached
        out.batch += naive * discount
        out.both += cached * discount
        out.cached_tokens += read
        out.written_tokens += write
    return out


def pick_models(names: list[str] | None) -> list[ModelInfo]:
    if names:
        return [resolve_model(n) for n in names]
    big = {m.alias: m for m in list_models() if m.context_window >= 1_000_000 and m.prices is not None}
    chosen = [big[a] for a in PREFERRED if a in big]
    return chosen or list(big.values())[:3]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="comma list of registry names (default: 1M-window entries)")
    ap.add_argument("--n", type=int, default=35, help="lengths and depths per axis")
    ap.add_argument("--max-tokens", type=int, default=64, help="answer tokens per cell (billed at the limit)")
    args = ap.parse_args(argv)
    models = pick_models([m for m in args.models.split(",") if m] or None)
    if not models:
        models = [resolve_model("gpt-4.1")]
    t0 = time.perf_counter()
    header = (
        f"{'model':<20} {'max len':>9} {'naive $':>10} {'cache':>7} {'batch':>7} {'both':>7}"
        f" {'read tok':>9} {'written':>8} {'rough':>7} {'adapt+b+c':>9} {'worst':>7}"
    )
    print(
        f"grid: {args.n} x {args.n}, lengths 1K..1M log-spaced, depths 0..100 linear, "
        f"{args.max_tokens} answer tokens"
    )
    print("ratios are to naive; read/written = share of prompt tokens; rough = every shared prefix read")
    print(header)
    print("-" * len(header))
    notes = []
    for info in models:
        prices = info.prices or EXAMPLE
        if info.prices is None:
            notes.append(f"{info.alias}: no registry prices, used {EXAMPLE.source}")
        max_len = min(1_000_000, info.context_window - args.max_tokens)
        caps = door_for(info).capabilities(info)
        cells = grid_cells(info.alias, max_len, args.n, args.max_tokens, caps.cache)
        adaptive = adaptive_cost(
            cells, info.model_copy(update={"prices": prices}), batch=True, concurrency=info.concurrency
        )
        c = cell_costs(info, prices, cells)
        plan = estimate_cost(cells, prices, info=info)
        rough = estimate_cost(cells, prices)
        assert plan.cost_usd is not None and abs(plan.cost_usd - c.naive) < 1e-6, (plan.cost_usd, c.naive)
        assert plan.cost_cached_usd is not None and abs(plan.cost_cached_usd - c.cache) < 1e-6
        # batch + cache as the dry run prices it (a batch's breakpoints ask for 1-hour entries)
        c.both = estimate_cost(cells, prices, info=info, batch=True).cost_cached_usd or 0.0
        total_in = sum(x.length for x in cells)
        print(
            f"{info.alias:<20} {max_len:>9,} {c.naive:>10,.2f} {c.cache / c.naive:>7.3f}"
            f" {c.batch / c.naive:>7.3f} {c.both / c.naive:>7.3f} {c.cached_tokens / total_in:>9.1%}"
            f" {c.written_tokens / total_in:>8.1%} {(rough.cost_cached_usd or 0) / c.naive:>7.3f}"
            f" {(adaptive.expected_usd or 0) / c.naive:>9.3f} {(adaptive.worst_usd or 0) / c.naive:>7.3f}"
        )
        notes.append(
            f"{info.alias}: --adaptive --batch expected {adaptive.expected_cells:.0f} of "
            f"{adaptive.candidates} cells in {adaptive.expected_rounds:.1f} batches "
            f"(mean over {adaptive.scenarios} cliffs), "
            f"concurrency {info.concurrency}"
        )
        p = prices
        tier = (
            f", >{p.long_context_threshold:,}: input {p.input_long} cached {p.cached_input_long}"
            if p.long_context_threshold
            else ""
        )
        notes.append(
            f"{info.alias}: {len(cells)} cells, {total_in:,} prompt tokens; $/1M input {p.input}, cached "
            f"{p.cached_input}, write {p.cache_write}, output {p.output}{tier} (as of {p.as_of}, {p.source})"
        )
    print()
    for line in notes:
        print(line)
    print(f"computed in {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
