"""What names a run: its identity (every input that changes a prompt or a grade), its directory, and shards.

The same inputs resume the same run directory; any other input starts a new one. Shards split one run's cells
across processes without changing a cell id or the identity, so their records merge as one run's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from evals.config import RunConfig
from evals.planning.grid import Cell, Grid
from evals.store.record import IdentityInputs

__all__ = [
    "default_run_dir",
    "identity_inputs",
    "plan_identity",
    "shard_cells",
    "shard_dir",
]


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
