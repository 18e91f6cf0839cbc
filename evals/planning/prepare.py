"""Preparing a run: validate everything, resolve the grid, read the run directory once, plan and estimate.

Nothing here writes a file or calls a model, so every bad input is refused before anything exists on disk.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evals.config import TASK_OPTIONS, RunConfig
from evals.errors import BudgetExceededError, OutputDirError, PlanError, RunDirConflictError
from evals.grading.judge import check_judge
from evals.planning.cost import CostEstimate, estimate_cost
from evals.planning.grid import Cell, Grid, apply_preset, check_window, make_cells, order_cells, resolve_grid
from evals.planning.identity import default_run_dir, identity_inputs, plan_identity, shard_cells, shard_dir
from evals.store.record import IdentityInputs, ResultRecord
from evals.store.results import RESULTS_FILE, ResultsStore, read_header

if TYPE_CHECKING:
    from rich.console import Console

    from haystacks.corpus import Corpus
    from providers.registry import ModelInfo

__all__ = [
    "RESULTS_ROOT",
    "PreparedRun",
    "budget_bound",
    "check_output_dir",
    "plan_estimate",
    "prepare",
    "print_plan",
]

RESULTS_ROOT = Path("results")

# ------------------------------------------------------------------------------------------- preparing


@dataclass
class PreparedRun:
    """Everything decided before anything is written or called.

    Attributes:
        cfg: The config.
        info: Registry entry of the model under test.
        judge_info: Registry entry of the judge, or None.
        grid: The resolved grid.
        identity: Hash of every input that changes a prompt or a grade (``run_identity`` in the header).
        identity_inputs: What that hash covers (:func:`evals.planning.identity.identity_inputs`).
        corpus: The haystack text (the seeds, or ``--haystack``), cleaned.
        run_dir: The run directory.
        cells: All cells in execution order.
        todo: Cells still to run (not done in ``run_dir``), in execution order.
        done: Cells already done.
        estimate: Cost estimate of ``todo``.
        spent_before: USD already spent by the records in ``run_dir``.
        existing: Whether ``run_dir`` already holds this run (resume).
        supersede: Whether ``--force`` will move a different run aside.
        judge_todo: Graded records without a judge's verdict (``--judge`` added to a finished run).
        order: The request order.
        style: ``chat`` or ``completion``.
    """

    cfg: RunConfig
    info: ModelInfo
    judge_info: ModelInfo | None
    grid: Grid
    identity: str
    identity_inputs: IdentityInputs
    corpus: Corpus
    run_dir: Path
    cells: list[Cell]
    todo: list[Cell]
    done: int
    estimate: CostEstimate
    spent_before: float
    existing: bool
    supersede: bool
    order: str
    style: str
    store: ResultsStore = field(repr=False, default=None)  # type: ignore[assignment]
    judge_todo: list[ResultRecord] = field(default_factory=list)


def plan_estimate(cells: list[Cell], info: ModelInfo, cfg: RunConfig) -> CostEstimate:
    """The cost estimate of sending ``cells`` (in order) as ``cfg`` says: at its concurrency, through the
    batch API with ``--batch`` (then with the worst case too: the batch's vendor may run every request at
    once, so the cache reads the layout plans are expected, not sure; the worst case reads nothing and
    pays every write)."""
    extra_out = info.reasoning_budget if info.reasoning else 0
    in_flight = cfg.concurrency or info.concurrency
    estimate = estimate_cost(cells, info.prices, extra_out, batch=cfg.batch, info=info, concurrency=in_flight)
    if cfg.batch:
        worst = estimate_cost(
            cells, info.prices, extra_out, batch=True, info=info, concurrency=in_flight, sure_reads=False
        )
        estimate = dataclasses.replace(estimate, cost_worst_usd=worst.cost_cached_usd)
    return estimate


def budget_bound(estimate: CostEstimate) -> tuple[float, str]:
    """The figure ``--max-cost`` holds the grid to before it starts, and what it is.

    With explicit cache breakpoints (Anthropic) the cached estimate is an upper bound on the bill
    (:func:`evals.planning.cost.vendor_cache_tokens`: writes at the premium, reads only where they surely come
    within the cache lifetime; above the uncached figure when writes outweigh reads), so it is the bound.
    Automatic caching (OpenAI, Gemini) is not promised, so there the uncached estimate is. The run itself
    stops when its spend reaches the budget either way.
    """
    assert estimate.cost_usd is not None
    if estimate.explicit_cache and estimate.cost_cached_usd is not None:
        if estimate.cost_worst_usd is not None:
            bound = max(estimate.cost_usd, estimate.cost_worst_usd)
            return bound, "batch: no cache read sure, every breakpoint a write"
        return estimate.cost_cached_usd, "with the cache breakpoints it sets, an upper bound"
    return estimate.cost_usd, "no cache assumed"


def check_output_dir(path: Path) -> None:
    """Verify that ``path`` can be created/written, without leaving anything behind.

    Args:
        path: The run directory (may not exist yet).

    Raises:
        OutputDirError: When it, or its nearest existing ancestor, is not a writable directory.
    """
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputDirError(f"output directory {path}: {probe} exists and is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputDirError(f"output directory {path} is not writable ({probe}: permission denied)")
    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".niah-write-test-"):
            pass
    except OSError as e:
        raise OutputDirError(f"output directory {path} is not writable ({probe}: {e.strerror or e})") from e


def _window(info: ModelInfo) -> int | None:
    # The local model is started with a window that covers the longest cell (up to context_window).
    return info.context_window or None


def _discovered(info: ModelInfo, cfg: RunConfig) -> ModelInfo:
    """A compatible server's model named by the id it serves (``vllm:<id>``), asked before the run directory
    is chosen: two served models never share a directory, records or a leaderboard row. A dry run asks
    nothing (the plan then names the entry)."""
    base = cfg.base_url or info.base_url
    if cfg.dry_run or not info.discover or info.model_id or not base:
        return info
    from providers.doors import door_for
    from providers.registry import resolve_api_key

    return door_for(info).discover(info, base, resolve_api_key(info))


def _corpus(cfg: RunConfig) -> Corpus:
    """The haystack text: ``--haystack`` (a document or a folder of them), else the seeds."""
    from haystacks.corpus import load_corpus
    from haystacks.errors import HaystackError

    try:
        return load_corpus(cfg.haystack)
    except HaystackError as e:
        raise PlanError(str(e)) from e


def _check_tasks(cfg: RunConfig, grid: Grid) -> None:
    """Every task can draw its plan with the run's options (custom needles, hops, counts), and every task
    option given is read by a task of the run (never silently dropped), or one line."""
    from haystacks.builder import CellSpec
    from haystacks.errors import HaystackError
    from haystacks.tasks import get_task, task_names

    if cfg.needles and "custom" not in grid.tasks:
        raise PlanError("--needle/--needles-file are for the custom task: add --task custom")
    for name in sorted(set(TASK_OPTIONS) & cfg.model_fields_set):  # needles: refused above without custom
        readers = [t for t in task_names() if name in get_task(t).options]
        if not any(name in get_task(t).options for t in grid.tasks):
            flag = "--" + name.replace("_", "-")
            run = ", ".join(grid.tasks)
            raise PlanError(f"{flag} is read by {', '.join(readers)}; no task of this run ({run}) reads it")
    options = cfg.task_options()
    for task in grid.tasks:
        t = get_task(task)
        for seed in grid.seeds:
            spec = CellSpec(task=task, depth=grid.depths[0], seed=seed, language=grid.language)
            try:
                t.plan(CellSpec(**{**spec.__dict__, **t.cell_params(options)}))
            except HaystackError as e:
                raise PlanError(f"task {task}: {e}") from e


def prepare(cfg: RunConfig, results_root: Path = RESULTS_ROOT) -> PreparedRun:
    """Validate everything and plan the run; writes nothing, calls no model.

    Args:
        cfg: The config.
        results_root: Parent of default run directories.

    Returns:
        The :class:`PreparedRun`.

    Raises:
        EvalError, providers.errors.ConfigError: Bad input, with one-line messages.
    """
    from providers.doors import door_for
    from providers.registry import apply_overrides, check_usable, resolve_api_key, resolve_model

    # Retired models are refused here, before any run directory exists or any request is made.
    info = apply_overrides(
        resolve_model(cfg.model),
        context_window=cfg.context_window,
        price_input=cfg.price_input,
        price_output=cfg.price_output,
    )
    check_usable(info)
    info = _discovered(info, cfg)
    judge_info = None
    if cfg.judge:
        judge_info = resolve_model(cfg.judge)
        check_usable(judge_info)
        check_judge(judge_info, info)
    # Aliases name the same run: "gemma3" and "gemma-3-270m" resume the same directory.
    canonical = {"model": info.alias, "judge": judge_info.alias if judge_info is not None else None}
    cfg = cfg.model_copy(update=canonical)
    cfg = apply_preset(cfg, _window(info))
    grid = resolve_grid(cfg)
    style = info.mode if cfg.style == "auto" else cfg.style
    cells = make_cells(info.alias, grid, cfg.task_options(), cfg.max_tokens, style)
    longest_answer = max(c.max_tokens for c in cells)
    check_window(grid, _window(info), longest_answer, info.alias, cfg.allow_beyond_window)
    corpus = _corpus(cfg)
    _check_tasks(cfg, grid)
    if not cfg.dry_run:
        # MissingKeyError names the variable; a door's ConfigError names a missing endpoint/region/project.
        resolve_api_key(info, base_url=(cfg.base_url or "").split(",")[0].strip() or None)
        if judge_info is not None:
            resolve_api_key(judge_info)
    if cfg.base_url is None and door_for(info).needs_base_url and not info.base_url:
        raise PlanError(f"model {info.alias!r} is an OpenAI-compatible server: give its --base-url")
    inputs = identity_inputs(cfg, grid, model_id=info.model_id, corpus_sha256=corpus.sha256)
    identity = plan_identity(inputs)
    run_dir = (
        shard_dir(Path(cfg.out), cfg.shard_of())
        if cfg.out is not None
        else default_run_dir(cfg, identity, results_root)
    )
    check_output_dir(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise OutputDirError(f"output directory {run_dir} exists and is not a directory")

    header = read_header(run_dir)
    has_results = (run_dir / RESULTS_FILE).exists()
    existing = supersede = False
    if header is not None and header.run_identity == identity:
        existing = True
    elif header is not None or has_results:
        if not cfg.force:
            what = "a different run" if header is not None else "results without a header"
            raise RunDirConflictError(
                f"{run_dir} holds {what} (other model, haystack, tasks, grid or settings); use another "
                "--out, or --force to move the old results aside and start over"
            )
        supersede = True

    store = ResultsStore(run_dir)
    if existing:
        store.load()
    done_ids = store.done_ids()
    cells = order_cells(cells, cfg.order, rules=door_for(info).capabilities(info).cache)
    if cfg.shard_of() is not None:
        index, count = cfg.shard_of()  # type: ignore[misc]
        cells = shard_cells(cells, index, count)
    todo = [c for c in cells if c.cell_id not in done_ids]
    # --judge added to a finished run: its graded cells get a verdict too (a new line per cell, appended)
    judge_todo = (
        [r for r in store.latest.values() if r.status == "ok" and r.judge is None and r.answer_key]
        if judge_info is not None and existing
        else []
    )
    estimate = plan_estimate(todo, info, cfg)
    spent_before = store.spent if existing else 0.0
    if cfg.max_cost is not None and todo:
        if estimate.cost_usd is None:
            raise BudgetExceededError(
                f"--max-cost: {info.alias} has no prices in the registry, so the spend cannot be bounded; "
                "give them with --price-input and --price-output (USD per 1M tokens)"
            )
        # Adaptive runs sample a part of the grid: the budget stops them, the full grid's estimate does not.
        bound, how = budget_bound(estimate)
        if spent_before + bound > cfg.max_cost and not cfg.adaptive:
            cached = estimate.cost_cached_usd or 0.0
            raise BudgetExceededError(
                f"estimated cost ${bound:.4f} ({how}; without caching ${estimate.cost_usd:.4f}, "
                f"with caching ${cached:.4f})"
                + (f" plus ${spent_before:.4f} already spent" if spent_before else "")
                + f" exceeds --max-cost ${cfg.max_cost:.4f}; raise the budget or shrink the grid"
            )
    return PreparedRun(
        cfg=cfg,
        info=info,
        judge_info=judge_info,
        grid=grid,
        identity=identity,
        identity_inputs=inputs,
        corpus=corpus,
        run_dir=run_dir,
        cells=cells,
        todo=todo,
        done=len(cells) - len(todo),
        estimate=estimate,
        spent_before=spent_before,
        existing=existing,
        supersede=supersede,
        judge_todo=judge_todo,
        order=cfg.order,
        style=style,
        store=store,
    )


# ------------------------------------------------------------------------------------------- dry run


def _usd(x: float | None) -> str:
    if x is None:
        return "n/a (no prices)"
    return f"${x:,.4f}" if x < 100 else f"${x:,.2f}"


def print_plan(prep: PreparedRun, console: Console) -> None:
    """Print the plan of a run (the ``--dry-run`` output).

    Args:
        prep: The prepared run.
        console: Where to print.
    """
    from rich.table import Table

    info, est, grid = prep.info, prep.estimate, prep.grid
    t = Table(
        title=f"Plan: {info.alias} ({info.provider}, {info.model_id or 'server model'})", show_header=False
    )
    t.add_column("what", style="bold")
    t.add_column("value")
    t.add_row("run directory", str(prep.run_dir) + ("  (resume)" if prep.existing else ""))
    t.add_row("tasks", ", ".join(grid.tasks) + f"  ({grid.language})")
    t.add_row("lengths", ", ".join(map(str, grid.lengths)) + "  (prompt tokens)")
    t.add_row("depths", ", ".join(f"{d:g}" for d in grid.depths) + "  (%)")
    t.add_row("seeds", ", ".join(map(str, grid.seeds)))
    shard = f"  (shard {prep.cfg.shard}, balanced by prompt tokens)" if prep.cfg.shard else ""
    t.add_row("cells", f"{len(prep.cells)} total, {prep.done} done, {len(prep.todo)} to run{shard}")
    if info.tokenizer_exact:
        exact = "exact"
    elif info.count_api and prep.cfg.count_api:
        exact = "proxy for layout; lengths sized through the provider's token-count API at run time"
    else:
        exact = "approximate (proxy tokenizer; recorded tokens_exact=false)"
    t.add_row("tokenizer", f"{info.tokenizer}  ({exact})")
    t.add_row("window", f"{info.context_window or 'discovered at start'} tokens")
    t.add_row("prompt tokens", f"{est.prompt_tokens:,}")
    share = est.cached_tokens / est.prompt_tokens if est.prompt_tokens else 0.0
    if est.cache_rules is not None:
        t.add_row(
            "prompt cache (billed)",
            f"{est.cached_tokens:,} read ({share:.0%}), {est.cache_write_tokens:,} written"
            f" ({est.cache_rules} rules, order: {prep.order})",
        )
        if est.explicit_cache:
            t.add_row("cache breakpoints", _breakpoint_choice(prep))
    else:
        t.add_row("shared with previous prompt", f"{est.cached_tokens:,} ({share:.0%}, order: {prep.order})")
    t.add_row("answer tokens (max)", f"{est.max_output_tokens:,}")
    price = info.prices
    if price is not None:
        as_of = f" as of {price.as_of}" if getattr(price, "as_of", None) else ""
        cached = f", cached {price.cached_input}" if price.cached_input is not None else ""
        t.add_row("prices / 1M tokens", f"input {price.input}, output {price.output}{cached}{as_of}")
    if prep.cfg.batch:
        t.add_row("batch", "yes: every cell through the vendor's batch API, at half the listed prices")
    rate = ", batch prices" if prep.cfg.batch else ""
    t.add_row("estimated cost", _usd(est.cost_usd) + f"  (no caching, every answer at its limit{rate})")
    t.add_row(
        "estimated cost, cached",
        _usd(est.cost_cached_usd)
        + (
            "  (the vendor's cache billing, expected: a batch's cache reads are best effort, batch prices)"
            if est.cache_rules is not None and prep.cfg.batch
            else f"  (the vendor's cache billing, an upper bound{rate})"
            if est.cache_rules is not None
            else f"  (shared prefixes at the cached price{rate})"
        ),
    )
    if est.cost_worst_usd is not None:
        t.add_row(
            "estimated cost, worst case",
            _usd(est.cost_worst_usd)
            + "  (the batch's vendor reads no cache"
            + (", every breakpoint a write)" if est.explicit_cache else ")"),
        )
    if prep.cfg.adaptive:
        for name, value in _adaptive_rows(prep):
            t.add_row(name, value)
    if prep.spent_before:
        t.add_row("already spent", _usd(prep.spent_before))
    if prep.cfg.max_cost is not None:
        t.add_row("budget (--max-cost)", _usd(prep.cfg.max_cost))
    if prep.judge_info is not None:
        t.add_row("judge", f"{prep.judge_info.alias} ({prep.judge_info.model_id}); not in the estimate")
    console.print(t)


def _breakpoint_choice(prep: PreparedRun) -> str:
    """The dry run's line on the explicit cache layout (:func:`evals.planning.cost.cache_layout`)."""
    est = prep.estimate
    if not est.breakpoints:
        return "caching cannot pay here, no breakpoints (no prefix a later cell reads reaches the minimum)"
    conc = prep.cfg.concurrency or prep.info.concurrency
    life = "1-hour entries (written at 2x input)" if est.long_ttl else "5-minute entries"
    return (
        f"{est.breakpoints} of {est.cells} cells write one at their needle (needle position ascending per "
        f"task, language and seed); each reads the prefix the cell {conc} place(s) before it wrote, with up "
        f"to 2 earlier ones as fallbacks; none where nobody reads it; {life}"
    )


