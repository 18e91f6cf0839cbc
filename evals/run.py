"""``python -m evals.run``: run a needle-in-a-haystack grid on one model, resumably.

Pipeline: options/config → validated :class:`~evals.config.RunConfig` → plan (grid, prefix-sharing order,
cost estimate; nothing is called) → provider + tokenizer → for each cell not yet done: build the haystack
sized to the requested *prompt* length, call the model, score, append one JSONL record → summary table,
summary.json, reports.

Exit codes: 0 every cell done; 1 some cells ended ``error`` (rerun the same command to retry them) or a fatal
provider error (bad key, unknown model id, no credit); 2 bad input (nothing written), or the run directory is
in use by another invocation (:mod:`evals.execution.lock`); 3 stopped at ``--max-cost``; 4 the run directory
could not be written (full disk, quota, read-only file system, permissions: what was recorded is whole and
kept, rerun once fixed); 130 interrupted.

One invocation at a time per run directory: the lock is taken here, once planning has passed and before
anything is written or called, and held to the end (cells, batch polling, adaptive rounds, judge, summary,
reports).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from evals.config import (
    DEFAULT_DEPTHS,
    DEFAULT_LENGTHS,
    RunConfig,
    add_run_options,
    build_config,
    load_config_file,
)
from evals.errors import ConfigFileError, EvalError, ResultsWriteError
from evals.execution import RunLock, RunOutcome, execute, say
from evals.execution.adaptive import describe, stop_reason
from evals.execution.lock import Holder
from evals.planning import PreparedRun, prepare, print_plan
from evals.reporting.summary import print_summary, summarize
from evals.store import write_json_atomic
from evals.store.results import HEADER_FILE, RESULTS_FILE, SUMMARY_FILE, write_failure

if TYPE_CHECKING:
    from rich.console import Console

    from evals.execution.adaptive import AdaptiveRun

__all__ = ["build_parser", "config_from_args", "main"]

EXIT_OK, EXIT_CELL_ERRORS, EXIT_USAGE, EXIT_BUDGET, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: The run directory could not be written (ENOSPC, EDQUOT, EROFS, EACCES...): recorded cells are kept whole.
EXIT_WRITE = 4

# ------------------------------------------------------------------------------------------------ CLI


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line (``error: ...``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see --help)\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m evals.run`` argument parser (every default is None: only given flags override)."""
    p = _Parser(
        prog="python -m evals.run",
        description=(
            "Run a needle-in-a-haystack grid (context length x needle depth x seeds) on one model and write "
            "resumable results. With no options: the embedded local model (gemma-3-270m), task 'single', "
            f"lengths {','.join(map(str, DEFAULT_LENGTHS))}, "
            f"depths {','.join(f'{d:g}' for d in DEFAULT_DEPTHS)}, "
            "one seed. Re-running the same command resumes: finished cells are skipped, errored ones retried."
        ),
        epilog=(
            "Lists: '1000,2000,4000', ranges 'START:STOP:N' (N evenly spaced points) or 'START-STOP/STEP'. "
            "A config file (--config) holds the same keys as the long options ('max-tokens' or "
            "'max_tokens'); "
            "options given on the command line win. Exit codes: 0 done, 1 cells ended in error (rerun to "
            "retry), 2 bad input or the run directory in use by another run, 3 stopped at --max-cost, 4 "
            "the run directory could not be written (disk full, quota, read-only, permissions; rerun once "
            "fixed), 130 interrupted."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    def custom_needles_options(g: Any) -> None:
        g.add_argument(
            "--needle", action="append", default=None, help="custom task: a needle sentence (repeatable)"
        )
        g.add_argument(
            "--question", action="append", default=None, help="custom task: its question (repeatable)"
        )
        g.add_argument("--answer", action="append", default=None, help="custom task: its answer (repeatable)")
        g.add_argument(
            "--needles-file",
            default=None,
            help="custom task: needles as TOML [[needle]] tables or JSONL rows",
        )

    def wait_option(g: Any) -> None:
        g.add_argument(
            "--wait",
            action="store_true",
            default=False,
            help="the run directory is in use by another invocation: wait for it to finish (then resume what "
            "is left) instead of refusing",
        )

    # the run's options are declared once, with their RunConfig fields (evals.config.Flag)
    add_run_options(p, after={"haystack": custom_needles_options, "no_report": wait_option})
    p.add_argument(
        "--config", "-c", default=None, help="TOML or JSON file with the same keys as the long options"
    )
    p.add_argument("--verbose", "-v", action="store_true", help="print each retry as it happens")
    return p


_NOT_CONFIG = {"config", "verbose", "needle", "question", "answer", "needles_file", "wait"}


def config_from_args(argv: Sequence[str] | None) -> tuple[RunConfig, argparse.Namespace]:
    """Parse ``argv`` and merge it over the config file.

    Args:
        argv: Command-line arguments (without the program name); None reads ``sys.argv``.

    Returns:
        The validated config and the raw namespace (for non-config flags such as ``--order``).

    Raises:
        ConfigFileError: Unreadable or invalid config file or options.
        SystemExit: argparse usage errors (exit code 2, one line).
    """
    from haystacks.errors import HaystackError
    from haystacks.tasks.custom import custom_needles

    ns = build_parser().parse_args(argv)
    flags = {k: v for k, v in vars(ns).items() if v is not None and k not in _NOT_CONFIG}
    if ns.needle or ns.question or ns.answer or ns.needles_file:
        try:
            flags["needles"] = custom_needles(
                ns.needle or (), ns.question or (), ns.answer or (), ns.needles_file
            )
        except HaystackError as e:
            raise ConfigFileError(f"options: {e}") from e
        flags.setdefault("tasks", "custom")
    file_values = load_config_file(Path(ns.config)) if ns.config else None
    return build_config(file_values, flags, source=ns.config or ""), ns


def _reports(run_dir: Path, console: Console, threshold: float) -> None:
    try:
        from evals.reporting import generate_reports, stderr_warnings
    except ImportError as e:
        say(console, f"warning: reports not built (evals.reporting unavailable: {e})", "yellow")
        return
    try:
        with stderr_warnings():
            paths = generate_reports([run_dir], threshold=threshold)
    except Exception as e:
        say(
            console,
            f"warning: reports not built ({type(e).__name__}: {e}); results are in {run_dir}",
            "yellow",
        )
        return
    if paths:
        say(console, f"reports: {', '.join(str(p) for p in paths[:4])}{' ...' if len(paths) > 4 else ''}")


# ---------------------------------------------------------------------------------------------- main


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    sys.stderr.write(f"error: {' '.join(str(message).split())}\n")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m evals.run``.

    Args:
        argv: Arguments without the program name (None: ``sys.argv[1:]``).

    Returns:
        The exit code (see the module docstring).
    """
    from rich.console import Console

    from haystacks.errors import HaystackError
    from providers.errors import ConfigError

    err = Console(stderr=True)
    out = Console()
    # Redirected to a file or a pipe: wide enough that tables and paths are not cut at 80 columns.
    if not err.is_terminal:
        err = Console(stderr=True, width=160)
    if not out.is_terminal:
        out = Console(width=160)
    try:
        cfg, ns = config_from_args(argv)
        prep = prepare(cfg)
    except (EvalError, ConfigError, HaystackError) as e:
        return _fail(str(e))
    if cfg.batch:
        from providers.doors import door_for

        if door_for(prep.info).capabilities(prep.info).batch is None:
            return _fail(
                f"--batch: {prep.info.alias} ({prep.info.provider}) has no batch API; run without --batch"
            )
        if cfg.base_url is not None and "," in cfg.base_url:
            return _fail("--batch: give one --base-url (a batch is submitted to one endpoint)")
    if cfg.compare_with is not None and not cfg.dry_run:
        return _fail("--compare-with goes with --dry-run (the report compares finished runs)")
    if cfg.dry_run:
        print_plan(prep, out)
        if cfg.compare_with is not None:
            return _print_guidance(prep, Path(cfg.compare_with), out)
        return EXIT_OK
    return _locked(cfg, ns, prep, err)


def _dir_state(run_dir: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """What a resume read from a run directory: size, mtime and inode of its header and results."""
    out = []
    for name in (HEADER_FILE, RESULTS_FILE):
        try:
            st = (run_dir / name).stat()
        except OSError:
            out.append(None)
            continue
        out.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def _locked(cfg: RunConfig, ns: argparse.Namespace, prep: PreparedRun, err: Console) -> int:
    """Take the run directory's lock (refuse, or wait with ``--wait``), then run; release at the end."""
    from haystacks.errors import HaystackError
    from providers.errors import ConfigError

    state = _dir_state(prep.run_dir)
    lock = RunLock(prep.run_dir)
    waited: list[Holder | None] = []

    def on_wait(holder: Holder | None) -> None:
        waited.append(holder)
        who = holder.describe() if holder is not None else "another invocation"
        say(err, f"{prep.run_dir} is in use by {who}; waiting for it (--wait)")

    try:
        lock.acquire(wait=ns.wait, on_wait=on_wait)
    except EvalError as e:  # RunLockedError: in use
        return _fail(str(e))
    except KeyboardInterrupt:
        lock.release()
        sys.stderr.write(f"interrupted while waiting for {prep.run_dir}; nothing was run\n")
        return EXIT_INTERRUPTED
    except OSError as e:
        return _fail(
            f"cannot take the lock of {prep.run_dir}: {e.strerror or e}; nothing was written; fix the cause "
            "(disk full, read-only, permissions) and rerun",
            EXIT_WRITE,
        )
    try:
        if lock.took_over is not None:
            gone = lock.took_over.describe()
            say(err, f"took over the lock of {prep.run_dir} left by {gone}, which is no longer running")
        if waited or _dir_state(prep.run_dir) != state:
            # another invocation wrote here since this one read the directory: read it again
            try:
                prep = prepare(cfg)
            except (EvalError, ConfigError, HaystackError) as e:
                return _fail(str(e))
        prep.store.guard = lock.check
        try:
            return _run(cfg, ns, prep, err)
        except ResultsWriteError as e:
            return _fail(str(e), EXIT_WRITE)
        except EvalError as e:  # LockLostError
            return _fail(str(e))
    finally:
        lock.release()


def _run(cfg: RunConfig, ns: argparse.Namespace, prep: PreparedRun, err: Console) -> int:
    """The run itself, under the lock (see :func:`main`)."""
    from haystacks.errors import HaystackError
    from providers.errors import ConfigError, ProviderError

    adaptive = None
    if cfg.adaptive:
        from evals.execution.adaptive import AdaptiveRun

        adaptive = AdaptiveRun(prep)
        if cfg.max_cost is not None and prep.spent_before >= cfg.max_cost and prep.todo:
            return _fail(
                f"--max-cost ${cfg.max_cost:.4f} is already spent (${prep.spent_before:.4f}); "
                "rerun with a higher --max-cost to continue sampling",
                EXIT_BUDGET,
            )
        prep = adaptive.first_round()
        if not prep.todo:
            say(err, f"adaptive sampling of {prep.run_dir} is settled; nothing to run")
    else:
        from evals.execution.adaptive import full_grid_sampling

        full_grid_sampling(prep.run_dir)
    if not prep.todo and adaptive is None:
        say(err, f"all {len(prep.cells)} cells of {prep.run_dir} are done; nothing to run")
    elif prep.done:
        say(
            err,
            f"resuming {prep.run_dir}: {prep.done} of {len(prep.cells)} cells done, {len(prep.todo)} to run",
        )
    if prep.todo:
        est = prep.estimate
        cost = (
            ""
            if est.cost_usd is None
            else f", estimated cost ${est.cost_usd:.4f} (cached ${est.cost_cached_usd:.4f})"
            + (" at batch prices" if cfg.batch else "")
        )
        what = f"{prep.info.alias}: {len(prep.todo)} cells, {est.prompt_tokens:,} prompt tokens"
        if adaptive is not None:
            what = (
                f"{prep.info.alias}: adaptive sampling of {len(prep.cells)} candidate cells "
                f"({prep.done} done), first round {len(prep.todo)}"
            )
            cost = "" if est.cost_usd is None else f", at most ${est.cost_usd:.4f} (full grid)"
        say(err, f"{what}{cost} -> {prep.run_dir}")

    outcome = RunOutcome()
    if prep.judge_todo:
        say(err, f"judging {len(prep.judge_todo)} graded cells of {prep.run_dir} with {cfg.judge}")
    if prep.todo or prep.judge_todo:
        loop = asyncio.new_event_loop()
        main_task = loop.create_task(execute(prep, err, verbose=ns.verbose, adaptive=adaptive))
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, main_task.cancel)
            # Ctrl-C cancels the run like SIGTERM: never a KeyboardInterrupt inside the loop's own I/O
            loop.add_signal_handler(signal.SIGINT, main_task.cancel)
        try:
            outcome = loop.run_until_complete(main_task)
        except KeyboardInterrupt:
            main_task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(main_task)
            return _interrupted(prep, adaptive)
        except asyncio.CancelledError:
            return _interrupted(prep, adaptive)
        except ResultsWriteError as e:
            return _fail(str(e), EXIT_WRITE)
        except (EvalError, ConfigError, HaystackError) as e:
            return _fail(str(e))
        except ProviderError as e:
            return _fail(str(e), EXIT_CELL_ERRORS)
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    if adaptive is not None:
        adaptive.write(stop_reason(outcome.budget_stopped, outcome.fatal))
        for line in describe(adaptive.statuses()):
            say(err, line)
    if not (prep.run_dir / RESULTS_FILE).exists():
        if outcome.budget_stopped:  # a batch round refused before anything was sent
            return _fail(
                f"stopped at --max-cost ${cfg.max_cost:.4f}: the next round could pass it", EXIT_BUDGET
            )
        return _fail(outcome.fatal, EXIT_CELL_ERRORS) if outcome.fatal else EXIT_OK
    summary = summarize(prep.run_dir)
    summary["run_identity"] = prep.identity
    try:
        write_json_atomic(prep.run_dir / SUMMARY_FILE, summary)
    except OSError as e:
        raise write_failure(prep.run_dir / SUMMARY_FILE, e, safe_cells=len(prep.store.done_ids())) from e
    print_summary(summary, prep, outcome, err)
    if not cfg.no_report:
        _reports(prep.run_dir, err, cfg.threshold)
    if outcome.fatal:
        return _fail(f"{outcome.fatal} — stopped; finished cells are kept, rerun to resume", EXIT_CELL_ERRORS)
    if outcome.budget_stopped:
        return _fail(
            f"stopped at --max-cost ${cfg.max_cost:.4f} "
            f"(spent ${prep.spent_before + outcome.spent_usd:.4f}); "
            "rerun with a higher --max-cost to continue",
            EXIT_BUDGET,
        )
    if summary["counts"].get("error", 0):
        n = summary["counts"]["error"]
        say(err, f"{n} cell(s) ended in error; rerun the same command to retry them", "yellow")
        return EXIT_CELL_ERRORS
    return EXIT_OK


def _print_guidance(prep: PreparedRun, run_dir: Path, console: Console) -> int:
    """``--dry-run --compare-with``: seeds needed to tell this model from a finished run's, per task."""
    from evals.reporting.data import guidance_against
    from evals.store import is_run_dir

    if not is_run_dir(run_dir):
        return _fail(f"--compare-with {run_dir}: not a run directory (no results.jsonl)")
    cells_per_seed = len(prep.grid.lengths) * len(prep.grid.depths)
    planned = len(prep.grid.seeds)
    for task in prep.grid.tasks:
        g = guidance_against(run_dir, task, cells_per_seed)
        if g is None:
            say(console, f"compare with {run_dir}: no scored {task} cells there; no guidance")
            continue
        needs = ", ".join(
            f"{x['diff'] * 100:.0f} points: {x['seeds'] if x['seeds'] is not None else 'n/a'} seed(s)"
            for x in g["seeds"]
        )
        say(
            console,
            f"compare {task} with {g['model']} (recall {g['recall']:.3f} on {g['seeds_there']} seed(s), "
            f"within-seed correlation {g['icc']:.2f}; {cells_per_seed} cells per seed): --repeats to detect "
            f"a recall difference of {needs} (paired, two-sided 5%, 80% power; independent answers assumed, "
            f"so an upper bound); this plan has {planned}",
        )
    return EXIT_OK


def _interrupted(prep: PreparedRun, adaptive: AdaptiveRun | None = None) -> int:
    if adaptive is not None:
        with contextlib.suppress(OSError, EvalError):
            adaptive.write(stop_reason(False, None, interrupted=True))
    sys.stderr.write(
        f"interrupted: finished cells are saved in {prep.run_dir}; rerun the same command to resume\n"
    )
    return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
