"""Export run results as a Hugging Face ``datasets`` dataset (Parquet + dataset card) for sharing.

The export holds one row per cell (the record the reports use: the last non-error record per cell, see
:func:`evals.store.results.latest_by_cell`), or every attempt with ``all_records=True``. The columns are
:data:`evals.store.rows.COLUMNS`: the DataFrame's columns (:func:`evals.store.results.load`) first, then
nested fields flattened into typed columns (``needle_answers``, ``score_found``...) and the full nested values
as JSON strings (``needles_json``, ``score_detail_json``), so nothing is lost.

Layout of the output directory, loadable offline with ``datasets.load_dataset(str(out_dir))``::

    out_dir/README.md                               dataset card (YAML config + column list)
    out_dir/data/train-00000-of-00001.parquet       the rows

The directory is written atomically: built in a temporary sibling and renamed into place. An existing
export written by this function is replaced; any other non-empty directory is refused.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals import __version__
from evals.reporting.data import ReportError, final_records, load_runs, one_line, sourced_records
from evals.store import rows
from evals.store.results import expand_run_dirs
from evals.store.rows import export_row
from haystacks.files import place_dir

__all__ = ["export_results", "flatten_record"]

logger = logging.getLogger("evals.reporting")

MARKER = ".niah-export"
PARQUET_NAME = "train-00000-of-00001.parquet"

#: One record as a flat row with every column (values of the column types; see :mod:`evals.store.rows`).
flatten_record = export_row


def _features() -> Any:
    import datasets

    def feature(dtype: str) -> Any:
        if dtype.startswith("list:"):
            return datasets.List(datasets.Value(dtype[5:]))
        return datasets.Value(dtype)

    return datasets.Features({c.name: feature(c.dtype) for c in rows.COLUMNS})


def _card(n_rows: int, runs: Sequence[str], all_records: bool) -> str:
    lines = [
        "---",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        "    path: data/*.parquet",
        "tags:",
        "- long-context",
        "- needle-in-a-haystack",
        "---",
        "",
        "# Needle-in-a-haystack results",
        "",
        f"Exported by niah-suite {__version__} from {len(runs)} run(s): {', '.join(runs)}.",
        f"{n_rows} rows, {'every attempt' if all_records else 'one per cell (the record the reports use)'}.",
        "Errors, over-window prompts and truncated answers (`status` `error` / `model_length` / `truncated`)",
        "have a null `score`: exclude them from recall, never count them as wrong. Rows of `kind`",
        "`closed_book` asked the question with no text: report them apart, never pool them into recall.",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{c.name}` | {c.dtype} | {c.description} |" for c in rows.COLUMNS]
    return "\n".join(lines) + "\n"


def _place(tmp: Path, out_dir: Path) -> None:
    """Move the finished temporary directory to ``out_dir``, replacing a previous export (only one)."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ReportError(f"export target exists and is not a directory: {out_dir}")
        if any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
            raise ReportError(f"refusing to overwrite {out_dir}: not empty and not a previous dataset export")
    place_dir(tmp, out_dir)


def export_results(
    run_dirs: Sequence[Path], out_dir: Path, *, all_records: bool = False, log_warnings: bool = True
) -> Path:
    """Export the runs' records as a Parquet-backed Hugging Face dataset.

    Args:
        run_dirs: run directories (a directory of runs stands for its runs); damaged lines are skipped with
            the same warnings as the reports.
        out_dir: the dataset directory to write (created; a previous export there is replaced).
        all_records: every attempt instead of one record per cell.
        log_warnings: log loading warnings on the ``evals.reporting`` logger (off when the report already
        did).

    Returns:
        ``out_dir``.

    Raises:
        ReportError: no record to export, ``datasets`` missing, or ``out_dir`` unusable.
    """
    try:
        import datasets
    except ImportError as exc:
        raise ReportError("exporting needs the 'hf' extra: pip install 'niah-suite[hf]'") from exc
    runs = load_runs(expand_run_dirs([Path(p) for p in run_dirs]))
    if log_warnings:
        for run in runs:
            for w in run.warnings:
                logger.warning(w)
    every = sourced_records(runs)
    records = every if all_records else sorted(final_records(every), key=lambda s: (s.run, s.line))
    if not records:
        raise ReportError("nothing to export: no readable result record in " + ", ".join(map(str, run_dirs)))
    out_dir = Path(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise ReportError(f"cannot create {out_dir}: {one_line(exc)}") from exc
    try:
        flat = [flatten_record(s.record, s.run) for s in records]
        ds = datasets.Dataset.from_list(flat, features=_features())
        (tmp / "data").mkdir()
        bars_were_off = datasets.is_progress_bar_enabled() is False
        datasets.disable_progress_bars()
        try:
            ds.to_parquet(str(tmp / "data" / PARQUET_NAME))
        finally:
            if not bars_were_off:
                datasets.enable_progress_bars()
        (tmp / "README.md").write_text(
            _card(len(flat), [r.name for r in runs if r.records], all_records), encoding="utf-8"
        )
        (tmp / MARKER).write_text(__version__ + "\n", encoding="utf-8")
        _place(tmp, out_dir)
    except OSError as exc:
        raise ReportError(f"cannot write the dataset to {out_dir}: {one_line(exc)}") from exc
    finally:
        with contextlib.suppress(OSError):
            if tmp.exists():
                shutil.rmtree(tmp)
    return out_dir