def _adaptive_rows(prep: PreparedRun) -> list[tuple[str, str]]:
    """The dry run's expected and worst-case cost of ``--adaptive`` (:mod:`evals.planning.adaptive_cost`)."""
    from evals.planning.adaptive_cost import adaptive_cost

    cfg, info = prep.cfg, prep.info
    todo = {c.cell_id for c in prep.todo}
    ac = adaptive_cost(
        [c for c in prep.cells if c.cell_id in todo],
        info,
        threshold=cfg.threshold,
        confidence=cfg.confidence,
        assume_monotone=not cfg.adaptive_strict,
        batch=cfg.batch,
        concurrency=cfg.concurrency or info.concurrency,
        order=prep.order,
        extra_output_tokens=info.reasoning_budget if info.reasoning else 0,
    )
    per = "batch" if cfg.batch else "round"
    return [
        (
            "adaptive, expected",
            f"{_usd(ac.expected_usd)}  ({ac.expected_cells:.0f} of {ac.candidates} cells in "
            f"{ac.expected_rounds:.1f} {per}es; mean over {ac.scenarios} sharp cliffs, cache within rounds)"
            if cfg.batch
            else f"{_usd(ac.expected_usd)}  ({ac.expected_cells:.0f} of {ac.candidates} cells in "
            f"{ac.expected_rounds:.1f} rounds; mean over {ac.scenarios} sharp cliffs)",
        ),
        ("adaptive, worst case", f"{_usd(ac.worst_usd)}  (every candidate cell, no cache read)"),
    ]
