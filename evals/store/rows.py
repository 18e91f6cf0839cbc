"""The flat row of a result record, defined once: the pandas frame and the dataset export both read it.

:data:`COLUMNS` is the one ordered table of flat columns. Each :class:`RowColumn` names its type, what it
means, and how its value comes from a :class:`~evals.store.record.ResultRecord`. The columns marked ``frame``
(the first ones, in order) are the DataFrame of :func:`evals.store.results.load` and of the reports
(:func:`frame_row`, :func:`typed_frame`); the dataset export (:mod:`evals.reporting.export`) writes every
column:
the frame's, then the lossless ones a dataset needs (nested values as JSON, ids, usage details).

Adding a column for an existing record field is one line in :data:`COLUMNS`, e.g.
``RowColumn("stop_reason", "string", "why generation stopped", field("stop_reason"), frame=True)``; it then
reaches the frame, the reports' frame, the export's rows, its ``datasets`` features and its card. A new
record field is added in :mod:`evals.store.record` first (with a default); until a column names it, the export
keeps it in ``extra_json``, so nothing is lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evals.store.record import ResultRecord

__all__ = [
    "COLUMNS",
    "RowColumn",
    "export_row",
    "field",
    "frame_columns",
    "frame_row",
    "typed_frame",
]

#: A value getter: (the record, its JSON object as written, the run's name) → the column's value.
Getter = Callable[[ResultRecord, dict[str, Any], str], Any]


@dataclass(frozen=True)
class RowColumn:
    """One flat column.

    Attributes:
        name: The column name.
        dtype: ``string``, ``int64``, ``float64``, ``bool``, or ``list:<one of those>``.
        description: What it means (the dataset card's column table).
        get: Its value from a record (see :data:`Getter`).
        frame: Also a column of the pandas frame (else only of the dataset export).
        reads: The record fields it shows (those the export does not repeat in ``extra_json``).
    """

    name: str
    dtype: str
    description: str
    get: Getter
    frame: bool = False
    reads: tuple[str, ...] = ()


def field(name: str) -> Getter:
    """A getter of one top-level record field, as written in the JSON line."""

    def get(rec: ResultRecord, obj: dict[str, Any], run: str) -> Any:
        return obj[name]

    get.__name__ = f"field_{name}"
    return get


def _col(name: str, dtype: str, description: str, *, frame: bool = False) -> RowColumn:
    """A column that is one record field of the same name."""
    return RowColumn(name, dtype, description, field(name), frame=frame, reads=(name,))


def _usage(key: str) -> Getter:
    return lambda rec, obj, run: (obj["usage"] or {}).get(key)


def _detail(key: str) -> Getter:
    return lambda rec, obj, run: getattr(rec.score_detail, key, None)  # a key the record lacks: None


def _json(name: str) -> Getter:
    return lambda rec, obj, run: (
        None if obj[name] is None else json.dumps(obj[name], ensure_ascii=False, sort_keys=True)
    )


def _asked(attr: str) -> Getter:
    return lambda rec, obj, run: [getattr(n, attr) for n in rec.needles if n.kind != "distractor"]


def _ok(value: Callable[[ResultRecord], Any]) -> Getter:
    return lambda rec, obj, run: value(rec) if rec.status == "ok" else None


def _first_needle_depth(rec: ResultRecord, obj: dict[str, Any], run: str) -> Any:
    return rec.needles[0].actual_depth if rec.needles else None


def _extra(rec: ResultRecord, obj: dict[str, Any], run: str) -> str | None:
    shown = {f for c in COLUMNS for f in c.reads}
    extra = {k: v for k, v in obj.items() if k not in shown}
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


COLUMNS: tuple[RowColumn, ...] = (
    # the frame: identity, sizing, outcome, cost (evals.store.results.load, the reports)
    RowColumn("run", "string", "run directory name the record came from", lambda r, o, run: run, frame=True),
    _col("model", "string", "registry alias of the model under test", frame=True),
    _col("model_id", "string", "model id the provider says answered", frame=True),
    _col("provider", "string", "provider adapter", frame=True),
    _col("task", "string", "task name (haystacks.tasks)", frame=True),
    _col("kind", "string", "cell (a grid cell) | closed_book (the question asked with no text)", frame=True),
    _col("language", "string", "needle/question language", frame=True),
    _col("length", "int64", "requested context length in tokens", frame=True),
    _col("depth", "float64", "requested needle depth in percent", frame=True),
    _col("seed", "int64", "cell seed", frame=True),
    _col(
        "cell_id",
        "string",
        "sha256 of the cell identity (model, task, language, length, depth, seed)",
        frame=True,
    ),
    _col("status", "string", "ok | error | model_length | truncated", frame=True),
    _col("score", "float64", "score in [0, 1] (null unless ok)", frame=True),
    RowColumn(
        "outcome",
        "string",
        "grade outcome of an ok record (found, partial, decoy, ...), else the status",
        lambda r, o, run: r.outcome if r.status == "ok" else r.status,
        frame=True,
        reads=("outcome",),
    ),
    RowColumn("found", "bool", "score == 1 (null unless ok)", _ok(lambda r: r.score == 1.0), frame=True),
    RowColumn(
        "hallucinated",
        "bool",
        "the answer states a value the text does not hold for the asked key",
        lambda r, o, run: r.hallucinated,
        frame=True,
    ),
    RowColumn(
        "abstained",
        "bool",
        "the answer abstained (null unless ok)",
        _ok(lambda r: r.score_detail is not None and bool(r.score_detail.abstained)),
        frame=True,
    ),
    RowColumn(
        "truncated", "bool", "status == truncated", lambda r, o, run: r.status == "truncated", frame=True
    ),
    _col("target_tokens", "int64", "target context tokens", frame=True),
    _col("prompt_tokens", "int64", "prompt tokens (provider count when available)", frame=True),
    _col("context_tokens", "int64", "context tokens as built", frame=True),
    _col("tokens_exact", "bool", "lengths counted with the model's own tokenizer", frame=True),
    RowColumn(
        "needle_depth", "float64", "measured depth of the first needle", _first_needle_depth, frame=True
    ),
    RowColumn(
        "n_needles",
        "int64",
        "needles placed (asked and altered; distractors apart)",
        lambda r, o, run: len(r.needles),
        frame=True,
    ),
    _col("max_tokens", "int64", "answer token budget of the call", frame=True),
    RowColumn("input_tokens", "int64", "billed input tokens", _usage("input_tokens"), frame=True),
    RowColumn("output_tokens", "int64", "billed output tokens", _usage("output_tokens"), frame=True),
    RowColumn(
        "cached_input_tokens",
        "int64",
        "input tokens served from the provider's cache",
        _usage("cached_input_tokens"),
        frame=True,
    ),
    _col("cost_usd", "float64", "cost of the call in USD (null when unpriced)", frame=True),
    _col("latency_s", "float64", "seconds for the call", frame=True),
    _col("attempts", "int64", "attempts made (retries included)", frame=True),
    RowColumn(
        "judge_score",
        "int64",
        "the LLM judge's grade (null when not judged)",
        lambda r, o, run: r.judge.score if r.judge is not None else None,
        frame=True,
    ),
    _col("answer", "string", "the model's answer (null unless ok)", frame=True),
    _col("scored_answer", "string", "the part of the answer that was scored", frame=True),
    _col("question", "string", "the question asked", frame=True),
    _col("error", "string", "error description (null unless error)", frame=True),
    _col("timestamp", "string", "UTC time the record was written", frame=True),
    # the export adds what a dataset needs to lose nothing
    _col("schema_version", "int64", "results record schema version"),
    _col("prompt_tokens_source", "string", "where prompt_tokens came from"),
    _col("prompt_tokens_counted", "int64", "our own tokenizer count of the request"),
    _col("tokens_note", "string", "how the lengths were counted when not exactly"),
    _col("input_sha256", "string", "sha256 of the exact request text"),
    _col("stop_reason", "string", "why generation stopped"),
    _col("expected", "list:string", "the expected answers"),
    _col("error_type", "string", "provider error class (null unless error)"),
    RowColumn("reasoning_tokens", "int64", "reasoning tokens", _usage("reasoning_tokens"), reads=("usage",)),
    RowColumn(
        "cache_write_tokens",
        "int64",
        "input tokens written to the provider's cache",
        _usage("cache_write_tokens"),
    ),
    RowColumn(
        "cache_write_1h_tokens",
        "int64",
        "of those, written with the 1-hour lifetime (Anthropic)",
        _usage("cache_write_1h_tokens"),
    ),
    RowColumn("score_found", "list:string", "expected facts found in the answer", _detail("found")),
    RowColumn("score_missed", "list:string", "expected facts missing from the answer", _detail("missed")),
    RowColumn("score_abstained", "bool", "the grade's abstained flag", _detail("abstained")),
    RowColumn("score_hallucinated", "bool", "the grade's hallucinated flag", _detail("hallucinated")),
    RowColumn(
        "score_detail_json",
        "string",
        "the full score_detail as JSON",
        _json("score_detail"),
        reads=("score_detail",),
    ),
    RowColumn("needle_answers", "list:string", "expected answers of the asked needles", _asked("answer")),
    RowColumn("needle_keys", "list:string", "what each asked needle is about", _asked("key")),
    RowColumn("needle_depths", "list:float64", "requested depth of each asked needle", _asked("depth")),
    RowColumn(
        "needle_actual_depths", "list:float64", "measured depth of each asked needle", _asked("actual_depth")
    ),
    RowColumn("needles_json", "string", "the inserted needles as JSON", _json("needles"), reads=("needles",)),
    RowColumn(
        "distractors_json",
        "string",
        "the inserted distractors as JSON",
        _json("distractors"),
        reads=("distractors",),
    ),
    RowColumn(
        "judge_json",
        "string",
        "LLM judge verdict as JSON (null when not judged)",
        _json("judge"),
        reads=("judge",),
    ),
    RowColumn(
        "timings_json",
        "string",
        "server timings (llama.cpp prompt_n, cache_n...) as JSON",
        _json("timings"),
        reads=("timings",),
    ),
    RowColumn(
        "answer_key_json",
        "string",
        "the grader's answer key as JSON (regrade without rebuilding)",
        _json("answer_key"),
        reads=("answer_key",),
    ),
    RowColumn(
        "task_params_json",
        "string",
        "the task's parameters as JSON",
        _json("task_params"),
        reads=("task_params",),
    ),
    _col("batch_id", "string", "provider batch the call went through (null when not batched)"),
    _col("run_identity", "string", "the run's identity hash (header)"),
    RowColumn("extra_json", "string", "any other record fields, as JSON", _extra),
)


def frame_columns() -> tuple[str, ...]:
    """The DataFrame's column names, in order."""
    return tuple(c.name for c in COLUMNS if c.frame)


def frame_row(rec: ResultRecord, run: str) -> dict[str, Any]:
    """One record as a flat DataFrame row: the :func:`frame_columns` (typed by :func:`typed_frame`)."""
    obj = rec.to_json()
    return {c.name: c.get(rec, obj, run) for c in COLUMNS if c.frame}


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


def export_row(rec: ResultRecord, run: str) -> dict[str, Any]:
    """One record as a flat row with every column of :data:`COLUMNS`, each value of its column's type."""
    obj = rec.to_json()
    return {c.name: _cast(c.get(rec, obj, run), c.dtype) for c in COLUMNS}


#: pandas dtypes of the frame: nullable integers and booleans, floats; strings stay objects.
_PANDAS = {"int64": "Int64", "bool": "boolean", "float64": "float64"}


def typed_frame(rows: Iterable[dict[str, Any]], extra: Sequence[tuple[str, str]] = ()) -> Any:
    """A pandas DataFrame of :func:`frame_row` rows, typed by the columns' dtypes.

    Args:
        rows: ``frame_row`` dicts (with the ``extra`` columns where given).
        extra: ``(name, dtype)`` of columns a caller adds (the reports' ``spend`` and ``line``).

    Returns:
        A ``pandas.DataFrame`` with the :func:`frame_columns`, then the extras.
    """
    import pandas as pd

    types = [(c.name, c.dtype) for c in COLUMNS if c.frame] + list(extra)
    df = pd.DataFrame(list(rows), columns=[name for name, _ in types])
    for name, dtype in types:
        if dtype in _PANDAS:
            df[name] = df[name].astype(_PANDAS[dtype])
    return df
