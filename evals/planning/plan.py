"""Planning a run: resolve the grid, enumerate cells, order them for prefix caching, estimate the cost.

Nothing here calls a model or builds a haystack; everything is arithmetic over the grid, so ``--dry-run`` is
instant and free.

Ordering. The filler text of a seed is one stream of paragraphs, so a haystack of any length at any depth
is ``filler[:p] + needle + filler[p:...]`` with ``p`` the needle's token position (``depth% × length``). Two
prompts of the same (task, language, seed) group share the instructions and ``filler[:min(p1, p2)]``. Sorting
a group by needle position, descending, makes each prompt share the longest possible prefix with the one
before it (with a single cache slot this is optimal: the shared total is the sum of all positions but the
first). Groups are run one after the other.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evals.config import DEFAULT_DEPTHS, DEFAULT_LENGTHS, RunConfig
from evals.errors import PlanError
from evals.store.record import IdentityInputs
from evals.store.results import cell_id

if TYPE_CHECKING:
    from providers.door import CacheRules
    from providers.entry import ModelInfo

__all__ = [
    "ORDERS",
    "PRESETS",
    "CacheSlot",
    "Cell",
    "CostEstimate",
    "Grid",
    "answer_budget",
    "apply_preset",
    "cache_layout",
    "check_window",
    "default_run_dir",
    "estimate_cost",
    "identity_inputs",
    "long_ttl",
    "make_cells",
    "needle_position",
    "order_cells",
    "plan_identity",
    "resolve_grid",
    "shared_prefix_tokens",
    "vendor_cache_tokens",
]

ORDERS = ("shared", "grid", "depth_major")

Order = Literal["shared", "grid", "depth_major"]


@dataclass(frozen=True)
class Grid:
    """The concrete grid of a run.

    Attributes:
        tasks: Task variants.
        lengths: Requested prompt lengths in the model's tokens, ascending, distinct.
        depths: Needle depths in percent, ascending, distinct.
        seeds: Seeds.
        language: Needle/question language.
    """

    tasks: tuple[str, ...]
    lengths: tuple[int, ...]
    depths: tuple[float, ...]
    seeds: tuple[int, ...]
    language: str

    def to_dict(self) -> dict[str, Any]:
        """The header's ``grid`` object."""
        return {
            "lengths": list(self.lengths),
            "depths": list(self.depths),
            "tasks": list(self.tasks),
            "seeds": list(self.seeds),
            "language": self.language,
        }

    @property
    def n_cells(self) -> int:
        """Cells in the grid (no_needle has no depth axis: one cell per length and seed)."""
        per_task = [
            len(self.lengths) * len(self.seeds) * (1 if t == "no_needle" else len(self.depths))
            for t in self.tasks
        ]
        return sum(per_task)


def _parse_spec(spec: str, what: str) -> list[float]:
    from haystacks.errors import HaystackError
    from haystacks.grids import parse_list

    try:
        return [float(x) for x in parse_list(spec)]
    except HaystackError as e:
        raise PlanError(f"{what}: {e}") from e
    except ValueError as e:
        raise PlanError(f"{what}: cannot parse {spec!r} ({e})") from e


