"""Export run results as a Hugging Face ``datasets`` dataset (Parquet + dataset card) for sharing.

The export holds one row per cell (the record the reports use: the last non-error record per cell, see
:func:`evals.results.latest_by_cell`), or every attempt with ``all_records=True``. Nested fields are
flattened into typed columns (``usage_input_tokens``, ``needle_answers``, ``score_found``...); the full
nested values stay available as JSON strings (``needles_json``, ``score_detail_json``) so nothing is lost.

Layout of the output directory, loadable offline with ``datasets.load_dataset(str(out_dir))``::

    out_dir/README.md                               dataset card (YAML config + column list)
    out_dir/data/train-00000-of-00001.parquet       the rows

The directory is written atomically: built in a temporary sibling and renamed into place. An existing
export written by this function is replaced; any other non-empty directory is refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals import __version__
from evals.record import ResultRecord
from evals.report_data import ReportError, final_records, load_runs, one_line, sourced_records
from evals.results import expand_run_dirs
from haystacks.files import place_dir

__all__ = ["COLUMNS", "export_results", "flatten_record"]

logger = logging.getLogger("evals.report")

MARKER = ".niah-export"
PARQUET_NAME = "train-00000-of-00001.parquet"

# Column name → (datasets dtype, description). A dtype "list:<t>" is a list of <t>.
COLUMNS: dict[str, tuple[str, str]] = {
    "run": ("string", "run directory name the record came from"),
    "schema_version": ("int64", "results record schema version"),
    "cell_id": ("string", "sha256 of the cell identity (model, task, language, length, depth, seed)"),
    "model": ("string", "registry alias of the model under test"),
    "provider": ("string", "provider adapter"),
    "kind": ("string", "cell (a grid cell) | closed_book (the question asked with no text)"),
    "task": ("string", "task name (haystacks.tasks)"),
    "language": ("string", "needle/question language"),
    "length": ("int64", "requested context length in tokens"),
    "depth": ("float64", "requested needle depth in percent"),
    "seed": ("int64", "cell seed"),
    "target_tokens": ("int64", "target context tokens"),
    "context_tokens": ("int64", "context tokens as built"),
    "prompt_tokens": ("int64", "prompt tokens (provider count when available)"),
    "prompt_tokens_source": ("string", "where prompt_tokens came from"),
    "tokens_exact": ("bool", "lengths counted with the model's own tokenizer"),
    "input_sha256": ("string", "sha256 of the exact request text"),
    "status": ("string", "ok | error | model_length | truncated"),
    "outcome": ("string", "grade outcome of an ok record (found, partial, decoy, misbound, ...)"),
    "stop_reason": ("string", "why generation stopped"),
    "question": ("string", "the question asked"),
    "expected": ("list:string", "the expected answers"),
    "answer": ("string", "the model's answer (null unless ok)"),
    "scored_answer": ("string", "the part of the answer that was scored"),
    "max_tokens": ("int64", "answer token budget of the call"),
    "score": ("float64", "score in [0, 1] (null unless ok)"),
    "score_found": ("list:string", "expected facts found in the answer"),
    "score_missed": ("list:string", "expected facts missing from the answer"),
    "score_abstained": ("bool", "the answer abstained"),
    "score_hallucinated": ("bool", "the answer states a value the text does not hold for the asked key"),
    "score_detail_json": ("string", "the full score_detail as JSON"),
    "needle_answers": ("list:string", "expected answers of the asked needles"),
    "needle_keys": ("list:string", "what each asked needle is about"),
    "needle_depths": ("list:float64", "requested depth of each asked needle"),
    "needle_actual_depths": ("list:float64", "measured depth of each asked needle"),
    "needles_json": ("string", "the inserted needles as JSON"),
    "distractors_json": ("string", "the inserted distractors as JSON"),
    "judge_json": ("string", "LLM judge verdict as JSON (null when not judged)"),
    "error": ("string", "error description (null unless error)"),
    "error_type": ("string", "provider error class (null unless error)"),
    "latency_s": ("float64", "seconds for the call"),
    "attempts": ("int64", "attempts made (retries included)"),
    "usage_input_tokens": ("int64", "billed input tokens"),
    "usage_output_tokens": ("int64", "billed output tokens"),
    "usage_cached_input_tokens": ("int64", "input tokens served from the provider's cache"),
    "usage_reasoning_tokens": ("int64", "reasoning tokens"),
    "usage_cache_write_tokens": ("int64", "input tokens written to the provider's cache"),
    "prompt_tokens_counted": ("int64", "our own tokenizer count of the request"),
    "timings_json": ("string", "server timings (llama.cpp prompt_n, cache_n...) as JSON"),
    "model_id": ("string", "model id the provider says answered"),
    "tokens_note": ("string", "how the lengths were counted when not exactly"),
    "batch_id": ("string", "provider batch the call went through (null when not batched)"),
    "run_identity": ("string", "the run's identity hash (header)"),
    "cost_usd": ("float64", "cost of the call in USD (null when unpriced)"),
    "timestamp": ("string", "UTC time the record was written"),
    "answer_key_json": ("string", "the grader's answer key as JSON (regrade without rebuilding)"),
    "task_params_json": ("string", "the task's parameters as JSON"),
    "extra_json": ("string", "any other record fields, as JSON"),
}

_DIRECT = (
    "schema_version",
    "cell_id",
    "kind",
    "model",
    "provider",
    "task",
    "language",
    "length",
    "depth",
    "seed",
    "target_tokens",
    "context_tokens",
    "prompt_tokens",
    "prompt_tokens_source",
    "tokens_exact",
    "input_sha256",
    "status",
    "outcome",
    "stop_reason",
    "question",
    "expected",
    "error_type",
    "prompt_tokens_counted",
    "model_id",
    "tokens_note",
    "batch_id",
    "run_identity",
    "answer",
    "scored_answer",
    "max_tokens",
    "score",
    "latency_s",
    "attempts",
    "cost_usd",
    "timestamp",
)
_NESTED = (
    "usage",
    "score_detail",
    "needles",
    "distractors",
    "timings",
    "judge",
    "error",
    "answer_key",
    "task_params",
)


def _cast(value: Any, dtype: str) -> Any:
    """Coerce a value to the column type (a column never changes type)."""
    if value is None:
        return None
    if dtype.startswith("list:"):
        return [_cast(v, dtype[5:]) for v in value]
    if dtype == "string":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    if dtype == "bool":
        return bool(value)
    if dtype == "int64":
        return int(value)
    return float(value)


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def flatten_record(rec: ResultRecord, run: str) -> dict[str, Any]:
    """One typed result record as a flat row with exactly the :data:`COLUMNS`.

    Args:
        rec: the record.
        run: the run (report) name it came from.

    Returns:
        ``column → value`` with values of the column types (None where absent). A record field this table
        does not name yet lands in ``extra_json``, so nothing is lost.
    """
    obj = rec.to_json()
    row: dict[str, Any] = {k: obj[k] for k in _DIRECT}
    row["run"] = run
    usage = obj["usage"] or {}
    for k in (
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "reasoning_tokens",
        "cache_write_tokens",
    ):
        row[f"usage_{k}"] = usage.get(k)
    detail = rec.score_detail or {}
    row["score_found"] = detail.get("found")
    row["score_missed"] = detail.get("missed")
    row["score_abstained"] = detail.get("abstained")
    row["score_hallucinated"] = detail.get("hallucinated")
    row["score_detail_json"] = _json_or_none(obj["score_detail"])
    asked = [n for n in rec.needles if n.kind != "distractor"]
    row["needle_answers"] = [n.answer for n in asked]
    row["needle_keys"] = [n.key for n in asked]
    row["needle_depths"] = [n.depth for n in asked]
    row["needle_actual_depths"] = [n.actual_depth for n in asked]
    row["needles_json"] = _json_or_none(obj["needles"])
    row["distractors_json"] = _json_or_none(obj["distractors"])
    row["timings_json"] = _json_or_none(obj["timings"])
    row["judge_json"] = _json_or_none(obj["judge"])
    row["answer_key_json"] = _json_or_none(obj["answer_key"])
    row["task_params_json"] = _json_or_none(obj["task_params"])
    row["error"] = rec.error
    extra = {k: v for k, v in obj.items() if k not in _DIRECT and k not in _NESTED}
    row["extra_json"] = _json_or_none(extra) if extra else None
    return {col: _cast(row.get(col), dtype) for col, (dtype, _) in COLUMNS.items()}


def _features() -> Any:
    import datasets

    def feature(dtype: str) -> Any:
        if dtype.startswith("list:"):
            return datasets.List(datasets.Value(dtype[5:]))
        return datasets.Value(dtype)

    return datasets.Features({col: feature(dtype) for col, (dtype, _) in COLUMNS.items()})


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
    lines += [f"| `{c}` | {t} | {d} |" for c, (t, d) in COLUMNS.items()]
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
        log_warnings: log loading warnings on the ``evals.report`` logger (off when the report already did).

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
        rows = [flatten_record(s.record, s.run) for s in records]
        ds = datasets.Dataset.from_list(rows, features=_features())
        (tmp / "data").mkdir()
        bars_were_off = datasets.is_progress_bar_enabled() is False
        datasets.disable_progress_bars()
        try:
            ds.to_parquet(str(tmp / "data" / PARQUET_NAME))
        finally:
            if not bars_were_off:
                datasets.enable_progress_bars()
        (tmp / "README.md").write_text(
            _card(len(rows), [r.name for r in runs if r.records], all_records), encoding="utf-8"
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
