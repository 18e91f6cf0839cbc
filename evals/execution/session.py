"""One run session: the provider and sizer of a prepared run, and the one path from a call to a record.

A :class:`RunSession` is what every way of executing a run shares (synchronous cells, :mod:`.cells`; vendor
batches, :mod:`.batch`; adaptive rounds through either): it starts the provider and the
:class:`~evals.execution.sizing.Sizer`, writes the header (:meth:`RunSession.open`), builds each cell's
prompt, turns a call's outcome into a typed :class:`~evals.store.record.ResultRecord`
(:meth:`RunSession.record`: the task's grade, the judge, the price from the model's door) and appends it
(:meth:`RunSession.save`).
:func:`session` opens one for the length of an ``async with`` and closes the store and the providers after.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.errors import EvalError, OutputDirError
from evals.execution.provenance import build_header, now_utc
from evals.execution.sizing import Built, Sizer
from evals.grading.judge import judge_answer
from evals.grading.score import read_answer
from evals.planning.grid import Cell, check_window
from evals.planning.prepare import PreparedRun
from evals.store.record import JudgeResult, NeedleRecord, ResultRecord, UsageRecord
from evals.store.results import HEADER_FILE, RESULTS_FILE, SUMMARY_FILE, read_header
from providers.doors import call_cost

if TYPE_CHECKING:
    from rich.console import Console

    from providers.base import GenerateResult, Provider
    from providers.errors import ProviderError

__all__ = ["RunOutcome", "RunSession", "say", "session"]


def say(console: Console, text: str, style: str | None = None) -> None:
    """Print one message line: no markup, no wrapping (log files keep it on one line)."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


class _RetryCounter(logging.Handler):
    """Counts the provider layer's retries (logged at INFO) for the progress bar; --verbose prints them."""

    def __init__(self, verbose: bool, console: Console) -> None:
        super().__init__(logging.INFO)
        self.count = 0
        self.verbose = verbose
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "retry" in message:
            self.count += 1
        if self.verbose or record.levelno >= logging.WARNING:
            say(self.console, message, "dim")


@contextlib.contextmanager
def _provider_logging(verbose: bool, console: Console) -> Iterator[_RetryCounter]:
    logger = logging.getLogger("providers")
    handler = _RetryCounter(verbose, console)
    old_propagate, old_level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = old_propagate, old_level


@dataclass
class RunOutcome:
    """What one invocation did.

    Attributes:
        ran: Cells attempted in this invocation.
        ok: Of those, ended ``ok``.
        errors: Ended ``error``.
        model_length: Ended ``model_length``.
        truncated: Ended ``truncated`` (the answer was cut at its token budget).
        spent_usd: USD spent in this invocation (model + judge), where priced.
        budget_stopped: Stopped early at ``--max-cost``.
        fatal: A fatal provider error message (bad key, unknown model id, no credit), or None.
        wall_s: Seconds the run took.
        retries: Provider retries in this invocation.
        served_models: The model ids the provider reported answering, with counts.
    """

    ran: int = 0
    ok: int = 0
    errors: int = 0
    model_length: int = 0
    truncated: int = 0
    spent_usd: float = 0.0
    budget_stopped: bool = False
    fatal: str | None = None
    wall_s: float = 0.0
    retries: int = 0
    served_models: dict[str, int] | None = None