def resolve_grid(cfg: RunConfig) -> Grid:
    """Turn the config's grid options (lists, ranges, spacings) into concrete, sorted, distinct values.

    Args:
        cfg: The run config.

    Returns:
        The :class:`Grid`.

    Raises:
        PlanError: For unparsable specs, non-integer or non-positive lengths, depths outside 0..100.
    """
    if isinstance(cfg.lengths, str):
        # points a range generates (1k:1M:8 is 32000 + k * 138285.71...) become whole token counts;
        # a length written out must already be one
        raw_lengths = []
        for part in cfg.lengths.split(","):
            values = _parse_spec(part, "lengths")
            is_range = ":" in part or "/" in part
            raw_lengths.extend(float(round(v)) if is_range and math.isfinite(v) else v for v in values)
    elif cfg.lengths is not None:
        raw_lengths = list(cfg.lengths)
    elif cfg.min_length or cfg.max_length:
        if not (cfg.min_length and cfg.max_length):
            raise PlanError("give both --min-length and --max-length (or --lengths)")
        from haystacks.grids import length_grid

        n = cfg.n_lengths or 5
        raw_lengths = [float(x) for x in length_grid(cfg.min_length, cfg.max_length, n, cfg.length_spacing)]
    else:
        raw_lengths = [float(x) for x in DEFAULT_LENGTHS]
    lengths: set[int] = set()
    for x in raw_lengths:
        if not math.isfinite(x) or x <= 0 or abs(x - round(x)) > 1e-9:
            raise PlanError(f"length {x:g} is not a positive whole number of tokens")
        lengths.add(round(x))

    if isinstance(cfg.depths, str):
        raw_depths = _parse_spec(cfg.depths, "depths")
    elif cfg.depths is not None:
        raw_depths = list(cfg.depths)
    elif cfg.n_depths:
        from haystacks.grids import depth_grid

        raw_depths = [float(x) for x in depth_grid(cfg.n_depths, cfg.depth_spacing)]
    else:
        raw_depths = list(DEFAULT_DEPTHS)
    depths: set[float] = set()
    for d in raw_depths:
        if not math.isfinite(d) or not 0.0 <= d <= 100.0:
            raise PlanError(f"depth {d:g} is outside 0..100 (percent)")
        depths.add(round(float(d), 6))
    if not lengths or not depths:
        raise PlanError("the grid is empty")
    return Grid(
        tasks=tuple(cfg.tasks),
        lengths=tuple(sorted(lengths)),
        depths=tuple(sorted(depths)),
        seeds=tuple(cfg.seed_list()),
        language=cfg.language,
    )


@dataclass(frozen=True)
class Cell:
    """One point of the grid for one model.

    Attributes:
        model: Registry alias (the name the run knows the model by).
        task: Task name (see :func:`haystacks.tasks.get_task`).
        language: Needle/question language.
        length: Requested prompt length (tokens of the whole prompt in the model's tokenizer).
        depth: Needle depth in percent (the first needle's for multi; 0 for no_needle, which has no depth).
        seed: Seed.
        kind: ``cell`` (a grid cell) or ``closed_book`` (the task's question with no context, length 0).
        max_tokens: Answer token budget of the call.
        cell_id: Identity hash (see :func:`evals.store.results.cell_id`).
    """

    model: str
    task: str
    language: str
    length: int
    depth: float
    seed: int
    kind: str = "cell"
    max_tokens: int = field(default=32, compare=False)
    cell_id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.cell_id:
            cid = cell_id(self.model, self.task, self.language, self.length, self.depth, self.seed, self.kind)
            object.__setattr__(self, "cell_id", cid)

    def identity(self) -> dict[str, Any]:
        """The identity fields of a result record."""
        return {
            "model": self.model,
            "task": self.task,
            "language": self.language,
            "length": self.length,
            "depth": self.depth,
            "seed": self.seed,
            "kind": self.kind,
        }


#: The depth recorded for cells of a task without a depth axis (no_needle: there is no needle).
NO_NEEDLE_DEPTH = 0.0


def answer_budget(
    task: str, options: Mapping[str, Any], max_tokens: int | None, language: str = "zh", style: str = "chat"
) -> int:
    """Answer tokens of a task's calls: ``--max-tokens`` when given, else the task's own budget.

    Args:
        task: Task name.
        options: The run's task options (:meth:`evals.config.RunConfig.task_options`).
        max_tokens: ``--max-tokens`` (None: the task decides).
        language: Needle language.
        style: ``chat`` (the task's chat budget) or ``completion`` (a base model: its answer lines only).
    """
    if max_tokens is not None:
        return max_tokens
    from haystacks.builder import CellSpec
    from haystacks.tasks import get_task

    t = get_task(task)
    spec = CellSpec(task=task, language=language, **t.cell_params(options))
    return t.completion_budget(spec) if style == "completion" else t.answer_budget(spec)


