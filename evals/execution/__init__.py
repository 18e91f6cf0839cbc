"""Executing a prepared run: the calls, and one typed record appended for each.

Entry: :func:`execute` runs the todo cells of a :class:`~evals.planning.PreparedRun`: one by one
(:mod:`.cells`) or through the vendor's batch API (:mod:`.batch`, ``cfg.batch``), the whole grid or in the
rounds an :class:`AdaptiveRun` chooses. Every way shares one :class:`RunSession` (:mod:`.session`): the
provider, the sizer, the header, and the one path from a call's outcome to the record appended.

Modules, by job:

* :mod:`.session`: :class:`RunSession` and :class:`RunOutcome`;
* :mod:`.sizing`: the context length that makes each prompt exactly its planned number of tokens;
* :mod:`.cells`, :mod:`.batch`: the two schedulers; :mod:`.adaptive`: the rounds of an adaptive run and
  ``sampling.json``;
* :mod:`.provenance`: the header's facts (code, packages, machine); :mod:`.lock`: one writer per run
  directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evals.execution.adaptive import AdaptiveRun, sampling_header
from evals.execution.batch import execute_batch
from evals.execution.cells import execute_cells
from evals.execution.lock import RunLock, RunLockedError
from evals.execution.session import RunOutcome, RunSession, say

if TYPE_CHECKING:
    from rich.console import Console

    from evals.planning.prepare import PreparedRun

__all__ = ["AdaptiveRun", "RunLock", "RunLockedError", "RunOutcome", "RunSession", "execute", "say"]


async def execute(
    prep: PreparedRun,
    console: Console,
    *,
    verbose: bool = False,
    show_progress: bool = True,
    adaptive: AdaptiveRun | None = None,
) -> RunOutcome:
    """Run the todo cells of ``prep`` (see the package docstring) and append a record as each ends.

    Args:
        prep: From :func:`evals.planning.prepare` (not a dry run); with ``adaptive``, its first round
            (:meth:`AdaptiveRun.first_round`).
        console: Where progress and messages go (stderr in the CLI).
        verbose: Print the providers' retries.
        show_progress: Draw the progress bar (synchronous cells).
        adaptive: The adaptive run whose rounds follow the first (None: the todo cells are the whole run).

    Returns:
        What this invocation did.

    The run directory's lock (:class:`RunLock`) is held throughout: the CLI takes it before planning ends
    (and sets ``prep.store.guard``); a library caller that has not gets it taken here, and refused when
    another invocation holds it, so no two invocations pay for the same cells.

    Raises:
        RunLockedError: Another live invocation holds the run directory (a library caller without the lock).
        EvalError, providers.errors.ConfigError, haystacks.errors.HaystackError: Setup failures (nothing
            has been written then), or :class:`~evals.errors.ResultsWriteError` when the run directory
            cannot be written (what was recorded is whole).
    """
    lock = None
    if prep.store.guard is None:  # a library caller: one invocation per run directory holds here too
        lock = RunLock(prep.run_dir)
        lock.acquire()
        prep.store.guard = lock.check
    try:
        rounds = adaptive.next_round if adaptive is not None else None
        sampling = sampling_header(prep.cfg)
        if prep.cfg.batch:
            return await execute_batch(prep, console, verbose=verbose, rounds=rounds, sampling=sampling)
        return await execute_cells(
            prep, console, verbose=verbose, show_progress=show_progress, rounds=rounds, sampling=sampling
        )
    finally:
        if lock is not None:
            prep.store.guard = None
            lock.release()