class RunSession:
    """The provider, sizer and record path of one invocation of a prepared run (see the module docstring)."""

    def __init__(self, prep: PreparedRun, console: Console, verbose: bool = False) -> None:
        self.prep = prep
        self.cfg = prep.cfg
        self.console = console
        self.verbose = verbose
        self.provider: Provider | None = None
        self.judge: Provider | None = None
        self.sizer: Sizer | None = None
        self.outcome = RunOutcome(served_models={})
        self.stop = False
        self.failure: EvalError | None = None
        self._retries: _RetryCounter | None = None

    # -- setup

    async def start(self) -> None:
        """Start the provider (and the judge), check the window it serves, and start the sizer; nothing is
        written (:func:`session` calls this)."""
        from providers.doors.local.adapter import serve_window
        from providers.registry import create_provider

        info, cfg = self.prep.info, self.cfg
        longest_answer = max(c.max_tokens for c in self.prep.cells)
        self.provider = create_provider(
            info,
            concurrency=cfg.concurrency,
            rpm=cfg.rpm,
            tpm=cfg.tpm,
            base_url=cfg.base_url,
            n_ctx=serve_window(info, max(self.prep.grid.lengths) + longest_answer, cfg.allow_beyond_window)
            if cfg.base_url is None
            else None,
            mode=None if cfg.style == "auto" else cfg.style,
            retry=_retry_policy(cfg),
            timeout_s=cfg.timeout,
        )
        served = self.provider.info
        # A discovered window (compatible servers) is known only now: check again before writing anything.
        check_window(
            self.prep.grid,
            served.context_window or None,
            longest_answer,
            served.alias,
            cfg.allow_beyond_window,
        )
        if self.prep.judge_info is not None:
            self.judge = create_provider(self.prep.judge_info)
        self.sizer = await Sizer.create(self.provider, self.prep, use_count_api=cfg.count_api)

    async def open(self, sampling: dict[str, Any] | None = None) -> None:
        """Check the lengths the sizer will build, then (only then) write the header of a new run directory.

        Args:
            sampling: The header's ``sampling`` (how the grid is sampled).

        Raises:
            EvalError, providers.errors.ConfigError, haystacks.errors.HaystackError: Setup failures; nothing
                has been written when these are raised.
        """
        assert self.provider is not None and self.sizer is not None
        await asyncio.to_thread(self.sizer.validate_lengths, self.prep.todo)
        await self.sizer.prewarm(self.prep.todo)
        if self.prep.supersede:
            old = _supersede(self.prep.run_dir)
            say(self.console, f"moved the previous run's results to {old}", "yellow")
        if not self.prep.existing or read_header(self.prep.run_dir) is None:
            header = build_header(
                self.prep,
                self.provider.info,
                self.sizer.tokenizer_name,
                self.sizer.exact,
                **self.sizer.header_facts(),
                served_window=self.provider.info.context_window,
                sampling=sampling,
            )
            try:
                self.prep.store.write_header(header)
            except OSError as e:
                raise OutputDirError(f"cannot write to {self.prep.run_dir}: {e.strerror or e}") from e

    @property
    def retries(self) -> int:
        """Provider retries so far in this session."""
        return self._retries.count if self._retries is not None else 0

    # -- one cell

    def build(self, cell: Cell, context_length: int | None = None) -> Built:
        """Build a cell's haystack, prompt and request (CPU/tokenizer work; runs in a thread)."""
        assert self.sizer is not None
        return self.sizer.build(cell, context_length)

    async def run_cell(self, cell: Cell, built: Built) -> ResultRecord | None:
        """Call the model for one cell and turn the outcome into a record (None: fatal, the run stops)."""
        from providers.errors import ProviderError

        assert self.provider is not None
        outcome: GenerateResult | ProviderError
        try:
            outcome = await self.provider.generate(built.request)
        except ProviderError as e:
            outcome = e
        return await self.record(cell, built, outcome)

    async def record(
        self,
        cell: Cell,
        built: Built,
        outcome: GenerateResult | ProviderError,
        *,
        batch_id: str | None = None,
    ) -> ResultRecord | None:
        """Turn a cell's call outcome into its record: the one path of synchronous and batched cells.

        Args:
            cell: The cell.
            built: What was sent.
            outcome: The provider's result, or the classified error of the call.
            batch_id: The vendor batch it went through (priced at the batch rate), None when synchronous.

        Returns:
            The record, or None for a fatal error (bad key, unknown model, no credit: the run stops).
        """
        from providers.base import StopReason
        from providers.errors import AuthError, NotFoundError, ProviderError, QuotaExceededError

        base = self._base_record(cell, built) | {"batch_id": batch_id}
        if isinstance(outcome, AuthError | QuotaExceededError | NotFoundError):
            self.outcome.fatal = str(outcome)
            self.stop = True
            return None
        if isinstance(outcome, ProviderError):
            return ResultRecord(
                **base,
                status="error",
                error=str(outcome),
                error_type=type(outcome).__name__,
                attempts=outcome.attempts,
                prompt_tokens=built.counted,
                prompt_tokens_source="tokenizer",
            )
        res = outcome
        result = self._result_fields(res, built, batch=batch_id is not None)
        if res.stop_reason == StopReason.MODEL_LENGTH:
            return ResultRecord(**(base | result), status="model_length")
        reading = read_answer(res.text, built.key, style=self.prep.style, cut=was_cut(res))
        scored, grade = reading.scored, reading.grade
        status = "truncated" if reading.truncated else "ok"
        judge = None
        if self.judge is not None and status == "ok":
            assert self.prep.judge_info is not None
            judge = JudgeResult(**await judge_answer(self.judge, self.prep.judge_info, built.key, scored))
        return ResultRecord(
            **(base | result),
            status=status,
            scored_answer=scored,
            score=grade.score if status == "ok" else None,
            outcome=grade.outcome if status == "ok" else "truncated",
            score_detail=grade.detail(),
            judge=judge,
        )

    def _base_record(self, cell: Cell, built: Built) -> dict[str, Any]:
        hay = built.haystack
        return {
            "cell_id": cell.cell_id,
            "run_identity": self.prep.identity,
            **cell.identity(),
            "provider": self.prep.info.provider,
            "needles": [NeedleRecord.of(n) for n in hay.needles] if hay is not None else [],
            "distractors": [NeedleRecord.of(n) for n in hay.distractors] if hay is not None else [],
            "question": built.key.question,
            "expected": [f.answer for f in built.key.expected],
            "answer_key": built.key,
            "task_params": dict(built.spec.params) | _variant(built.spec),
            "target_tokens": cell.length if cell.kind == "cell" else None,
            "context_tokens": hay.context_tokens if hay is not None else 0,
            "prompt_tokens_counted": built.counted,
            "tokens_exact": built.exact,
            "tokens_note": built.note,
            "input_sha256": hashlib.sha256(built.request.text.encode("utf-8")).hexdigest(),
            "max_tokens": built.request.max_tokens,
        }

    def _result_fields(self, res: GenerateResult, built: Built, *, batch: bool = False) -> dict[str, Any]:
        reported = res.usage.input_tokens
        timings = None
        if res.server_timings:
            keep = ("prompt_n", "cache_n", "prompt_ms", "predicted_n", "predicted_ms")
            timings = {k: res.server_timings[k] for k in keep if k in res.server_timings}
        model_id = res.model or None
        if model_id:
            served = self.outcome.served_models
            assert served is not None
            served[model_id] = served.get(model_id, 0) + 1
        exact = built.exact
        note = built.note
        if exact and reported is not None and built.target is not None and reported != built.target:
            exact, note = False, f"the provider counted {reported} prompt tokens, {built.target} were planned"
        return {
            "stop_reason": res.stop_reason.value,
            "answer": res.text,
            "prompt_tokens": reported if reported is not None else built.counted,
            "prompt_tokens_source": "provider" if reported is not None else "tokenizer",
            "tokens_exact": exact,
            "tokens_note": note,
            "latency_s": round(res.latency_s, 4),
            "attempts": res.attempts,
            "usage": UsageRecord(**res.usage.to_dict()),
            "timings": timings,
            "cost_usd": call_cost(res.usage, self.prep.info, batch=batch),
            "model_id": model_id,
        }

    def save(self, rec: ResultRecord) -> ResultRecord:
        """Stamp, append (fsynced) and count one finished record."""
        rec = rec.model_copy(update={"timestamp": now_utc()})
        self.prep.store.append(rec)
        self.outcome.ran += 1
        counter = {"ok": "ok", "error": "errors", "model_length": "model_length"}
        attr = counter.get(rec.status, "truncated")
        setattr(self.outcome, attr, getattr(self.outcome, attr) + 1)
        self.outcome.spent_usd += rec.spend
        return rec

    async def judge_done(self, progress_cb: Any) -> None:
        """Grade with the judge the cells a previous invocation graded without one (appended as new lines)."""
        if self.judge is None or not self.prep.judge_todo:
            return
        assert self.prep.judge_info is not None
        sem = asyncio.Semaphore(self.judge.limit_settings.concurrency)

        async def one(rec: ResultRecord) -> None:
            async with sem:
                key = rec.answer_key  # judge_todo holds records with a key
                verdict = await judge_answer(self.judge, self.prep.judge_info, key, rec.scored_answer or "")
            judged = rec.model_copy(update={"judge": JudgeResult(**verdict), "timestamp": now_utc()})
            self.prep.store.append(judged)
            self.outcome.spent_usd += judged.spend - rec.spend
            progress_cb(judged)

        await asyncio.gather(*(one(r) for r in self.prep.judge_todo))

    async def close(self) -> None:
        if self.sizer is not None:
            with contextlib.suppress(Exception):
                await self.sizer.aclose()
        for p in (self.provider, self.judge):
            if p is not None:
                with contextlib.suppress(Exception):
                    await p.aclose()


