"""Loading run directories for the reports, the report's DataFrame, and the ``leaderboard.json`` document.

Reads ``header.json`` and ``results.jsonl`` of each run (never writes them), tolerating damage: an empty run
directory, a missing header, corrupt lines and a torn last line each become a warning naming the file (and
line), and the rest is used. Every line is read through :func:`evals.store.record.parse_record` (the one
schema); the final record per cell (:func:`evals.store.results.latest_by_cell`) becomes one row of a pandas
DataFrame built with :func:`evals.store.rows.frame_row` (the same rows as :func:`evals.store.results.load`),
and every number of the leaderboard and the dashboard is an aggregation of that frame.

The leaderboard's per-(model, task) fields are one table, :data:`ENTRY_COLUMNS`: a field is a name, an
aggregation of the group's frames, and (optionally) a dashboard column header and display kind. Adding a
leaderboard column is one row there (plus, for a new record field, the field in :mod:`evals.store.record` and
its DataFrame column, one line in :data:`evals.store.rows.COLUMNS`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals import __version__
from evals.errors import EvalError, ResultsError
from evals.stats import (
    DEFAULT_THRESHOLD,
    Z95,
    ClusteredProportion,
    EffectiveLength,
    PairedDifference,
    Proportion,
    clustered_proportion,
    effective_length_with_ci,
    paired_difference,
    proportion,
    seeds_needed,
)
from evals.store.record import ModelRecord, ResultRecord, RunHeader, SamplerStatus, Sampling, parse_record
from evals.store.results import (
    HEADER_FILE,
    RESULTS_FILE,
    expand_run_dirs,
    is_run_dir,
    latest_by_cell,
    read_header,
    scan_jsonl,
)
from evals.store.rows import frame_row, typed_frame
from haystacks.errors import SpecError
from haystacks.tasks import OUTCOMES, get_task, task_names

__all__ = [
    "DEFAULT_THRESHOLD",
    "ENTRY_COLUMNS",
    "LEADERBOARD_SCHEMA",
    "TAXONOMY",
    "Column",
    "GroupView",
    "ReportData",
    "ReportError",
    "RunData",
    "build_leaderboard",
    "collect",
    "entry_json",
    "expand_run_dirs",
    "is_run_dir",
    "load_run",
    "records_frame",
]

LEADERBOARD_SCHEMA = "niah-leaderboard/3"
SAMPLE_CHARS = 300
#: Unscored statuses: counted apart, never a miss.
UNSCORED = ("error", "model_length", "truncated")
#: The error taxonomy of a (model, task): every grade outcome, then the unscored statuses.
TAXONOMY: tuple[str, ...] = (*OUTCOMES, *(s for s in UNSCORED if s not in OUTCOMES))
#: Columns the report adds to :func:`evals.store.rows.frame_columns` (what ``load`` does not carry).
EXTRA_COLUMNS = (("spend", "float64"), ("line", "int64"))


class ReportError(EvalError):
    """Nothing could be reported, or the report's arguments are invalid."""


def task_order() -> tuple[str, ...]:
    """Tasks in the task table's order (:func:`haystacks.tasks.task_names`)."""
    return task_names()


def task_sort_key(task: str) -> tuple[int, str]:
    """Sort key putting the table's tasks in table order, unknown ones after, alphabetically."""
    order = task_order()
    return (order.index(task) if task in order else len(order), task)


def task_metric(task: str) -> str:
    """What a task's score measures (``get_task(task).metric``; ``score`` for a task not in the table)."""
    try:
        return get_task(task).metric
    except SpecError:
        return "score"


def task_has_depth(task: str) -> bool:
    """Whether a task has a depth axis (``get_task(task).has_depth``; True for a task not in the table)."""
    try:
        return get_task(task).has_depth
    except SpecError:
        return True


# ---------------------------------------------------------------------------------------------- loading


@dataclass
class RunData:
    """One run directory as read by the reports.

    Attributes:
        path: the run directory.
        name: its name (the directory's base name; its path when two given runs share a name).
        header: the typed ``header.json``, or None when missing or unreadable.
        records: every valid record of ``results.jsonl`` in file order (superseded attempts included).
        lines: the 1-based line number of each record (parallel to ``records``).
        warnings: what was skipped and why, one line each, naming the file (and line).
        skipped_lines: unreadable or invalid lines of ``results.jsonl`` that were skipped.
    """

    path: Path
    name: str
    header: RunHeader | None
    records: list[ResultRecord] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped_lines: int = 0
    sampling: Sampling | None = None