def make_cells(
    model: str,
    grid: Grid,
    options: Mapping[str, Any] | None = None,
    max_tokens: int | None = None,
    style: str = "chat",
) -> list[Cell]:
    """All cells of the grid, in grid order (task, seed, length, depth), then the closed-book controls.

    A task without a depth axis (``no_needle``) has one cell per (length, seed), recorded at depth 0. A task
    with a closed-book control (``topical``) adds one ``closed_book`` cell per seed (length 0): its question
    asked with no context, to tell what a model knows without the text.

    Args:
        model: The name the run knows the model by.
        grid: The resolved grid.
        options: The run's task options (for each task's answer budget).
        max_tokens: ``--max-tokens`` (None: each task's budget).
        style: The prompt style (a base model in ``completion`` style gets its answer lines' budget).

    Returns:
        The cells.
    """
    from haystacks.tasks import get_task

    options = options or {}
    cells: list[Cell] = []
    closed: list[Cell] = []
    for task in grid.tasks:
        t = get_task(task)
        budget = answer_budget(task, options, max_tokens, grid.language, style)
        depths = grid.depths if t.has_depth else (NO_NEEDLE_DEPTH,)
        for seed in grid.seeds:
            for length in grid.lengths:
                for depth in depths:
                    cells.append(Cell(model, task, grid.language, length, depth, seed, max_tokens=budget))
            if t.closed_book:
                closed.append(Cell(model, task, grid.language, 0, 0.0, seed, "closed_book", budget))
    return cells + closed


def needle_position(cell: Cell) -> float:
    """Estimated token position of the (first) needle in the prompt: where prompts stop sharing a prefix."""
    from haystacks.tasks import get_task

    if not get_task(cell.task).has_depth:
        return float(cell.length)
    return cell.length * cell.depth / 100.0


def _group(cell: Cell) -> tuple[str, str, int]:
    return (cell.task, cell.language, cell.seed)


def order_cells(
    cells: Iterable[Cell], order: Order = "shared", *, rules: CacheRules | None = None
) -> list[Cell]:
    """Order cells for execution.

    Args:
        cells: The cells.
        order: ``shared``: grouped by (task, language, seed), needle position descending within a group, so
            consecutive prompts share the longest prefix (automatic prefix caches: OpenAI, Gemini,
            llama.cpp); ascending for a door with explicit breakpoints (``rules.explicit``: Anthropic), so
            each prompt extends the prefix a cell before it wrote (:func:`cache_layout`). ``grid``: the
            grid's own order, for each length every depth (the classic tools' nested loops; the naive
            request order). ``depth_major``: for each depth every length.
        rules: The door's cache rules (None: automatic prefix caching assumed).

    Returns:
        The ordered list.
    """
    cells = list(cells)
    if order == "grid":
        return sorted(cells, key=lambda c: (c.task, c.language, c.seed, c.length, c.depth))
    if order == "depth_major":
        return sorted(cells, key=lambda c: (c.task, c.language, c.seed, c.depth, c.length))
    if order == "shared":
        if rules is not None and rules.explicit:
            # ties (same needle position) shortest first: the longer one extends the same prefix
            return sorted(cells, key=lambda c: (_group(c), needle_position(c), c.length, c.depth))
        # Ties (same needle position, e.g. depth 0) go longest first: each shares all of the next context.
        return sorted(cells, key=lambda c: (_group(c), -needle_position(c), -c.length))
    raise ValueError(f"unknown order {order!r}")


def shared_prefix_tokens(prev: Cell | None, cur: Cell) -> float:
    """Estimated context tokens ``cur`` shares with ``prev`` (the prompt before it): 0 across groups.

    Two prompts of a group share the filler up to the first needle; when both needles come first (depth 0,
    any length) they share the whole shorter context.
    """
    if prev is None or _group(prev) != _group(cur):
        return 0.0
    p, q = needle_position(prev), needle_position(cur)
    if p == q == 0.0:
        return float(min(prev.length, cur.length))
    return min(p, q, float(cur.length))


