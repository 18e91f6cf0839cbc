"""``python -m evals.run --batch``: the todo cells through the vendor's batch API (half price), resumably.

Every todo cell is built exactly as the synchronous runner builds it
(:meth:`evals.execution.sizing.Sizer.fit`), the requests are submitted once through :mod:`providers.batch`
(split only where a vendor limit forces it), and each batch's handle is appended to ``batches.jsonl`` in the
run directory *before* it is polled. A killed run therefore resumes polling the batches it already submitted
and never submits a cell twice. A finished batch's outcomes become ordinary records (with ``batch_id``, priced
at the batch rate) through the same :meth:`evals.execution.session.RunSession.record` as synchronous cells;
then a ``collected`` line closes the batch. Cells that came back in error are not done, so the next run
submits them again.

``batches.jsonl`` holds one JSON object per line, each written with one ``write`` and fsynced:
``{"event": "submitting", "token": ..., "cell_ids": [...], "time": ...}`` before the vendor is asked,
``{"event": "submitted", "token": ..., "handle": {...}, "cell_ids": [...], "time": ...}`` once it answered,
``{"event": "collected", "batch_id": ..., "time": ...}``, and on a resume
``{"event": "abandoned", "token": ...}`` for a submission that never reached the vendor. Each line also
carries its version ``v`` (:data:`evals.store.record.BATCHES_VERSION`; absent, 1) and is read through
:class:`evals.store.record.BatchEvent`; a damaged line (a torn last one) is skipped under the results' rule.

The token closes the one window a kill could still double a submission in: after the vendor accepted a batch
but before its id was written. The batch carries the token (OpenAI batch metadata, Gemini display name), so a
resumed run finds it in the vendor's list and adopts it; Anthropic's Message Batches keep no tag, so there the
batch of the same request count created closest after the recorded time is adopted.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.execution.session import RunOutcome, RunSession, say, session

if TYPE_CHECKING:
    from rich.console import Console

    from evals.execution.sizing import Built
    from evals.planning.grid import Cell
    from evals.planning.prepare import PreparedRun
    from providers.batch import BatchClient, BatchHandle

__all__ = [
    "BATCHES_FILE",
    "append_event",
    "execute_batch",
    "pending_batches",
    "unconfirmed_submissions",
]

BATCHES_FILE = "batches.jsonl"


def append_event(run_dir: Path, event: dict[str, Any]) -> None:
    """Append one event line to ``batches.jsonl`` (one write, fsynced).

    Raises:
        evals.errors.ResultsWriteError: It could not be written (the file keeps its whole lines).
    """
    from evals.store.record import BATCHES_VERSION
    from evals.store.results import RESULTS_FILE, append_line, latest_by_cell, read_records, write_failure

    event = {"v": BATCHES_VERSION, **event}
    data = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    try:
        fd = os.open(run_dir / BATCHES_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            append_line(fd, data)  # cut back to the last whole line if it fails
        finally:
            os.close(fd)
    except OSError as e:
        safe = sum(r.done for r in latest_by_cell(read_records(run_dir / RESULTS_FILE)).values())
        raise write_failure(run_dir / BATCHES_FILE, e, safe_cells=safe) from e


def _event(obj: Any) -> dict[str, Any]:
    from evals.store.record import parse_batch_event

    return parse_batch_event(obj).to_json()  # validated against the line schema; the keys as written


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    """The events of ``batches.jsonl`` in order; damaged lines (a torn last one) are skipped under the
    results' rule (:func:`evals.store.results.scan_jsonl`)."""
    from evals.store.results import scan_jsonl

    return [line.value for line in scan_jsonl(run_dir / BATCHES_FILE, _event) if line.value is not None]


def unconfirmed_submissions(run_dir: Path) -> list[dict[str, Any]]:
    """``submitting`` events with no later ``submitted`` or ``abandoned`` event of the same token: the run
    stopped between asking the vendor and recording its answer."""
    open_: dict[str, dict[str, Any]] = {}
    for ev in read_events(run_dir):
        token = ev.get("token")
        if not isinstance(token, str):
            continue
        if ev.get("event") == "submitting":
            open_[token] = ev
        elif ev.get("event") in ("submitted", "abandoned"):
            open_.pop(token, None)
    return list(open_.values())