def load_run(path: Path) -> RunData:
    """Read one run directory, tolerating damage.

    A missing or unreadable ``header.json``, a missing ``results.jsonl``, corrupt lines and a torn last line
    (an interrupted write) each add one warning and are skipped; nothing is ever written. Lines are typed with
    :func:`evals.store.record.parse_record` (schema 1 lines are upgraded); a line that is no record is skipped
    with the reason the schema gives.

    Args:
        path: the run directory.

    Returns:
        The run's header (or None) and its valid records.
    """
    from evals.execution.adaptive import read_sampling

    run = RunData(path=path, name=path.name or str(path), header=None, sampling=read_sampling(path))
    try:
        run.header = read_header(path)
        if run.header is None and (path / RESULTS_FILE).is_file():
            run.warnings.append(f"{path / HEADER_FILE}: missing; run identity unknown")
    except ResultsError as exc:
        run.warnings.append(f"{one_line(exc)}; run identity unknown")
    results_path = path / RESULTS_FILE
    if not results_path.is_file():
        what = "empty run directory" if not any(path.iterdir()) else "no results.jsonl"
        run.warnings.append(f"{path}: {what}; nothing to report from it")
        return run
    try:
        for line in scan_jsonl(results_path, parse_record):
            if line.value is None:
                run.skipped_lines += 1
                run.warnings.append(f"{results_path}: line {line.number}: {line.problem}, skipped")
                continue
            run.records.append(line.value)
            run.lines.append(line.number)
    except OSError as exc:
        run.warnings.append(f"{results_path}: unreadable ({one_line(exc)})")
        return run
    if not run.records:
        run.warnings.append(f"{results_path}: no valid records; nothing to report from it")
    return run


@dataclass(frozen=True)
class Sourced:
    """A record with where it was read: its run's (report) name and its line in ``results.jsonl``."""

    record: ResultRecord
    run: str
    line: int


def load_runs(run_dirs: Sequence[Path]) -> list[RunData]:
    """:func:`load_run` each directory; two runs with the same directory name are named by their path."""
    runs = [load_run(p) for p in run_dirs]
    names = [r.name for r in runs]
    for r in runs:
        if names.count(r.name) > 1:
            r.name = str(r.path)
    return runs


def sourced_records(runs: Sequence[RunData]) -> list[Sourced]:
    """Every record of the runs, in run order then file order, with its source."""
    return [
        Sourced(rec, run.name, line) for run in runs for rec, line in zip(run.records, run.lines, strict=True)
    ]


def final_records(every: Sequence[Sourced]) -> list[Sourced]:
    """The record that stands for each cell (:func:`evals.store.latest_by_cell`'s rule), in read order."""
    chosen = {id(rec) for rec in latest_by_cell(s.record for s in every).values()}
    return [s for s in every if id(s.record) in chosen]


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when empty)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------- the frame


def records_frame(rows: Sequence[dict[str, Any]]) -> Any:
    """A DataFrame of :func:`evals.store.rows.frame_row` rows typed as :func:`evals.store.load` types them.

    Args:
        rows: ``frame_row`` dicts, optionally with the :data:`EXTRA_COLUMNS` (``spend``, ``line``).

    Returns:
        A ``pandas.DataFrame`` with the columns of :func:`evals.store.rows.frame_columns` plus the extras.
    """
    return typed_frame(rows, EXTRA_COLUMNS)


def _row(s: Sourced) -> dict[str, Any]:
    return {**frame_row(s.record, s.run), "spend": s.record.spend, "line": s.line}


def scores(df: Any) -> list[float]:
    """The scores of a frame's scored (``ok``) rows."""
    return [float(x) for x in df.loc[df["status"] == "ok", "score"]]


def recall(df: Any) -> Proportion:
    """Mean score of a frame's scored rows with its Wilson interval (unscored rows left out)."""
    return proportion(scores(df))


def cluster_keys(df: Any) -> list[tuple[str, int]]:
    """The cluster of each row: its haystack, ``(language, seed)`` (see :mod:`evals.stats`)."""
    return [(str(lang or ""), int(seed)) for lang, seed in zip(df["language"], df["seed"], strict=True)]


def clustered_recall(df: Any) -> ClusteredProportion:
    """Mean score of a frame's scored rows with its interval clustered by haystack (seed): CR1 with an
    independent-observations floor, rule of three when every score is 1 (or 0), Wilson with one seed."""
    ok = df[df["status"] == "ok"]
    return clustered_proportion([float(x) for x in ok["score"]], cluster_keys(ok))


def as_proportion(c: ClusteredProportion) -> Proportion:
    """A clustered summary as a :class:`~evals.stats.Proportion` (for the effective length's range)."""
    successes = 0.0 if c.mean is None else c.mean * c.n
    return Proportion(n=c.n, successes=successes, mean=c.mean, ci_low=c.low, ci_high=c.high)


def n_status(df: Any, status: str) -> int:
    """Rows of a frame with ``status``."""
    return int((df["status"] == status).sum())


def depth_keys(df: Any) -> Any:
    """A frame's depths rounded to 6 decimals (50 and 50.0000001 are one depth)."""
    return df["depth"].round(6)


def _flag_rate(df: Any, col: str) -> Proportion:
    ok = df[df["status"] == "ok"]
    return proportion(1.0 if bool(v) else 0.0 for v in ok[col].fillna(False))


# ---------------------------------------------------------------------------------------------- groups


def depth_label(depth: float) -> str:
    """Axis label of a depth: ``50%``, ``12.5%``."""
    return f"{depth:g}%"


def error_text(rec: ResultRecord) -> str:
    """One-line description of why a record has no score (its ``error``, else its status)."""
    return " ".join((rec.error or rec.status).split())[:SAMPLE_CHARS]


