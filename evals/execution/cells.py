"""Synchronous execution: each todo cell its own call, ``concurrency`` calls at most in flight.

Cells are submitted in the planned (prefix-sharing) order while the next haystack is built
(:meth:`~evals.execution.sizing.Sizer.fit`); each call's outcome goes through the session's one record path
(:meth:`~evals.execution.session.RunSession.record`) and is appended as it ends. With ``rounds`` (adaptive
sampling) the next round is asked for once a round has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from evals.errors import EvalError
from evals.execution.session import RunOutcome, RunSession, session

if TYPE_CHECKING:
    from rich.console import Console

    from evals.execution.sizing import Built
    from evals.planning.grid import Cell
    from evals.planning.prepare import PreparedRun
    from evals.store.record import ResultRecord

__all__ = ["execute_cells", "run_cells"]


async def run_cells(
    run: RunSession,
    progress_cb: Callable[[ResultRecord], None],
    rounds: Callable[[], Sequence[Cell]] | None = None,
) -> None:
    """Run the todo cells in order, ``concurrency`` at most in flight; append each record as it ends.

    With ``rounds`` (adaptive sampling), once a round's cells have all ended it is asked for the next
    round (it reads the store, which is current), until it returns none or the run stops.
    """
    assert run.provider is not None and run.sizer is not None
    sem = asyncio.Semaphore(run.provider.limit_settings.concurrency)
    in_flight: set[asyncio.Task[None]] = set()
    budget = run.cfg.max_cost
    spent_total = run.prep.spent_before

    async def one(cell: Cell, built: Built) -> None:
        nonlocal spent_total
        try:
            rec = await run.run_cell(cell, built)
            if rec is None:
                return
            rec = run.save(rec)
            spent_total += rec.spend
            if budget is not None and spent_total >= budget:
                run.outcome.budget_stopped = True
                run.stop = True
            progress_cb(rec)
        except EvalError as e:  # the run directory cannot be written: stop, raised once all have ended
            run.failure = run.failure or e
            run.stop = True
        finally:
            sem.release()

    try:
        todo: Sequence[Cell] = run.prep.todo
        while todo and not run.stop:
            run.sizer.plan_cache(list(todo), run.provider.limit_settings.concurrency)
            for cell in todo:
                if run.stop:
                    break
                built = await run.sizer.fit(cell)
                await sem.acquire()
                if run.stop:
                    sem.release()
                    break
                task = asyncio.create_task(one(cell, built))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.gather(*in_flight)
            todo = rounds() if rounds is not None and not run.stop else ()
        if run.failure is not None:
            raise run.failure
    finally:
        # Interrupted (Ctrl-C, SIGTERM) or failed: cancel what is in flight; finished records are on disk.
        pending = [t for t in in_flight if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def execute_cells(
    prep: PreparedRun,
    console: Console,
    *,
    verbose: bool = False,
    show_progress: bool = True,
    rounds: Callable[[], Sequence[Cell]] | None = None,
    sampling: dict[str, Any] | None = None,
) -> RunOutcome:
    """Start the provider, write the header, run the todo cells with a progress bar.

    Args:
        prep: From :func:`prepare` (not a dry run).
        console: Where progress and messages go (stderr in the CLI).
        verbose: Print retries.
        show_progress: Draw the progress bar.
        rounds: Adaptive sampling: called when the todo cells (and each later round) have ended, returns
            the next round's cells (none: stop); see :mod:`.adaptive`.
        sampling: The header's ``sampling`` (how the grid is sampled), for a new run directory.

    Returns:
        The :class:`RunOutcome`.

    Raises:
        EvalError, providers.errors.ConfigError, haystacks.errors.HaystackError: Setup failures; nothing
            has been written when these are raised.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    async with session(prep, console, verbose=verbose) as run:
        await run.open(sampling)
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("•"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("• errors {task.fields[errors]} • retries {task.fields[retries]}"),
        )
        with Progress(*columns, console=console, disable=not show_progress, transient=False) as progress:
            # adaptive: the cells the sampler asks for (the total grows with each round), not the grid
            total = len(prep.cells) if rounds is None else prep.done + len(prep.todo)
            bar = progress.add_task(
                f"{prep.info.alias} {'+'.join(prep.grid.tasks)}",
                total=total,
                completed=prep.done,
                errors=0,
                retries=0,
            )

            def on_record(rec: ResultRecord) -> None:
                progress.update(bar, advance=1, errors=run.outcome.errors, retries=run.retries)

            def next_round() -> Sequence[Cell]:
                nonlocal total
                assert rounds is not None
                cells = rounds()
                total += len(cells)
                progress.update(bar, total=total)
                return cells

            await run_cells(run, on_record, next_round if rounds is not None else None)
            await run.judge_done(lambda rec: None)
    return run.outcome