def pending_batches(run_dir: Path) -> list[dict[str, Any]]:
    """Submitted batches not yet collected, in submission order (each a ``submitted`` event)."""
    submitted: dict[str, dict[str, Any]] = {}
    for ev in read_events(run_dir):
        if ev.get("event") == "submitted" and isinstance(ev.get("handle"), dict):
            submitted[str(ev["handle"].get("batch_id"))] = ev
        elif ev.get("event") == "collected":
            submitted.pop(str(ev.get("batch_id")), None)
    return list(submitted.values())


class _BatchRun:
    def __init__(self, runner: RunSession, client: BatchClient, console: Console) -> None:
        self.runner = runner
        self.prep = runner.prep
        self.client = client
        self.console = console
        self.built: dict[str, Built] = {}
        self.cells: dict[str, Cell] = {c.cell_id: c for c in self.prep.cells}

    async def build(self, cells: list[Cell]) -> None:
        """Size and build ``cells`` (the synchronous runner's :meth:`Sizer.fit`)."""
        assert self.runner.sizer is not None
        for cell in cells:
            if cell.cell_id not in self.built:
                self.built[cell.cell_id] = await self.runner.sizer.fit(cell)

    async def submit(self, cells: list[Cell]) -> list[BatchHandle]:
        """Submit ``cells`` as few batches as the vendor's limits allow; record each handle at once."""
        from providers.batch import BatchRequest

        assert self.runner.sizer is not None and self.runner.provider is not None
        # the cache layout of this submission: the vendor answers it in about this order (best effort)
        self.runner.sizer.plan_cache(cells, self.runner.provider.limit_settings.concurrency, batch=True)
        await self.build(cells)
        requests = [BatchRequest(c.cell_id, self.built[c.cell_id].request) for c in cells]
        handles = []
        for chunk in self.client.split(requests):
            token = uuid.uuid4().hex
            ids = [br.custom_id for br in chunk]
            # Written before the vendor is asked: a run killed before it records the batch id finds the
            # batch by this token when it resumes (:meth:`reconcile`) instead of submitting again.
            append_event(
                self.prep.run_dir,
                {"event": "submitting", "token": token, "cell_ids": ids, "time": time.time()},
            )
            known = {
                str(e["handle"].get("batch_id")) for e in read_events(self.prep.run_dir) if e.get("handle")
            }
            (handle,) = await self.client.submit(chunk, token=token, exclude=known)
            # Written before any poll: a killed run resumes this batch instead of submitting again.
            append_event(
                self.prep.run_dir,
                {
                    "event": "submitted",
                    "token": token,
                    "handle": handle.to_dict(),
                    "cell_ids": list(handle.custom_ids),
                    "time": time.time(),
                },
            )
            say(self.console, f"submitted batch {handle.batch_id}: {len(handle.custom_ids)} cells")
            handles.append(handle)
        return handles

    async def reconcile(self) -> None:
        """Submissions a killed run began but did not record: adopt the batch the vendor made for each, or
        record that none was made (its cells are then submitted with the fresh ones)."""
        for ev in unconfirmed_submissions(self.prep.run_dir):
            token, ids = str(ev["token"]), [str(c) for c in ev.get("cell_ids", ())]
            known = {
                str(e["handle"].get("batch_id")) for e in read_events(self.prep.run_dir) if e.get("handle")
            }
            handle = await self.client.find(token, ids, float(ev.get("time") or 0.0), exclude=known)
            if handle is None:
                append_event(self.prep.run_dir, {"event": "abandoned", "token": token, "time": time.time()})
                say(self.console, f"an interrupted submission of {len(ids)} cells never reached the vendor")
                continue
            append_event(
                self.prep.run_dir,
                {
                    "event": "submitted",
                    "token": token,
                    "handle": handle.to_dict(),
                    "cell_ids": ids,
                    "time": time.time(),
                    "adopted": True,
                },
            )
            say(
                self.console,
                f"found batch {handle.batch_id}, submitted before an interruption: {len(ids)} cells",
            )

    async def collect(self, handle: BatchHandle) -> None:
        """Wait for one batch, then append a record for each of its cells not yet done."""
        poll = 0
        while True:
            st = await self.client.status(handle)
            poll += 1
            counts = ", ".join(f"{k} {v}" for k, v in st.counts.items() if v)
            say(
                self.console,
                f"batch {handle.batch_id}: {st.state} ({st.vendor_state}){': ' + counts if counts else ''}"
                f" [poll {poll}]",
            )
            if st.done:
                break
            await asyncio.sleep(self.prep.cfg.batch_poll)
        ids = [cid for cid in handle.custom_ids if cid in self.cells]
        await self.build([self.cells[cid] for cid in ids])
        requests = {cid: self.built[cid].request for cid in ids}
        outcomes = await self.client.results(handle, requests)
        done = self.prep.store.done_ids()
        for cid in ids:
            if cid in done or cid not in outcomes:
                continue
            rec = await self.runner.record(
                self.cells[cid], self.built[cid], outcomes[cid], batch_id=handle.batch_id
            )
            if rec is not None:
                self.runner.save(rec)
        append_event(
            self.prep.run_dir, {"event": "collected", "batch_id": handle.batch_id, "time": time.time()}
        )