def truncate(text: str, limit: int = SAMPLE_CHARS) -> str:
    """Whitespace collapsed to single spaces, cut to ``limit`` characters (ending with an ellipsis)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: The frame columns a heatmap cell reads.
CELL_COLUMNS = ("cell_id", "status", "score", "prompt_tokens", "length", "depth")


@dataclass
class HeatmapCell:
    """One heatmap cell (a length × depth pair, over seeds and languages): its rows of the group's frame
    (named tuples of :data:`CELL_COLUMNS`, in the group's order)."""

    length: int
    depth: float
    rows: list[Any]

    def _count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def n_error(self) -> int:
        """Rows whose call failed."""
        return self._count("error")

    @property
    def n_model_length(self) -> int:
        """Rows whose prompt exceeded the model's window."""
        return self._count("model_length")

    @property
    def n_truncated(self) -> int:
        """Rows whose answer was cut at its token budget."""
        return self._count("truncated")

    @property
    def recall(self) -> Proportion:
        """Mean score of the scored rows with its Wilson interval."""
        return proportion(float(r.score) for r in self.rows if r.status == "ok")

    def sample_id(self) -> str | None:
        """``cell_id`` of a representative scored row: the first wrong one if any, else the first."""
        ok = [r for r in self.rows if r.status == "ok"]
        wrong = [r for r in ok if r.score < 1]
        return str((wrong or ok)[0].cell_id) if ok else None

    def first_unscored_id(self) -> str | None:
        """``cell_id`` of the first unscored row."""
        return next((str(r.cell_id) for r in self.rows if r.status != "ok"), None)

    def prompt_tokens(self) -> str:
        """The prompt-token count(s) of the cell's rows as text (``2003`` or ``1990–2010``)."""
        values = sorted(int(r.prompt_tokens) for r in self.rows if not _missing(r.prompt_tokens))
        if not values:
            return "n/a"
        return str(values[0]) if values[0] == values[-1] else f"{values[0]}–{values[-1]}"


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


@dataclass
class GroupView:
    """What an :data:`ENTRY_COLUMNS` aggregation sees of one (model, task).

    Attributes:
        model: the model.
        task: the task.
        final: the final row of each grid cell (``kind == "cell"``), sorted by seed, language, cell.
        attempts: every attempt's row of the grid cells (superseded ones included): what was spent.
        closed: the final row of each closed-book question (``kind == "closed_book"``).
        closed_attempts: every closed-book attempt.
        threshold: the effective length's recall threshold.
        runs: the ``runs`` JSON of the runs the rows came from.
    """

    model: str
    task: str
    final: Any
    attempts: Any
    closed: Any
    closed_attempts: Any
    threshold: float
    runs: list[dict[str, Any]] = field(default_factory=list)
    sampling: list[tuple[Sampling, list[SamplerStatus] | None]] = field(default_factory=list)


@dataclass
class Group:
    """One (model, task): its frames, its grid of cells and its final records by ``cell_id``."""

    view: GroupView
    records: dict[str, ResultRecord]
    run_names: list[str]
    lengths: list[int] = field(init=False)
    depths: list[float] = field(init=False)
    cells: dict[tuple[int, float], HeatmapCell] = field(init=False)

    def __post_init__(self) -> None:
        # One pass over a narrow frame (a pandas split per cell costs ~1 ms each).
        df = self.view.final[list(CELL_COLUMNS)].assign(depth=depth_keys(self.view.final))
        by_cell: dict[tuple[int, float], list[Any]] = {}
        for row in df.itertuples(index=False):
            by_cell.setdefault((int(row.length), float(row.depth)), []).append(row)
        self.cells = {k: HeatmapCell(k[0], k[1], v) for k, v in sorted(by_cell.items())}
        self.lengths = sorted({k[0] for k in self.cells})
        self.depths = sorted({k[1] for k in self.cells})

    @property
    def model(self) -> str:
        return self.view.model

    @property
    def task(self) -> str:
        return self.view.task

    @property
    def frame(self) -> Any:
        """The final rows of the grid cells."""
        return self.view.final

    @property
    def recall(self) -> Proportion:
        """Overall mean score with its Wilson interval (unscored cells excluded)."""
        return recall(self.view.final)

    def count(self, status: str) -> int:
        """Final grid cells with ``status``."""
        return n_status(self.view.final, status)


@dataclass
class ReportData:
    """Everything a report is made from."""

    runs: list[RunData]
    groups: list[Group]
    frame: Any
    notes: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """Every loading warning, run by run."""
        return [w for r in self.runs for w in r.warnings]

    @property
    def models(self) -> list[str]:
        """Model names, sorted."""
        return sorted({g.model for g in self.groups})


def grid_notes(data: ReportData) -> list[str]:
    """One line per task whose models were run on different grids (lengths × depths).

    Args:
        data: loaded runs and groups.

    Returns:
        The notes, by task; empty when every model of a task shares one grid.
    """
    notes = []
    tasks = sorted({g.task for g in data.groups}, key=task_sort_key)
    for task in tasks:
        groups = [g for g in data.groups if g.task == task]
        if len({(tuple(g.lengths), tuple(g.depths)) for g in groups}) > 1:
            shapes = ", ".join(f"{g.model} {len(g.lengths)} lengths × {len(g.depths)} depths" for g in groups)
            notes.append(
                f"grids differ for task {task} ({shapes}): each heatmap keeps its own grid; "
                "side-by-side comparisons use the common cells"
            )
    return notes


def collect(run_dirs: Sequence[Path], threshold: float = DEFAULT_THRESHOLD) -> ReportData:
    """Load run directories, keep the final record per cell, and group the frame by (model, task).

    Args:
        run_dirs: run directories (already expanded, see :func:`evals.store.results.expand_run_dirs`).
        threshold: recall threshold of the effective context length.

    Returns:
        The loaded runs (with their warnings), the groups (possibly none) and the final frame.
    """
    runs = load_runs(run_dirs)
    every = sourced_records(runs)
    chosen = final_records(every)
    final = records_frame([_row(s) for s in chosen])
    attempts = records_frame([_row(s) for s in every])
    by_id = {s.record.cell_id: s.record for s in chosen}
    order = {r.name: i for i, r in enumerate(runs)}
    run_json = {r.name: _run_json(r) for r in runs}
    by_name = {r.name: r for r in runs}
    groups: list[Group] = []
    notes: list[str] = []
    cells = final[final["kind"] == "cell"]
    closed = final[final["kind"] == "closed_book"]
    keys = sorted(
        {(str(m), str(t)) for m, t in zip(cells["model"], cells["task"], strict=True)},
        key=lambda k: (k[0], task_sort_key(k[1])),
    )
    for model, task in sorted(
        {(str(m), str(t)) for m, t in zip(closed["model"], closed["task"], strict=True)}
    ):
        if (model, task) not in keys:
            notes.append(f"closed-book records of {model} on {task} have no grid cells; not reported")
    sort_cols = ["seed", "language", "cell_id"]
    for model, task in keys:

        def pick(df: Any, kind: str, m: str = model, t: str = task) -> Any:
            return df[(df["model"] == m) & (df["task"] == t) & (df["kind"] == kind)]

        fin = pick(final, "cell").sort_values(sort_cols, kind="stable")
        att = pick(attempts, "cell")
        run_names = sorted(set(pick(attempts, "cell")["run"]) | set(pick(attempts, "closed_book")["run"]))
        run_names.sort(key=order.__getitem__)
        view = GroupView(
            model=model,
            task=task,
            final=fin,
            attempts=att,
            closed=pick(final, "closed_book"),
            closed_attempts=pick(attempts, "closed_book"),
            threshold=threshold,
            runs=[run_json[n] for n in run_names],
            sampling=[_run_sampling(by_name[n], model, task) for n in run_names],
        )
        recs = {cid: by_id[cid] for cid in fin["cell_id"]}
        groups.append(Group(view=view, records=recs, run_names=run_names))
    return ReportData(runs=runs, groups=groups, frame=final, notes=notes)


# ---------------------------------------------------------------------------------------------- leaderboard


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(x, digits)


def prop_json(p: Proportion) -> dict[str, Any]:
    """A proportion with its Wilson interval as the leaderboard writes it (rounded to 6 decimals)."""
    return {
        "mean": _r(p.mean),
        "ci_low": _r(p.ci_low),
        "ci_high": _r(p.ci_high),
        "n": p.n,
        "interval": "wilson",
    }


def clustered_json(c: ClusteredProportion) -> dict[str, Any]:
    """A recall with its seed-clustered interval as the leaderboard writes it (docs/leaderboard.md)."""
    return {
        "mean": _r(c.mean),
        "ci_low": _r(c.low),
        "ci_high": _r(c.high),
        "n": c.n,
        "se": _r(c.se),
        "n_clusters": c.n_clusters,
        "interval": c.method,
        "design_effect": _r(c.design_effect),
    }


def _slice_json(name: str, key: Any, df: Any) -> dict[str, Any]:
    c = clustered_recall(df)
    return {
        name: key,
        "n": c.n,
        "n_error": n_status(df, "error"),
        "n_model_length": n_status(df, "model_length"),
        "n_truncated": n_status(df, "truncated"),
        "recall": _r(c.mean),
        "ci_low": _r(c.low),
        "ci_high": _r(c.high),
        "se": _r(c.se),
        "n_clusters": c.n_clusters,
        "interval": c.method,
    }


def slices(df: Any, by: str) -> list[tuple[Any, Any]]:
    """``(key, rows)`` per ``length`` (int), ``depth`` (float, rounded) or ``language`` (str), keys sorted."""
    if by == "depth":
        return [(float(k), sub) for k, sub in df.groupby(depth_keys(df), sort=True)]
    if by == "length":
        return [(int(k), sub) for k, sub in df.groupby("length", sort=True)]
    return [(str(k), sub) for k, sub in df.groupby(df[by].fillna(""), sort=True)]


def effective_length(df: Any, threshold: float) -> EffectiveLength:
    """Effective context length over a frame's lengths (see :mod:`evals.stats`); its range comes from each
    length's seed-clustered interval (:func:`clustered_recall`)."""
    per_length = {k: as_proportion(clustered_recall(sub)) for k, sub in slices(df, "length")}
    return effective_length_with_ci(per_length, threshold)


def _effective_json(v: GroupView) -> dict[str, Any]:
    eff = effective_length(v.final, v.threshold)
    return {
        "value": eff.value,
        "ci_low_value": eff.ci_low_value,
        "ci_high_value": eff.ci_high_value,
        "threshold": v.threshold,
        "n": eff.n,
    }


def _tokens(df: Any) -> dict[str, int]:
    ok = df["status"] == "ok"
    inp = df["input_tokens"].where(df["input_tokens"].notna() | ~ok, df["prompt_tokens"])
    return {
        "input": int(inp.fillna(0).sum()),
        "output": int(df["output_tokens"].fillna(0).sum()),
        "cached_input": int(df["cached_input_tokens"].fillna(0).sum()),
    }


def _cost(df: Any) -> float:
    return _r(math.fsum(float(x) for x in df["spend"]), 8) or 0.0


def _cost_complete(df: Any) -> bool:
    """False when a scored row had no price: the cost is then a lower bound (failed calls count as free)."""
    return not bool(((df["status"] == "ok") & df["cost_usd"].isna()).any())


def outcome_counts(df: Any) -> dict[str, int]:
    """Rows per :data:`TAXONOMY` category (grade outcome of ``ok`` rows, else the status); every category
    present (zeros included), plus ``ungraded`` when an ``ok`` row has no outcome."""
    counts = df["outcome"].fillna("ungraded").value_counts()
    out = {k: int(counts.get(k, 0)) for k in TAXONOMY}
    for k, v in counts.items():
        if k not in out:
            out[str(k)] = int(v)
    return out


def _closed_book_json(v: GroupView) -> dict[str, Any] | None:
    if v.closed.empty:
        return None
    return {
        "known": prop_json(_flag_rate(v.closed, "found")),
        "n_records": len(v.closed),
        "n_error": n_status(v.closed, "error"),
        "n_model_length": n_status(v.closed, "model_length"),
        "n_truncated": n_status(v.closed, "truncated"),
        "cost_usd": _cost(v.closed_attempts),
    }


def _first(series: Any) -> Any:
    values = series.dropna()
    return None if values.empty else str(values.iloc[0])


@dataclass(frozen=True)
class Column:
    """One field of a leaderboard entry: how it is aggregated and how the dashboard shows it.

    Attributes:
        key: the entry's field name (docs/leaderboard.md documents each).
        agg: its value from the group's frames (JSON-ready).
        header: the dashboard table's column header; None keeps it out of the table (JSON only).
        kind: how the dashboard shows it (a macro of the template): ``text``, ``int``, ``number``,
            ``proportion``, ``counts``, ``chips``, ``effective``, ``cost``, ``tokens``, ``model``.
    """

    key: str
    agg: Callable[[GroupView], Any]
    header: str | None = None
    kind: str = "text"


#: The leaderboard entry, field by field, in the order of the dashboard's table.
ENTRY_COLUMNS: tuple[Column, ...] = (
    Column("model", lambda v: v.model, "model", "model"),
    Column("task", lambda v: v.task, "task", "text"),
    Column("metric", lambda v: task_metric(v.task)),
    Column("recall", lambda v: clustered_json(clustered_recall(v.final)), "score [95% CI]", "proportion"),
    Column("n_ok", lambda v: n_status(v.final, "ok"), "n ok / error / over window / truncated", "counts"),
    Column("n_cells", lambda v: len(v.final)),
    Column("n_error", lambda v: n_status(v.final, "error")),
    Column("n_model_length", lambda v: n_status(v.final, "model_length")),
    Column("n_truncated", lambda v: n_status(v.final, "truncated")),
    Column(
        "by_length",
        lambda v: [_slice_json("length", k, s) for k, s in slices(v.final, "length")],
        "by length",
        "chips",
    ),
    Column("by_depth", lambda v: [_slice_json("depth", k, s) for k, s in slices(v.final, "depth")]),
    Column("by_language", lambda v: [_slice_json("language", k, s) for k, s in slices(v.final, "language")]),
    Column("effective_context_length", _effective_json, "effective length [range]", "effective"),
    Column(
        "hallucination_rate",
        lambda v: prop_json(_flag_rate(v.final, "hallucinated")),
        "hallucination [95% CI]",
        "proportion",
    ),
    Column("closed_book", _closed_book_json, "known without the text", "closed_book"),
    Column("outcomes", lambda v: outcome_counts(v.final)),
    Column("provider", lambda v: _first(v.final["provider"])),
    Column("languages", lambda v: sorted({str(x) for x in v.final["language"].dropna() if x})),
    Column("seeds", lambda v: sorted({int(x) for x in v.final["seed"].dropna()})),
    Column(
        "grid",
        lambda v: {
            "lengths": [k for k, _ in slices(v.final, "length")],
            "depths": [k for k, _ in slices(v.final, "depth")],
        },
    ),
    Column(
        "tokens_exact", lambda v: bool(v.final["tokens_exact"].fillna(False).all()) if len(v.final) else None
    ),
    Column("cost_usd", lambda v: _cost(v.attempts), "cost (USD)", "cost"),
    Column("cost_complete", lambda v: _cost_complete(v.attempts)),
    Column("tokens", lambda v: _tokens(v.attempts), "tokens in / out", "tokens"),
    Column("n_attempt_records", lambda v: len(v.attempts)),
    Column("runs", lambda v: v.runs),
    Column("sampling", lambda v: sampling_json(v), "sampling", "sampling"),
)


def entry_json(view: GroupView) -> dict[str, Any]:
    """One leaderboard entry: every :data:`ENTRY_COLUMNS` aggregation of the group's frames."""
    return {c.key: c.agg(view) for c in ENTRY_COLUMNS}


def _config_hash(header: RunHeader | None) -> str | None:
    if header is None:
        return None
    canon = json.dumps(header.config.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def answered_by_other(requested: str | None, answered: Iterable[str]) -> list[str]:
    """Model ids a provider reported that are not the one asked (a dated snapshot of it counts as it):
    vendors silently route retired or aliased names to other models."""
    if not requested:
        return []
    return sorted({m for m in answered if m and m != requested and not m.startswith(requested)})


def _run_json(run: RunData) -> dict[str, Any]:
    h = run.header
    model = h.model if h is not None else ModelRecord()
    answered = sorted({r.model_id for r in run.records if r.model_id})
    return {
        "run": run.name,
        "created": h.created if h else None,
        "git_commit": h.git_commit if h else None,
        "suite_version": h.suite_version if h else None,
        "model_alias": model.alias,
        "model_id": model.model_id,
        "provider": model.provider,
        "tokenizer": h.tokenizer if h else None,
        "tokens_exact": h.tokens_exact if h else None,
        "corpus_sha256": h.corpus_sha256 if h else None,
        "config_hash": _config_hash(h),
        "run_identity": h.run_identity if h else None,
        "n_records": len(run.records),
        "n_skipped_lines": run.skipped_lines,
        "header_found": h is not None,
        "answered_by": answered,
        "answered_by_other": answered_by_other(model.model_id, answered),
    }


# ---------------------------------------------------------------------------------------------- sampling


def _run_sampling(run: RunData, model: str, task: str) -> tuple[Sampling, list[SamplerStatus] | None]:
    """How a run sampled its grid (``sampling.json``, else the header's ``sampling``, else a full grid)
    and its sampler statuses for this (model, task): ``(how, statuses)``; statuses None for a full grid."""
    doc = run.sampling
    if doc is None or doc.method != "adaptive":
        how = doc or (run.header.sampling if run.header is not None else None) or Sampling()
        if how.method == "adaptive":  # header says adaptive, but no sampling.json was left
            return (
                how.model_copy(update={"note": "sampling.json missing: the sampler's status is unknown"}),
                None,
            )
        return (how, None)
    return (doc, [g for g in doc.groups if g.task == task and g.model in (model, None)])


def sampling_json(v: GroupView) -> dict[str, Any]:
    """The entry's ``sampling``: how its grid was sampled and, when adaptively, why sampling stopped.

    Full grids give ``{"method": "full"}``. Adaptive ones carry the sampler's settings and assumption, and
    from its final status (``sampling.json``): ``settled``, ``reason`` (why it stopped), ``stopped`` (budget,
    interruption, fatal error, or null), ``assumption_ok`` and ``assumption_note`` (the check of the
    assumption on the data), the sampler's ``effective_length`` with its plausible range ``lower``/``upper``,
    and ``n_observed`` of ``n_candidates`` cells. Several runs or languages: ``method`` "mixed" when the runs
    differ; the per-language statuses are in ``samplers``.
    """
    if not v.sampling:
        return {"method": "full"}
    methods = sorted({how.method for how, _ in v.sampling})
    adaptive = [(how, st) for how, st in v.sampling if how.method == "adaptive"]
    if not adaptive:
        out: dict[str, Any] = {"method": methods[0] if len(methods) == 1 else "mixed"}
        notes = [how.note for how, _ in v.sampling if how.note is not None]
        return out | ({"note": "; ".join(notes)} if notes else {})
    how, _ = adaptive[0]
    groups = [g for _, st in adaptive if st is not None for g in st]
    out = {
        "method": "adaptive" if len(methods) == 1 else "mixed",
        "settings": how.settings.to_json() if how.settings is not None else None,
        "assumption": how.assumption,
        "stopped": "; ".join(sorted({h.stopped for h, _ in adaptive if h.stopped})) or None,
    }
    if not groups:
        return out | {"settled": False, "reason": how.note or "no sampler status", "samplers": []}
    one = len(groups) == 1
    tag = (lambda g: "") if one else (lambda g: f"{g.language}: ")
    return out | {
        "settled": all(g.settled for g in groups),
        "reason": "; ".join(tag(g) + g.reason for g in groups),
        "assumption_ok": all(g.assumption_ok for g in groups),
        "assumption_note": "; ".join(tag(g) + g.assumption_note for g in groups),
        "effective_length": groups[0].effective_length if one else None,
        "lower": groups[0].lower if one else None,
        "upper": groups[0].upper if one else None,
        "n_observed": sum(g.n_observed for g in groups),
        "n_candidates": sum(g.n_cells for g in groups),
        "samplers": [
            {
                k: getattr(g, k)
                for k in (
                    "language",
                    "effective_length",
                    "lower",
                    "upper",
                    "settled",
                    "reason",
                    "assumption_ok",
                    "n_observed",
                    "n_cells",
                )
            }
            for g in groups
        ],
    }


# ---------------------------------------------------------------------------------------------- comparisons

#: Recall differences the ``--repeats`` guidance sizes for (absolute, in recall units).
DETECT_DIFFS = (0.05, 0.10, 0.20)


def _paired_scores(df: Any) -> tuple[dict[tuple[Any, ...], float], dict[tuple[Any, ...], tuple[str, int]]]:
    """Scored rows keyed by cell identity minus model: ``(language, length, depth, seed)``; their clusters."""
    ok = df[df["status"] == "ok"]
    keys = [
        (str(lang or ""), int(length), round(float(depth), 6), int(seed))
        for lang, length, depth, seed in zip(
            ok["language"], ok["length"], ok["depth"], ok["seed"], strict=True
        )
    ]
    values = dict(zip(keys, (float(x) for x in ok["score"]), strict=True))
    return values, {k: (k[0], k[3]) for k in keys}


def _diff_json(d: PairedDifference) -> dict[str, Any]:
    return {
        "diff": _r(d.diff),
        "ci_low": _r(d.low),
        "ci_high": _r(d.high),
        "se": _r(d.se),
        "n": d.n,
        "n_clusters": d.n_clusters,
        "n_only_a": d.n_only_a,
        "n_only_b": d.n_only_b,
        "interval": d.method,
    }


def icc_oneway(values: Sequence[float], clusters: Sequence[Any]) -> float:
    """Intra-class correlation of ``values`` within ``clusters`` (one-way ANOVA estimator, clamped to
    [0, 1]; 0 with fewer than two clusters or no variation)."""
    groups: dict[Any, list[float]] = {}
    for v, c in zip(values, clusters, strict=True):
        groups.setdefault(c, []).append(v)
    k, n = len(groups), len(values)
    if k < 2 or n <= k:
        return 0.0
    mean = math.fsum(values) / n
    ssb = math.fsum(len(g) * (math.fsum(g) / len(g) - mean) ** 2 for g in groups.values())
    ssw = math.fsum((x - math.fsum(g) / len(g)) ** 2 for g in groups.values() for x in g)
    msb, msw = ssb / (k - 1), ssw / (n - k)
    m0 = (n - math.fsum(len(g) ** 2 for g in groups.values()) / n) / (k - 1)
    denom = msb + (m0 - 1) * msw
    if denom <= 0:
        return 0.0
    return min(1.0, max(0.0, (msb - msw) / denom))


def repeats_guidance(
    diffs: Sequence[float],
    clusters: Sequence[Any],
    cells_per_seed: int,
    p: float | None = None,
    icc: float | None = None,
) -> dict[str, Any]:
    """Seeds (``--repeats``) a paired comparison on this grid needs to detect each of :data:`DETECT_DIFFS`
    (two-sided 5% test, 80% power; :func:`evals.stats.seeds_needed`).

    Args:
        diffs: per-cell paired differences ``a - b`` measured on shared cells (empty: use ``p``).
        clusters: their clusters (seeds).
        cells_per_seed: cells one seed adds (lengths x depths).
        p: recall of the better model, for the conservative independent-answers spread when no paired
            differences are known.
        icc: within-seed correlation to assume when no paired differences are known (e.g. that of one
            model's scores); default 0.

    Returns:
        ``{"basis", "sd", "icc", "cells_per_seed", "alpha", "power", "seeds": [{"diff", "seeds"}...]}``;
        ``seeds`` null for a difference the basis cannot size (no spread measured).
    """
    n = len(diffs)
    sd: float | None = None
    icc = icc or 0.0
    basis = "independent answers at the better model's recall (conservative)"
    if n >= 2:
        mean = math.fsum(diffs) / n
        sd = math.sqrt(math.fsum((x - mean) ** 2 for x in diffs) / (n - 1))
        icc = icc_oneway(diffs, clusters)
        basis = "paired differences measured on the shared cells"
    out = []
    for d in DETECT_DIFFS:
        try:
            if sd is not None and sd > 0:
                seeds = seeds_needed(d, sd=sd, cells_per_seed=cells_per_seed, icc=icc)
            elif p is not None:
                seeds = seeds_needed(d, p=max(p, d), cells_per_seed=cells_per_seed, icc=icc)
            else:
                seeds = None
        except ValueError:
            seeds = None
        out.append({"diff": d, "seeds": seeds})
    return {
        "basis": basis,
        "sd": _r(sd),
        "icc": _r(icc),
        "cells_per_seed": cells_per_seed,
        "alpha": 0.05,
        "power": 0.8,
        "seeds": out,
    }


def compare_pair(a: GroupView, b: GroupView) -> dict[str, Any]:
    """Paired comparison of two models on one task: recall ``a - b`` on the cells both scored (same
    language, length, depth and seed), with intervals clustered by seed, overall and by length, and the
    seeds a comparison on this grid needs to detect 5/10/20-point differences."""
    sa, ca = _paired_scores(a.final)
    sb, _ = _paired_scores(b.final)
    overall = paired_difference(sa, sb, ca)
    lengths = sorted({k[1] for k in sa} | {k[1] for k in sb})
    by_length = []
    for length in lengths:
        pa = {k: v for k, v in sa.items() if k[1] == length}
        pb = {k: v for k, v in sb.items() if k[1] == length}
        by_length.append({"length": length, **_diff_json(paired_difference(pa, pb, ca))})
    shared = [k for k in sa if k in sb]
    n_seeds = len({ca[k] for k in shared})
    cells_per_seed = max(1, round(len(shared) / n_seeds)) if n_seeds else 1
    better = max((x for x in (_mean(sa.values()), _mean(sb.values())) if x is not None), default=None)
    guidance = repeats_guidance(
        [sa[k] - sb[k] for k in shared], [ca[k] for k in shared], cells_per_seed, better
    )
    guidance["seeds_now"] = n_seeds
    return {
        "task": a.task,
        "model_a": a.model,
        "model_b": b.model,
        "recall_diff": _diff_json(overall),
        "by_length": by_length,
        "repeats": guidance,
    }


def guidance_against(run_dir: Path, task: str, cells_per_seed: int) -> dict[str, Any] | None:
    """``--dry-run --compare-with RUN_DIR``: the seeds a paired comparison with that finished run needs.

    The new model's answers are unknown, so the spread of the paired differences is the conservative one of
    independent answers at the finished run's recall (:func:`evals.stats.seeds_needed` with ``p``), and the
    within-seed correlation is that of the finished run's scores.

    Args:
        run_dir: a finished run of another model.
        task: the task to compare on.
        cells_per_seed: grid cells one seed adds in the planned run (lengths x depths).

    Returns:
        :func:`repeats_guidance` plus ``model`` and ``recall`` of the finished run; None when it has no
        scored cell of ``task``.
    """
    data = collect([run_dir])
    for g in data.groups:
        if g.task != task:
            continue
        ok = g.frame[g.frame["status"] == "ok"]
        if ok.empty:
            return None
        values = [float(x) for x in ok["score"]]
        p = math.fsum(values) / len(values)
        icc = icc_oneway(values, cluster_keys(ok))
        out = repeats_guidance([], [], cells_per_seed, p=p, icc=icc)
        return out | {"model": g.model, "recall": _r(p), "seeds_there": len(set(cluster_keys(ok)))}
    return None


def _mean(values: Any) -> float | None:
    vals = list(values)
    return math.fsum(vals) / len(vals) if vals else None


def comparisons(data: ReportData) -> list[dict[str, Any]]:
    """Every pair of models on each task (sorted by task, then model names), see :func:`compare_pair`."""
    out = []
    tasks = sorted({g.task for g in data.groups}, key=task_sort_key)
    for task in tasks:
        groups = sorted((g for g in data.groups if g.task == task), key=lambda g: g.model)
        for i, ga in enumerate(groups):
            for gb in groups[i + 1 :]:
                out.append(compare_pair(ga.view, gb.view))
    return out


def _inputs_sha256(data: ReportData) -> str:
    h = hashlib.sha256()
    final = {cid: rec for g in data.groups for cid, rec in g.records.items()}
    for cid in sorted(final):
        rec = final[cid]
        item = [rec.cell_id, rec.input_sha256, rec.status, rec.score, rec.answer]
        h.update(json.dumps(item, ensure_ascii=False).encode("utf-8") + b"\n")
    return h.hexdigest()


def _generated_at() -> str:
    # SOURCE_DATE_EPOCH (the reproducible-builds convention) pins the timestamp for byte-identical output.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        if epoch and epoch.isdigit()
        else datetime.now(timezone.utc)
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_leaderboard(data: ReportData, threshold: float | None = None) -> dict[str, Any]:
    """The ``leaderboard.json`` document (schema ``niah-leaderboard/3``, see docs/leaderboard.md).

    Args:
        data: loaded runs and groups.
        threshold: recall threshold of the effective context length (default: the one of :func:`collect`).

    Returns:
        A JSON-ready dict; apart from ``generated_at`` it is a pure function of the inputs.
    """
    if threshold is not None:
        for g in data.groups:
            g.view.threshold = threshold
    shown = data.groups[0].view.threshold if data.groups else (threshold or DEFAULT_THRESHOLD)
    return {
        "schema": LEADERBOARD_SCHEMA,
        "suite_version": __version__,
        "generated_at": _generated_at(),
        "threshold": shown,
        "confidence": 0.95,
        "z": Z95,
        "interval": "clustered",
        "taxonomy": list(TAXONOMY),
        "inputs_sha256": _inputs_sha256(data),
        "runs": [_run_json(r) for r in data.runs],
        "entries": [entry_json(g.view) for g in data.groups],
        "comparisons": comparisons(data),
    }