def was_cut(res: GenerateResult) -> bool:
    """Whether the budget cut an answer (the provider's ``TRUNCATED``; ``MAX_TOKENS`` in older adapters).

    :func:`haystacks.tasks.grade_answer` then decides: cut before it committed to anything → ``truncated``,
    not scored; cut after → graded on what it committed (a base model's answer line followed by more
    text is such an answer); an answer emptied by hidden reasoning committed to nothing.
    """
    from providers.base import StopReason

    return res.stop_reason in {StopReason.MAX_TOKENS, getattr(StopReason, "TRUNCATED", StopReason.MAX_TOKENS)}


def _variant(spec: Any) -> dict[str, Any]:
    """The spec's variant fields a record keeps (what the options made of this task's cells)."""
    out: dict[str, Any] = {}
    if spec.n_needles != 1:
        out["n_needles"] = spec.n_needles
    if spec.n_distractors:
        out["n_distractors"] = spec.n_distractors
    if spec.params:
        out = {k: v for k, v in spec.params if k != "needles"} | out
    return out


def _retry_policy(cfg: Any) -> Any:
    """The retry policy from --max-attempts/--backoff/--timeout (None: the providers' default)."""
    from providers.base import retry_policy

    return retry_policy(max_attempts=cfg.max_attempts, backoff_s=cfg.backoff, timeout_s=cfg.timeout)


