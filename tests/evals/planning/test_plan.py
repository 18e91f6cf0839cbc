"""Planning: grids from lists/ranges/spacings, shared-prefix ordering, cost estimates, window checks."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from evals.config import RunConfig, build_config
from evals.errors import PlanError
from evals.planning.cost import estimate_cost
from evals.planning.grid import (
    Cell,
    Grid,
    check_window,
    make_cells,
    order_cells,
    resolve_grid,
    shared_prefix_tokens,
)
from evals.planning.identity import default_run_dir, identity_inputs, plan_identity
from providers.doors import call_cost
from providers.entry import ModelInfo, Prices

PRICES = Prices(input=2.0, output=10.0, cached_input=0.5)


def grid(lengths=(1000, 2000), depths=(0.0, 50.0, 100.0), seeds=(0,), tasks=("single",)) -> Grid:
    return Grid(tuple(tasks), tuple(lengths), tuple(depths), tuple(seeds), "zh")


def test_resolve_default_grid() -> None:
    g = resolve_grid(build_config(None, {}))
    assert g.lengths == (1000, 2000, 4000)
    assert g.depths == (0.0, 25.0, 50.0, 75.0, 100.0)
    assert g.seeds == (0,)
    assert g.n_cells == 15


def test_resolve_lists_sorted_distinct() -> None:
    g = resolve_grid(
        build_config(None, {"lengths": [4000, 1000, 1000], "depths": [50, 0, 50.0], "repeats": 2})
    )
    assert g.lengths == (1000, 4000)
    assert g.depths == (0.0, 50.0)
    assert g.seeds == (0, 1)


def test_resolve_string_specs() -> None:
    g = resolve_grid(build_config(None, {"lengths": "1000,2000,3000", "depths": "0-100/25"}))
    assert g.lengths == (1000, 2000, 3000)
    assert g.depths == (0.0, 25.0, 50.0, 75.0, 100.0)


def test_resolve_range_and_spacing() -> None:
    lin = resolve_grid(build_config(None, {"min_length": 1000, "max_length": 5000, "n_lengths": 5}))
    assert lin.lengths == (1000, 2000, 3000, 4000, 5000)
    log = resolve_grid(
        build_config(None, {"min_length": 1000, "max_length": 16000, "n_lengths": 5, "length_spacing": "log"})
    )
    assert log.lengths[0] == 1000 and log.lengths[-1] == 16000
    assert log.lengths[1] < 3000  # geometric, not linear
    sig = resolve_grid(build_config(None, {"n_depths": 5, "depth_spacing": "sigmoid"}))
    assert sig.depths[0] == 0.0 and sig.depths[-1] == 100.0
    assert sig.depths[1] < 25.0  # sigmoid spacing crowds the ends


def test_range_points_become_whole_lengths_but_written_lengths_must_be_whole() -> None:
    g = resolve_grid(build_config(None, {"lengths": "32k:1M:8,5000"}))
    assert g.lengths == (5000, 32000, 170286, 308571, 446857, 585143, 723429, 861714, 1000000)
    with pytest.raises(PlanError, match="whole number"):
        resolve_grid(build_config(None, {"lengths": "1000.5,2000"}))


def test_resolve_bad_specs() -> None:
    with pytest.raises(PlanError):
        resolve_grid(build_config(None, {"lengths": "abc"}))
    with pytest.raises(PlanError, match=r"outside 0\.\.100"):
        resolve_grid(build_config(None, {"depths": "0,150"}))
    with pytest.raises(PlanError, match="both"):
        resolve_grid(build_config(None, {"min_length": 1000}))


def test_make_cells_counts_and_no_needle_axis() -> None:
    g = grid(tasks=("single", "no_needle"), seeds=(0, 1))
    cells = make_cells("m", g)
    assert len(cells) == g.n_cells == 2 * 2 * 3 + 2 * 2
    nn = [c for c in cells if c.task == "no_needle"]
    assert {c.depth for c in nn} == {0.0}
    assert len({c.cell_id for c in cells}) == len(cells)


def test_shared_order_keeps_prefixes() -> None:
    cells = make_cells(
        "m", grid(lengths=(1000, 2000, 3000), depths=(0.0, 25.0, 50.0, 75.0, 100.0), seeds=(0, 1))
    )
    ordered = order_cells(cells, "shared")
    assert sorted(c.cell_id for c in ordered) == sorted(c.cell_id for c in cells)
    # seeds are not interleaved, and needle positions descend inside a seed
    seeds = [c.seed for c in ordered]
    assert seeds == sorted(seeds)
    for s in (0, 1):
        pos = [c.length * c.depth / 100 for c in ordered if c.seed == s]
        assert pos == sorted(pos, reverse=True)
    shared = sum(shared_prefix_tokens(a, b) for a, b in zip([None, *ordered], ordered, strict=False))
    naive = order_cells(cells, "depth_major")
    shared_naive = sum(shared_prefix_tokens(a, b) for a, b in zip([None, *naive], naive, strict=False))
    classic = order_cells(cells, "grid")
    shared_classic = sum(shared_prefix_tokens(a, b) for a, b in zip([None, *classic], classic, strict=False))
    assert shared > shared_naive and shared > shared_classic


def total_shared(order: list[Cell]) -> float:
    return sum(shared_prefix_tokens(a, b) for a, b in zip([None, *order], order, strict=False))


def test_shared_order_is_optimal_for_one_cache_slot() -> None:
    cells = make_cells("m", grid(lengths=(1000, 3000), depths=(0.0, 50.0, 100.0)))
    best = max(total_shared(list(p)) for p in itertools.permutations(cells))
    assert total_shared(order_cells(cells, "shared")) == best


def test_shared_prefix_rules() -> None:
    a = Cell("m", "single", "zh", 2000, 50.0, 0)
    b = Cell("m", "single", "zh", 1000, 100.0, 0)
    assert shared_prefix_tokens(a, b) == 1000
    assert shared_prefix_tokens(None, b) == 0
    assert shared_prefix_tokens(Cell("m", "single", "zh", 2000, 50.0, 1), b) == 0  # other seed
    assert shared_prefix_tokens(Cell("m", "multi", "zh", 2000, 50.0, 0), b) == 0  # other task
    d0 = Cell("m", "single", "zh", 1000, 0.0, 0)
    assert shared_prefix_tokens(Cell("m", "single", "zh", 4000, 0.0, 0), d0) == 1000  # needle first in both
    nn = Cell("m", "no_needle", "zh", 1000, 0.0, 0)
    assert shared_prefix_tokens(Cell("m", "no_needle", "zh", 2000, 0.0, 0), nn) == 1000


def test_cost_estimate_hand_computed() -> None:
    # order: (2000, 50%) then (1000, 100%): shared min(1000, 1000) = 1000
    cells = [
        Cell("m", "single", "zh", 2000, 50.0, 0, max_tokens=10),
        Cell("m", "single", "zh", 1000, 100.0, 0, max_tokens=10),
    ]
    est = estimate_cost(cells, PRICES)
    assert est.cells == 2
    assert est.prompt_tokens == 3000
    assert est.cached_tokens == 1000
    assert est.max_output_tokens == 20
    assert est.cost_usd == pytest.approx((3000 * 2.0 + 20 * 10.0) / 1e6)
    assert est.cost_cached_usd == pytest.approx((2000 * 2.0 + 1000 * 0.5 + 20 * 10.0) / 1e6)


def test_cost_estimate_cache_write_and_long_prices() -> None:
    prices = Prices(
        input=3.0,
        output=15.0,
        cached_input=0.3,
        cache_write=3.75,
        long_context_threshold=1500,
        input_long=6.0,
        output_long=30.0,
        cached_input_long=0.6,
        cache_write_long=None,
    )
    cells = [
        Cell("m", "single", "zh", 2000, 50.0, 0, max_tokens=0),
        Cell("m", "single", "zh", 1000, 100.0, 0, max_tokens=0),
    ]
    est = estimate_cost(cells, prices)
    # cell 1 is above the threshold: long prices; cell 2 below
    assert est.cost_usd == pytest.approx((2000 * 6.0 + 1000 * 3.0) / 1e6)
    # with caching: cell 1 writes 2000 (cache_write has no long variant -> 3.75); cell 2 reads 1000 at 0.3
    assert est.cost_cached_usd == pytest.approx((2000 * 3.75 + 1000 * 0.3) / 1e6)


def test_cost_unpriced_and_free() -> None:
    cells = [Cell("m", "single", "zh", 1000, 0.0, 0, max_tokens=10)]
    none = estimate_cost(cells, None)
    assert none.cost_usd is None and none.cost_cached_usd is None and none.prompt_tokens == 1000
    free = Prices(input=0.0, output=0.0, cached_input=0.0)
    assert estimate_cost(cells, free).cost_usd == 0.0


def test_call_cost_prices_with_the_door_rules() -> None:
    usage = SimpleNamespace(
        input_tokens=3000, output_tokens=20, cached_input_tokens=1000, cache_write_tokens=None
    )
    info = ModelInfo(
        alias="m", provider="openai", model_id="m", context_window=10**5, tokenizer="x", prices=PRICES
    )
    full = (2000 * 2.0 + 1000 * 0.5 + 20 * 10.0) / 1e6
    assert call_cost(usage, info) == pytest.approx(full)
    assert call_cost(usage, info, batch=True) == pytest.approx(full * 0.5)  # the door's batch discount
    assert call_cost(usage, info.model_copy(update={"prices": None})) is None
    assert call_cost(SimpleNamespace(input_tokens=None, output_tokens=None), info) is None


def test_check_window() -> None:
    g = grid(lengths=(1000, 8192))
    check_window(g, 32768, 32, "m", False)
    with pytest.raises(PlanError, match="exceeds m's context window of 8192"):
        check_window(g, 8192, 32, "m", False)
    check_window(g, 8192, 32, "m", True)  # probing beyond is allowed when asked
    check_window(g, None, 32, "m", False)


def _ident(cfg: RunConfig, corpus: str = "c0", model_id: str | None = "gpt-4o") -> str:
    return plan_identity(identity_inputs(cfg, resolve_grid(cfg), model_id=model_id, corpus_sha256=corpus))


def test_identity_and_run_dir() -> None:
    cfg = build_config(None, {"model": "gpt-4o"})
    ident = _ident(cfg)
    assert ident == _ident(build_config(None, {"model": "gpt-4o", "concurrency": 4}))  # execution only
    assert ident != _ident(build_config(None, {"model": "gpt-4o", "lengths": [1000]}))  # grid
    assert ident != _ident(cfg, corpus="c1")  # another haystack
    assert ident != _ident(cfg, model_id="gpt-4o-2024-08-06")  # the name repointed to another id
    assert ident != _ident(build_config(None, {"model": "gpt-4o", "tasks": "multi"}))
    multi = build_config(None, {"model": "gpt-4o", "tasks": "multi"})
    assert _ident(multi) != _ident(build_config(None, {"model": "gpt-4o", "tasks": "multi", "n_needles": 5}))
    # an option no chosen task reads does not split runs
    assert ident == _ident(build_config(None, {"model": "gpt-4o", "n_needles": 5}))
    d = default_run_dir(cfg, ident)
    assert d.name == f"gpt-4o-single-{ident[:8]}"


def test_preset_names_the_config_accepts_are_the_presets_there_are() -> None:
    """The config's ``--preset`` choices (a Literal, for the parser) and :data:`PRESETS` (what a preset sets,
    a layer above) name the same presets."""
    import typing

    from evals.config import RunConfig
    from evals.planning.grid import PRESETS

    annotation = RunConfig.model_fields["preset"].annotation
    choices = {a for arg in typing.get_args(annotation) for a in typing.get_args(arg)}
    assert choices == set(PRESETS)


def test_prepare_refuses_an_option_no_task_reads_in_process(tmp_path: Path) -> None:
    """In-process twin of the CLI test (mutation tools see only in-process calls): the exact line, and the
    same options accepted once a task that reads them is in the run."""
    from evals.planning import prepare

    def cfg(**flags: Any) -> Any:
        return build_config(None, {"model": "gemma-3-270m", "dry_run": True, "out": tmp_path / "r", **flags})

    with pytest.raises(PlanError) as e:
        prepare(cfg(tasks="no_needle", n_distractors=2))
    assert str(e.value) == (
        "--n-distractors is read by distractor, associative, chain, topical; no task of this run (no_needle) "
        "reads it"
    )
    with pytest.raises(PlanError) as e:
        prepare(cfg(tasks="single,no_needle", n_needles=3, hops=2))
    assert str(e.value) == "--hops is read by chain; no task of this run (single, no_needle) reads it"
    assert prepare(cfg(tasks="no_needle,distractor", n_distractors=2)).grid.tasks == (
        "no_needle",
        "distractor",
    )
    with pytest.raises(PlanError) as e:
        prepare(cfg(tasks="single", needles=[("a", "b", "c")]))
    assert str(e.value) == "--needle/--needles-file are for the custom task: add --task custom"