@dataclass(frozen=True)
class CostEstimate:
    """What a planned run will send.

    Attributes:
        cells: Cells to run.
        prompt_tokens: Sum of prompt tokens (the requested lengths; haystacks are sized to them).
        cached_tokens: Estimated prompt tokens shared with the previous prompt in the planned order.
        max_output_tokens: Upper bound of answer tokens (cells × max_tokens).
        cost_usd: Estimated cost without caching (prompt at input price, output at its max), or None when the
            model has no prices.
        cost_cached_usd: Estimated cost with prompt caching, or None. For a model whose door bills a prompt
            cache (:class:`providers.door.CacheRules`), what that vendor bills (:func:`vendor_cache_tokens`:
            reads at the cached-input price, writes at the cache-write price, minimum lengths, increments,
            lifetime), an upper bound; without one, the old rough figure (shared tokens at the cached-input
            price, the rest at the cache-write price where the provider charges one).
        cache_write_tokens: Prompt tokens billed as cache writes (0 without vendor rules).
        cache_rules: The door whose cache rules priced ``cost_cached_usd`` (None: the rough figure).
        explicit_cache: Those rules set breakpoints (the cached figure is then a bound on the bill).
        breakpoints: Cells that write a breakpoint (:func:`cache_layout`; 0 with explicit rules: caching
            cannot pay on these cells and none is set).
        cost_worst_usd: Batch: the cached figure with no read sure (the vendor may run every request of a
            batch at once), None otherwise.
        long_ttl: The breakpoints ask for the longer lifetime (:func:`long_ttl`).
    """

    cells: int
    prompt_tokens: int
    cached_tokens: int
    max_output_tokens: int
    cost_usd: float | None
    cost_cached_usd: float | None
    cache_write_tokens: int = 0
    cache_rules: str | None = None
    explicit_cache: bool = False
    breakpoints: int = 0
    cost_worst_usd: float | None = None
    long_ttl: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


#: Assumed time a cell takes, for the cache lifetime: this many seconds plus the prompt at
#: :data:`PREFILL_TOKENS_PER_S` (deliberately slow, so a read is only counted when it surely comes in time).
CELL_LATENCY_S = 10.0
PREFILL_TOKENS_PER_S = 10_000.0
#: Tokens by which the first needle's real prompt position can differ from :func:`needle_position` (the
#: instructions before the text, the question after it, the needle snapped to a sentence start).
POSITION_SLACK_TOKENS = 512
#: Tasks whose first inserted text is the needle at ``Cell.depth`` (others may insert text before it, so
#: the plan cannot tell where their prefix ends: they get no breakpoints).
_SPLIT_AT_DEPTH = frozenset({"single", "special_magic", "multi"})


def cell_latency_s(cell: Cell) -> float:
    """The assumed duration of one cell (see :data:`CELL_LATENCY_S`)."""
    return CELL_LATENCY_S + cell.length / PREFILL_TOKENS_PER_S


@dataclass(frozen=True)
class CacheSlot:
    """One cell's part in an explicit-breakpoint cache layout (:func:`cache_layout`).

    Attributes:
        reads: Cell ids of earlier cells of the same group whose breakpoints this cell repeats, nearest
            first: the first was sent ``concurrency`` places earlier in the group (it has finished), the
            others are fallbacks at shorter prefixes. A breakpoint inside a prefix that is read costs
            nothing; the vendor reads the longest one it holds.
        write: The cell sets a breakpoint at its own first needle, which a later cell reads.
        read_tokens: Prompt tokens the cell surely reads (the least the first read can be).
        write_tokens: Prompt tokens it may write (the most: from its read to its own needle).
        long: The layout's breakpoints ask for the longer lifetime (:attr:`CacheRules.long_ttl_s`).
    """

    reads: tuple[str, ...] = ()
    write: bool = False
    read_tokens: int = 0
    write_tokens: int = 0
    long: bool = False

    @property
    def breakpoints(self) -> int:
        """Breakpoints the request carries."""
        return len(self.reads) + int(self.write)


def _position_band(cell: Cell) -> tuple[int, int]:
    """Least and most prompt tokens before a cell's first needle."""
    pos = needle_position(cell)
    lo = max(0, int(pos) - POSITION_SLACK_TOKENS)
    return lo, min(cell.length, math.ceil(pos) + POSITION_SLACK_TOKENS)