def _supersede(run_dir: Path) -> Path:
    """Move a different run's header and results into ``run_dir/superseded-<time>/`` (``--force``)."""
    dest = run_dir / f"superseded-{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
    dest.mkdir(parents=True, exist_ok=False)
    for name in (HEADER_FILE, RESULTS_FILE, SUMMARY_FILE):
        src = run_dir / name
        if src.exists():
            src.rename(dest / name)
    return dest


@contextlib.asynccontextmanager
async def session(prep: PreparedRun, console: Console, *, verbose: bool = False) -> AsyncIterator[RunSession]:
    """A started :class:`RunSession` for the length of an ``async with`` (nothing written yet: the caller
    calls :meth:`RunSession.open` once it has checked what it must); on the way out the store and the
    providers are closed, and the outcome gets its retries and wall time.

    Raises:
        EvalError, providers.errors.ConfigError, haystacks.errors.HaystackError: Setup failures; nothing
            has been written when these are raised.
    """
    t0 = time.monotonic()
    run = RunSession(prep, console, verbose)
    with _provider_logging(verbose, console) as retries:
        run._retries = retries
        try:
            await run.start()
            yield run
        finally:
            prep.store.close()
            await run.close()
        run.outcome.retries = retries.count
    run.outcome.wall_s = time.monotonic() - t0