async def execute_batch(
    prep: PreparedRun,
    console: Console,
    *,
    verbose: bool = False,
    rounds: Callable[[], Sequence[Cell]] | None = None,
    sampling: dict[str, Any] | None = None,
) -> RunOutcome:
    """Run the todo cells through the vendor's batch API (see the module docstring).

    With ``rounds`` (``--adaptive --batch``) each round is one submission (split only at vendor limits):
    once a round's batches are collected, ``rounds()`` reads the store and returns the next round's cells
    (none: the samplers are settled), until ``--max-cost`` is spent or the run is stopped. A resumed run
    first collects the batches a killed one submitted; the sampler, deterministic, then asks for the same
    round again, whose cells are done or in flight, so nothing is submitted twice.

    Args:
        prep: From :func:`evals.planning.prepare.prepare` with ``cfg.batch`` (not a dry run).
        console: Where progress lines go (one per poll).
        verbose: Print retries.
        rounds: Adaptive sampling: the next round's cells (see :mod:`evals.execution.adaptive`).
        sampling: The header's ``sampling``, for a new run directory.

    Returns:
        The :class:`RunOutcome`.

    Raises:
        providers.batch.BatchUnsupportedError: The provider has no batch API (before anything is written).
        EvalError, providers.errors.ConfigError, haystacks.errors.HaystackError: Setup failures.
    """
    from providers.batch import BatchHandle
    from providers.doors import batch_client

    async with session(prep, console, verbose=verbose) as runner:
        assert runner.provider is not None
        client = batch_client(runner.provider)  # refuses before the header is written
        await runner.open(sampling)
        run = _BatchRun(runner, client, console)
        await run.reconcile()
        pending = pending_batches(prep.run_dir)
        in_flight = {cid for ev in pending for cid in ev.get("cell_ids", ())}
        if pending:
            say(console, f"resuming {len(pending)} submitted batch(es): {len(in_flight)} cells")
        handles = [BatchHandle.from_dict(ev["handle"]) for ev in pending]
        todo: Sequence[Cell] = prep.todo
        budget = prep.cfg.max_cost
        while True:
            done = prep.store.done_ids()
            fresh = [c for c in todo if c.cell_id not in in_flight and c.cell_id not in done]
            over = bool(fresh) and rounds is not None and budget is not None
            if over and _over_budget(prep, fresh, budget):  # type: ignore[arg-type]
                # a round goes out whole: it is not sent when its bound could pass the budget
                runner.outcome.budget_stopped = True
                say(console, f"--max-cost: the next round ({len(fresh)} cells) could pass the budget")
                fresh = []
            if fresh and not runner.stop:
                handles += await run.submit(fresh)
            for handle in handles:
                await run.collect(handle)
                if runner.stop:
                    break
            if rounds is None or runner.stop or runner.outcome.budget_stopped:
                break
            if budget is not None and prep.store.spent >= budget:
                runner.outcome.budget_stopped = True
                break
            handles, in_flight = [], set()
            todo = rounds()
            if not todo:
                break
    return runner.outcome


def _over_budget(prep: PreparedRun, cells: list[Cell], budget: float) -> bool:
    """Whether the spend so far plus the round's bound (:func:`evals.planning.budget_bound` of its batch
    estimate: the worst case for a batch with breakpoints) passes ``budget``."""
    from evals.planning.prepare import budget_bound, plan_estimate

    est = plan_estimate(cells, prep.info, prep.cfg)
    if est.cost_usd is None:
        return False
    return prep.store.spent + budget_bound(est)[0] > budget