def cache_layout(
    cells: Sequence[Cell], rules: CacheRules, *, concurrency: int = 1, long: bool = False
) -> list[CacheSlot]:
    """Where a run with explicit breakpoints (Anthropic) writes and reads its prompt cache, per cell.

    Cells are expected in :func:`order_cells` order for explicit caching: each (task, language, seed)
    group by needle position ascending, so every prompt of a group extends the prefix of the one before
    it (the filler before the first needle is the same stream text at every length). The layout:

    * each cell reads the prefix written by the group's cell ``concurrency`` places before it (that one
      has finished), with up to ``max_breakpoints - 2`` breakpoints of the cells before that as fallbacks;
    * it writes one breakpoint at its own needle when the group's cell ``concurrency`` places after it
      will read it within the entry's lifetime (cells taking :func:`cell_latency_s` one after another,
      ``concurrency`` at a time), and the prefix is surely above the minimum cacheable length. So each
      increment of the group's prefix is written once, and the last cells of a group write nothing;
    * cells with nothing inserted (closed book, no_needle) and of tasks that may insert text before the
      needle at ``depth`` get no breakpoints.

    Token counts are an upper bound on the bill: a read at the least its breakpoint can be, a write from
    there to the most its own needle can be (:data:`POSITION_SLACK_TOKENS`).

    Args:
        cells: Cells in execution order.
        rules: The door's cache rules (explicit breakpoints).
        concurrency: Cells in flight at once.
        long: Entries written with the longer lifetime (:attr:`CacheRules.long_ttl_s`; see
            :func:`long_ttl`).

    Returns:
        One :class:`CacheSlot` per cell, in order.
    """
    from haystacks.tasks import get_task

    conc = max(1, concurrency)
    life = rules.long_ttl_s if long and rules.long_ttl_s is not None else rules.ttl_s
    long = long and rules.long_ttl_s is not None
    ttl = math.inf if life is None else life
    lanes = [0.0] * conc
    sent: list[float] = []
    for c in cells:
        lane = min(range(conc), key=lambda k: lanes[k])
        sent.append(lanes[lane])
        lanes[lane] += cell_latency_s(c)
    # each cacheable cell's place in its group's chain
    chains: dict[tuple[str, str, int], list[int]] = {}
    for i, c in enumerate(cells):
        if c.kind == "cell" and c.task in _SPLIT_AT_DEPTH and get_task(c.task).has_depth:
            chains.setdefault(_group(c), []).append(i)

    def can_write(i: int) -> bool:
        # a needle at the very end (depth 100) follows a context cut to its length, which longer cells
        # do not share: its prefix is nobody else's
        c = cells[i]
        return c.depth < 100.0 and _position_band(c)[0] >= rules.min_prefix_tokens

    writes: set[int] = set()
    source: dict[int, int] = {}  # reader -> the writer whose prefix it reads
    for chain in chains.values():
        last: int | None = None  # the latest possible writer at least ``conc`` places back
        for j, k in enumerate(chain):
            if j >= conc and can_write(chain[j - conc]):
                last = chain[j - conc]
            if last is None or rules.max_breakpoints < 2:
                continue
            if needle_position(cells[last]) > needle_position(cells[k]):
                continue  # another order than ascending: that prefix is not this prompt's
            if sent[k] + cell_latency_s(cells[k]) - sent[last] <= ttl:
                source[k] = last
                writes.add(last)
    slots: list[CacheSlot] = [CacheSlot() for _ in cells]
    spare = max(0, rules.max_breakpoints - 2)
    for chain in chains.values():
        for i in chain:
            first = source.get(i)
            reads: list[str] = []
            read_tokens = 0
            if first is not None:
                reads.append(cells[first].cell_id)
                read_tokens = _position_band(cells[first])[0]
                at = chain.index(first)
                back = [chain[x] for x in range(at - 1, -1, -1) if chain[x] in writes]
                reads.extend(cells[x].cell_id for x in back[:spare])
            write = i in writes
            write_tokens = max(0, _position_band(cells[i])[1] - read_tokens) if write else 0
            slots[i] = CacheSlot(tuple(reads), write, read_tokens, write_tokens, long)
    return slots


def long_ttl(
    cells: Sequence[Cell], rules: CacheRules, prices: Any, *, concurrency: int = 1, batch: bool = False
) -> bool:
    """Whether a layout's breakpoints ask for the longer lifetime (Anthropic's 1 hour, written at twice the
    input price instead of 1.25 times).

    A batch: yes (its requests may be answered over hours, in any order; the vendor advises the 1-hour cache
    for batches). Otherwise where it is cheaper: the cells' upper-bound cost with 1-hour entries (reads that
    come too late for 5 minutes kept) against 5-minute ones.
    """
    if not rules.explicit or rules.long_ttl_s is None:
        return False
    if batch:
        return True
    from providers.entry import cost_usd

    def total(long: bool) -> float:
        out = 0.0
        for c, s in zip(cells, cache_layout(cells, rules, concurrency=concurrency, long=long), strict=True):
            one = cost_usd(
                prices,
                c.length,
                s.read_tokens,
                s.write_tokens,
                0,
                n_write_1h=s.write_tokens if long else 0,
                write_1h_factor=rules.long_write_factor,
            )
            out += one or 0.0
        return out

    return total(True) < total(False)


