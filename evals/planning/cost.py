"""What a planned run is expected to cost: prompt and answer tokens, the vendor's prompt cache (the door's
cache rules), batch prices, and how long it should take.

The cache simulation follows the door's :class:`~providers.door.CacheRules`: which prompts can share a cached
prefix (:func:`cache_layout`, where the breakpoints go), which writes should live an hour (:func:`long_ttl`),
and what the vendor would bill as cache reads and writes (:func:`vendor_cache_tokens`). The price of a call
that happened is not here: :func:`providers.doors.call_cost` prices the usage a provider reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evals.planning.grid import Cell, needle_position, prefix_group, shared_prefix_tokens

if TYPE_CHECKING:
    from providers.door import CacheRules
    from providers.entry import ModelInfo

__all__ = [
    "CELL_LATENCY_S",
    "POSITION_SLACK_TOKENS",
    "PREFILL_TOKENS_PER_S",
    "CacheSlot",
    "CostEstimate",
    "cache_layout",
    "cell_latency_s",
    "estimate_cost",
    "long_ttl",
    "position_band",
    "vendor_cache_tokens",
]


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


def position_band(cell: Cell) -> tuple[int, int]:
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
            chains.setdefault(prefix_group(c), []).append(i)

    def can_write(i: int) -> bool:
        # a needle at the very end (depth 100) follows a context cut to its length, which longer cells
        # do not share: its prefix is nobody else's
        c = cells[i]
        return c.depth < 100.0 and position_band(c)[0] >= rules.min_prefix_tokens

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
                read_tokens = position_band(cells[first])[0]
                at = chain.index(first)
                back = [chain[x] for x in range(at - 1, -1, -1) if chain[x] in writes]
                reads.extend(cells[x].cell_id for x in back[:spare])
            write = i in writes
            write_tokens = max(0, position_band(cells[i])[1] - read_tokens) if write else 0
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
            out.append((0, position_band(c)[1] if slot.write else 0))
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
