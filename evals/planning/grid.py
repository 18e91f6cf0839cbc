"""The grid of a run and its cells: resolve the lengths, depths and seeds, enumerate the cells, order them.

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

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evals.config import DEFAULT_DEPTHS, DEFAULT_LENGTHS, Order, RunConfig
from evals.errors import PlanError
from evals.store.results import cell_id

if TYPE_CHECKING:
    from providers.door import CacheRules

__all__ = [
    "NO_NEEDLE_DEPTH",
    "PRESETS",
    "Cell",
    "Grid",
    "answer_budget",
    "apply_preset",
    "check_window",
    "make_cells",
    "needle_position",
    "order_cells",
    "prefix_group",
    "resolve_grid",
    "shared_prefix_tokens",
]


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


def prefix_group(cell: Cell) -> tuple[str, str, int]:
    """The cells whose prompts can share a prefix: same task, language and seed (one filler stream)."""
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
            return sorted(cells, key=lambda c: (prefix_group(c), needle_position(c), c.length, c.depth))
        # Ties (same needle position, e.g. depth 0) go longest first: each shares all of the next context.
        return sorted(cells, key=lambda c: (prefix_group(c), -needle_position(c), -c.length))
    raise ValueError(f"unknown order {order!r}")


def shared_prefix_tokens(prev: Cell | None, cur: Cell) -> float:
    """Estimated context tokens ``cur`` shares with ``prev`` (the prompt before it): 0 across groups.

    Two prompts of a group share the filler up to the first needle; when both needles come first (depth 0,
    any length) they share the whole shorter context.
    """
    if prev is None or prefix_group(prev) != prefix_group(cur):
        return 0.0
    p, q = needle_position(prev), needle_position(cur)
    if p == q == 0.0:
        return float(min(prev.length, cur.length))
    return min(p, q, float(cur.length))


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