def vendor_cache_tokens(
    cells: Sequence[Cell],
    rules: CacheRules,
    *,
    concurrency: int = 1,
    sure_reads: bool = True,
    long: bool = False,
) -> list[tuple[int, int]] | None:
    """Per cell, in execution order, the prompt tokens a vendor bills as cache reads and as cache writes.

    * Anthropic (explicit breakpoints): :func:`cache_layout`, an upper bound on the bill. With
      ``sure_reads=False`` (the worst case of a batch, whose vendor may run every request at once) no read
      is counted and every write breakpoint writes its whole prefix.
    * OpenAI, Gemini (automatic prefix caching): the cell ``concurrency`` places earlier has finished; the
      prompt reads what it shares with it (:func:`shared_prefix_tokens` less the slack), in the rule's
      increments, nothing under the minimum; no writes billed. The vendors call this best effort: the
      figure assumes the hit (the mock, which caches the previous prompt only, bills at most it). With
      ``sure_reads=False``, nothing.

    Args:
        cells: Cells in execution order.
        rules: The door's cache rules (``door.capabilities(info).cache``).
        concurrency: Cells in flight at once.
        sure_reads: Count the reads the layout plans (False: the worst case, none).
        long: Explicit breakpoints with the longer lifetime (:func:`long_ttl`).

    Returns:
        ``[(read, write), ...]``, or None when the door bills no cache (``mode == "none"``).
    """
    if rules.mode == "none":
        return None
    slack = POSITION_SLACK_TOKENS
    conc = max(1, concurrency)
    out: list[tuple[int, int]] = []
    if not rules.explicit:
        for i, c in enumerate(cells):
            prev = cells[i - conc] if i >= conc else None
            shared = max(0, int(shared_prefix_tokens(prev, c)) - slack)
            read = (shared // rules.step) * rules.step if shared >= rules.min_prefix_tokens else 0
            out.append((read if sure_reads else 0, 0))
        return out
    for c, slot in zip(cells, cache_layout(cells, rules, concurrency=conc, long=long), strict=True):
        if sure_reads:
            out.append((slot.read_tokens, slot.write_tokens))
        else:
            out.append((0, _position_band(c)[1] if slot.write else 0))
    return out


def estimate_cost(
    cells: Sequence[Cell],
    prices: Any,
    extra_output_tokens: int = 0,
    *,
    batch: bool = False,
    info: ModelInfo | None = None,
    concurrency: int = 1,
    sure_reads: bool = True,
) -> CostEstimate:
    """Estimate tokens and cost of running ``cells`` in the given order.

    Args:
        cells: Cells in execution order (already-done cells removed).
        prices: The registry entry's :class:`providers.entry.Prices`, or None.
        extra_output_tokens: Hidden reasoning tokens a reasoning model may add per cell.
        batch: Sent through the door's batch API (``--batch``): priced at its discount.
        info: The model's entry: its door's capabilities give the batch discount and the cache rules (the
            cached figure is then what that vendor bills, :func:`vendor_cache_tokens`, an upper bound). None
            (or a door that bills no cache): the rough figure (every shared prefix read at the cached price).
        concurrency: Cells in flight at once (a cell cannot read what one still running writes).
        sure_reads: Count the cache reads the layout plans (False: a batch's worst case, no read).

    Returns:
        The :class:`CostEstimate`; the costs are upper bounds on output (every answer at its limit).
    """
    from providers.entry import cost_usd

    caps = _capabilities(info)
    discount = caps.batch.discount if batch and caps is not None and caps.batch is not None else 1.0
    no_batch_cache = caps is not None and batch and caps.cache.mode != "none" and not caps.cache.in_batch
    long = (
        caps is not None
        and not no_batch_cache
        and long_ttl(cells, caps.cache, prices, concurrency=concurrency, batch=batch)
    )
    factor = caps.cache.long_write_factor if caps is not None else None
    vendor = (
        vendor_cache_tokens(cells, caps.cache, concurrency=concurrency, sure_reads=sure_reads, long=long)
        if caps is not None and not no_batch_cache
        else [(0, 0)] * len(cells)  # the vendor caches nothing in batches
        if no_batch_cache
        else None
    )
    writers = (
        sum(s.write for s in cache_layout(cells, caps.cache, concurrency=concurrency, long=long))
        if caps is not None and caps.cache.explicit and not no_batch_cache
        else 0
    )
    prompt = cached_total = write_total = out_total = 0
    cost: float | None = 0.0
    cost_cached: float | None = 0.0
    prev: Cell | None = None
    for i, c in enumerate(cells):
        per_out = c.max_tokens + extra_output_tokens
        if vendor is not None:
            read, write = vendor[i]
        else:
            read = round(shared_prefix_tokens(prev, c))
            has_write = prices is not None and prices.price("cache_write", c.length) is not None
            write = c.length - read if has_write else 0
        prev = c
        prompt += c.length
        out_total += per_out
        cached_total += read
        write_total += write if vendor is not None else 0
        a = cost_usd(prices, c.length, 0, 0, per_out, discount=discount)
        b = cost_usd(
            prices,
            c.length,
            read,
            write,
            per_out,
            discount=discount,
            n_write_1h=write if long else 0,
            write_1h_factor=factor,
        )
        cost = None if a is None or cost is None else cost + a
        cost_cached = None if b is None or cost_cached is None else cost_cached + b
    if cost_usd(prices, 0) is None:
        cost = cost_cached = None
    if vendor is None or caps is None or info is None:
        return CostEstimate(len(cells), prompt, cached_total, out_total, cost, cost_cached, write_total)
    return CostEstimate(
        len(cells),
        prompt,
        cached_total,
        out_total,
        cost,
        cost_cached,
        write_total,
        info.provider,
        caps.cache.explicit and not no_batch_cache,
        writers,
        long_ttl=long,
    )


def _capabilities(info: ModelInfo | None) -> Any:
    if info is None:
        return None
    from providers.doors import door_for

    return door_for(info).capabilities(info)


def check_window(grid: Grid, window: int | None, max_tokens: int, model: str, allow_beyond: bool) -> None:
    """Refuse lengths that do not fit the model's served window (prompt + answer tokens).

    Args:
        grid: The resolved grid.
        window: The model's served context window in tokens, or None when unknown (no check).
        max_tokens: Answer tokens reserved per call.
        model: Model alias for the message.
        allow_beyond: The user asked to probe beyond the window (cells end ``model_length``).

    Raises:
        PlanError: When a length does not fit and ``allow_beyond`` is false.
    """
    if window is None or allow_beyond:
        return
    too_long = [n for n in grid.lengths if n + max_tokens > window]
    if too_long:
        raise PlanError(
            f"length {too_long[0]} (+{max_tokens} answer tokens) exceeds {model}'s context window of "
            f"{window} tokens; use lengths up to {window - max_tokens}, or --allow-beyond-window to probe "
            f"(those cells end model_length)"
        )


#: ``--preset gemini-1.5``: the text needle-in-a-haystack of the Gemini 1.5 report (Feb 2024), for any model.
#: Its needle ("The special magic {city} number is: {number}.") is the ``special_magic`` task; lengths run
#: log-spaced from 1K to 1M tokens and on to 2M, 5M and 10M where the model's window allows (the report went
#: to 10M); depths 0..100 % in 11 steps. The report gives the grid only as plots, so these numbers are our
#: reading of them; ``--lengths/--depths/--task/--language`` given alongside override the preset's.
PRESETS: dict[str, dict[str, Any]] = {
    "gemini-1.5": {
        "tasks": ("special_magic",),
        "language": "en",
        "n_lengths": 20,
        "depths": tuple(float(d) for d in range(0, 101, 10)),
        "beyond": (2_000_000, 5_000_000, 10_000_000),
    }
}


def apply_preset(cfg: RunConfig, window: int | None, answer_tokens: int = 32) -> RunConfig:
    """The config with its preset's grid filled in where the user did not set one.

    Args:
        cfg: The config (``cfg.preset`` names the preset; None returns ``cfg``).
        window: The model's window (None: unknown, lengths stop at 1M).
        answer_tokens: Tokens reserved for the answer.
    """
    if cfg.preset is None:
        return cfg
    p = PRESETS[cfg.preset]
    given = cfg.model_fields_set
    top = min(1_000_000, window - answer_tokens) if window else 1_000_000
    from haystacks.grids import length_grid

    lengths = [float(x) for x in length_grid(1000, max(top, 1000), p["n_lengths"], "log")]
    lengths += [float(x) for x in p["beyond"] if window and x + answer_tokens <= window and x > top]
    update: dict[str, Any] = {}
    if not given & {"lengths", "min_length", "max_length"}:
        update["lengths"] = tuple(sorted(set(lengths)))
    if not given & {"depths", "n_depths"}:
        update["depths"] = p["depths"]
    if "tasks" not in given:
        update["tasks"] = p["tasks"]
    if "language" not in given:
        update["language"] = p["language"]
    return cfg.model_copy(update=update)


def identity_inputs(
    cfg: RunConfig, grid: Grid, *, model_id: str | None, corpus_sha256: str
) -> IdentityInputs:
    """Every input that changes a prompt or a grade: the same inputs resume a run directory, any other
    starts a new one.

    Args:
        cfg: The config (model name, language, style, temperature, answer budget, ...).
        grid: Its resolved grid.
        model_id: The model's id at the vendor (a registry name can be repointed to another id).
        corpus_sha256: The cleaned haystack text's hash (the seeds, or ``--haystack``).

    Returns:
        The inputs (recorded in the header as ``identity_inputs``).
    """
    from haystacks.grading import GRADING_VERSION
    from haystacks.prompts import TEMPLATE_VERSION
    from haystacks.tasks import get_task

    options = cfg.task_options()
    return IdentityInputs(
        settings=cfg.identity(),
        model_id=model_id,
        grid=grid.to_dict(),
        corpus_sha256=corpus_sha256,
        tasks={t: get_task(t).identity(options) for t in grid.tasks},
        prompt_template=TEMPLATE_VERSION,
        grading=GRADING_VERSION,
    )


def shard_cells(cells: Sequence[Cell], index: int, count: int) -> list[Cell]:
    """The ``index``-th of ``count`` shards of ``cells``, balanced by prompt tokens, in the given order.

    Greedy longest-first: cells by length descending (ties by cell id) each go to the shard with the fewest
    prompt tokens so far (ties to the lower shard number). Deterministic: every process computes the same
    partition, so shards ``0/n .. n-1/n`` together cover every cell once. Sharding leaves cell ids (and
    the run identity) alone: records of the shards merge as one run's.

    Args:
        cells: All cells, in execution order.
        index: The shard, ``0 <= index < count``.
        count: Shards in all.

    Returns:
        The shard's cells, in the order of ``cells``.
    """
    if count <= 1:
        return list(cells)
    loads = [0] * count
    mine: set[str] = set()
    for c in sorted(cells, key=lambda c: (-max(c.length, 1), c.cell_id)):
        k = min(range(count), key=lambda j: (loads[j], j))
        loads[k] += max(c.length, 1)
        if k == index:
            mine.add(c.cell_id)
    return [c for c in cells if c.cell_id in mine]


def plan_identity(inputs: IdentityInputs) -> str:
    """The run identity: a 64-hex-digit sha256 of :func:`identity_inputs`' JSON, keys sorted (the default run
    directory name uses its first 8 digits)."""
    return hashlib.sha256(json.dumps(inputs.to_json(), sort_keys=True, default=list).encode()).hexdigest()


def default_run_dir(cfg: RunConfig, identity: str, root: Path = Path("results")) -> Path:
    """``results/<model>-<tasks>-<hash8>`` (``--out`` overrides it), ``-shard<i>of<n>`` added for a shard.

    Args:
        cfg: The config.
        identity: From :func:`plan_identity`.
        root: The results root.

    Returns:
        The run directory path.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", cfg.model)
    tasks = "+".join(cfg.tasks)
    return shard_dir(root / f"{safe}-{tasks}-{identity[:8]}", cfg.shard_of())


def shard_dir(run_dir: Path, shard: tuple[int, int] | None) -> Path:
    """``run_dir`` with ``-shard<i>of<n>`` added to its name (unchanged without a shard)."""
    if shard is None:
        return run_dir
    return run_dir.with_name(f"{run_dir.name}-shard{shard[0]}of{shard[1]}")
