"""Loading and aggregating run directories for the reports, and the ``leaderboard.json`` document.

Reads ``header.json`` and ``results.jsonl`` of each run (never writes them), tolerating damage: an empty run
directory, a missing header, corrupt lines and a torn last line each become a warning naming the file (and
line), and the rest is used. Final records (the last non-error record per cell, see
:func:`evals.results.latest_by_cell`) are grouped per (model, task) and summarised with :mod:`evals.stats`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals import __version__
from evals.errors import EvalError, ResultsError
from evals.results import HEADER_FILE, RESULTS_FILE, latest_by_cell, read_header
from evals.stats import (
    Z95,
    EffectiveLength,
    Proportion,
    effective_length_with_ci,
    proportion,
)

LEADERBOARD_SCHEMA = "niah-leaderboard/1"
DEFAULT_THRESHOLD = 0.85
TASK_ORDER = ("single", "multi", "distractor", "changed_line", "no_needle")
STATUSES = ("ok", "error", "model_length")
SAMPLE_CHARS = 300
REQUIRED_FIELDS = ("cell_id", "model", "task", "length", "depth", "status")


class ReportError(EvalError):
    """Nothing could be reported, or the report's arguments are invalid."""


# ---------------------------------------------------------------------------------------------- loading


@dataclass
class RunData:
    """One run directory as read by the reports.

    Attributes:
        path: the run directory.
        name: its name (the directory's base name).
        header: the parsed ``header.json``, or None when missing or unreadable.
        records: every valid record of ``results.jsonl`` in file order (superseded attempts included).
        warnings: what was skipped and why, one line each, naming the file (and line).
        skipped_lines: unreadable or invalid lines of ``results.jsonl`` that were skipped.
    """

    path: Path
    name: str
    header: dict[str, Any] | None
    records: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped_lines: int = 0


def _is_run_dir(path: Path) -> bool:
    return (path / RESULTS_FILE).is_file() or (path / HEADER_FILE).is_file()


def expand_run_dirs(paths: Sequence[Path]) -> list[Path]:
    """Resolve the user's paths to run directories.

    A path that is itself a run directory (holds ``results.jsonl`` or ``header.json``) is kept; a directory
    that is not but has run directories as children (e.g. ``results/``) stands for those children, sorted by
    name; any other directory is kept (and reported as empty when loaded).

    Args:
        paths: directories named by the user.

    Returns:
        The run directories, duplicates removed, order kept.

    Raises:
        ReportError: if a path does not exist or is not a directory.
    """
    out: list[Path] = []
    for p in paths:
        if not p.exists():
            raise ReportError(f"run directory not found: {p}")
        if not p.is_dir():
            raise ReportError(f"not a directory: {p}")
        if _is_run_dir(p):
            out.append(p)
            continue
        children = sorted(c for c in p.iterdir() if c.is_dir() and _is_run_dir(c))
        out.extend(children or [p])
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _check_record(obj: Any) -> str | None:
    """Why a parsed JSONL value is not a usable record, or None when it is."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    missing = [k for k in REQUIRED_FIELDS if k not in obj]
    if missing:
        return "missing field(s) " + ", ".join(missing)
    for key in ("cell_id", "model", "task"):
        if not isinstance(obj[key], str) or not obj[key]:
            return f"bad {key} {obj[key]!r}"
    if obj["status"] not in STATUSES:
        return f"unknown status {obj['status']!r}"
    if not isinstance(obj["length"], int) or isinstance(obj["length"], bool) or obj["length"] <= 0:
        return f"bad length {obj['length']!r}"
    depth = obj["depth"]
    if not isinstance(depth, int | float) or isinstance(depth, bool) or not 0 <= depth <= 100:
        return f"bad depth {depth!r}"
    if obj["status"] == "ok":
        score = obj.get("score")
        if (
            not isinstance(score, int | float)
            or isinstance(score, bool)
            or not math.isfinite(score)
            or not 0 <= score <= 1
        ):
            return f"ok record with bad score {score!r}"
    return None


def load_run(path: Path) -> RunData:
    """Read one run directory, tolerating damage.

    A missing or unreadable ``header.json``, a missing ``results.jsonl``, corrupt lines and a torn last line
    (an interrupted write) each add a warning and are skipped; nothing is ever written.

    Args:
        path: the run directory.

    Returns:
        The run's header (or None) and its valid records.
    """
    run = RunData(path=path, name=path.name or str(path), header=None)
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
        raw = results_path.read_bytes()
    except OSError as exc:
        run.warnings.append(f"{results_path}: unreadable ({one_line(exc)})")
        return run
    lines = raw.split(b"\n")
    torn_candidate = len(lines) - 1 if lines and lines[-1] else None  # last line without a newline
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            run.skipped_lines += 1
            if i == torn_candidate:
                run.warnings.append(
                    f"{results_path}: line {i + 1}: torn last line (interrupted write), skipped"
                )
            else:
                run.warnings.append(
                    f"{results_path}: line {i + 1}: corrupt JSON (a write torn by a crash?), skipped"
                )
            continue
        problem = _check_record(obj)
        if problem:
            run.skipped_lines += 1
            run.warnings.append(f"{results_path}: line {i + 1}: {problem}, skipped")
            continue
        obj["_run"] = run.name
        obj["_line"] = i + 1
        run.records.append(obj)
    if not run.records:
        run.warnings.append(f"{results_path}: no valid records; nothing to report from it")
    return run


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when empty)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------- aggregation


def _depth_key(depth: float) -> float:
    return round(float(depth), 6)


def depth_label(depth: float) -> str:
    """Axis label of a depth: ``50%``, ``12.5%``."""
    return f"{depth:g}%"


def task_sort_key(task: str) -> tuple[int, str]:
    """Sort key putting the known tasks in their canonical order, unknown ones after, alphabetically."""
    return (TASK_ORDER.index(task) if task in TASK_ORDER else len(TASK_ORDER), task)


def error_text(rec: dict[str, Any]) -> str:
    """One-line description of why a record has no score (its ``error``, else its status)."""
    err = rec.get("error")
    if isinstance(err, dict):
        parts = [str(err.get(k)) for k in ("type", "message") if err.get(k)]
        text = ": ".join(parts) if parts else json.dumps(err, sort_keys=True)
    elif err:
        text = str(err)
    else:
        text = rec["status"]
    return " ".join(text.split())[:SAMPLE_CHARS]


def truncate(text: str, limit: int = SAMPLE_CHARS) -> str:
    """Whitespace collapsed to single spaces, cut to ``limit`` characters (ending with an ellipsis)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Cell:
    """All records of one heatmap cell (a length × depth pair, over seeds and languages)."""

    length: int
    depth: float
    records: list[dict[str, Any]]

    @property
    def ok(self) -> list[dict[str, Any]]:
        """Scored records."""
        return [r for r in self.records if r["status"] == "ok"]

    @property
    def n_error(self) -> int:
        """Records whose call failed."""
        return sum(1 for r in self.records if r["status"] == "error")

    @property
    def n_model_length(self) -> int:
        """Records whose prompt exceeded the model's window."""
        return sum(1 for r in self.records if r["status"] == "model_length")

    @property
    def recall(self) -> Proportion:
        """Mean score of the scored records with its Wilson interval."""
        return proportion(float(r["score"]) for r in self.ok)

    def sample(self) -> dict[str, Any] | None:
        """A representative scored record: the first wrong one if any, else the first."""
        ok = self.ok
        if not ok:
            return None
        wrong = [r for r in ok if float(r["score"]) < 1]
        return (wrong or ok)[0]

    def prompt_tokens(self) -> str:
        """The prompt-token count(s) of the cell's records as text (``2003`` or ``1990–2010``)."""
        values = sorted(
            int(r["prompt_tokens"])
            for r in self.records
            if isinstance(r.get("prompt_tokens"), int) and not isinstance(r.get("prompt_tokens"), bool)
        )
        if not values:
            return "n/a"
        return str(values[0]) if values[0] == values[-1] else f"{values[0]}–{values[-1]}"


def _record_order(rec: dict[str, Any]) -> tuple[Any, ...]:
    seed = rec.get("seed")
    return (seed if isinstance(seed, int) else 0, str(rec.get("language", "")), rec["cell_id"])


@dataclass
class Group:
    """One (model, task): its final records laid out on its own grid, plus every raw record for cost."""

    model: str
    task: str
    records: list[dict[str, Any]]
    raw_records: list[dict[str, Any]]
    runs: list[str]
    lengths: list[int] = field(init=False)
    depths: list[float] = field(init=False)
    cells: dict[tuple[int, float], Cell] = field(init=False)

    def __post_init__(self) -> None:
        by_cell: dict[tuple[int, float], list[dict[str, Any]]] = defaultdict(list)
        for rec in sorted(self.records, key=_record_order):
            by_cell[(int(rec["length"]), _depth_key(rec["depth"]))].append(rec)
        self.cells = {k: Cell(k[0], k[1], v) for k, v in by_cell.items()}
        self.lengths = sorted({k[0] for k in self.cells})
        self.depths = sorted({k[1] for k in self.cells})

    @property
    def ok(self) -> list[dict[str, Any]]:
        """Scored records."""
        return [r for r in self.records if r["status"] == "ok"]

    @property
    def recall(self) -> Proportion:
        """Overall mean score with its Wilson interval (errors and over-window cells excluded)."""
        return proportion(float(r["score"]) for r in self.ok)

    def by(self, key: str) -> dict[Any, list[dict[str, Any]]]:
        """Final records grouped by ``length``, ``depth`` or ``language``, keys sorted."""
        out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for rec in self.records:
            if key == "length":
                k: Any = int(rec["length"])
            elif key == "depth":
                k = _depth_key(rec["depth"])
            else:
                k = str(rec.get(key) or "")
            out[k].append(rec)
        return dict(sorted(out.items()))

    def effective_length(self, threshold: float) -> EffectiveLength:
        """Effective context length over this group's lengths (see :mod:`evals.stats`)."""
        per_length = {
            k: proportion(float(r["score"]) for r in v if r["status"] == "ok")
            for k, v in self.by("length").items()
        }
        return effective_length_with_ci(per_length, threshold)

    def hallucination(self) -> Proportion | None:
        """No-needle only: share of scored answers that state an invented value."""
        if self.task != "no_needle":
            return None
        flags = []
        for rec in self.ok:
            detail = rec.get("score_detail")
            flag = detail.get("hallucinated") if isinstance(detail, dict) else None
            flags.append(1.0 if (flag if isinstance(flag, bool) else float(rec["score"]) < 1) else 0.0)
        return proportion(flags)


@dataclass
class ReportData:
    """Everything a report is made from."""

    runs: list[RunData]
    groups: list[Group]

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


def collect(run_dirs: Sequence[Path]) -> ReportData:
    """Load run directories and group their final records by (model, task).

    Args:
        run_dirs: run directories (already expanded, see :func:`expand_run_dirs`).

    Returns:
        The loaded runs (with their warnings) and the groups; groups may be empty.
    """
    runs = [load_run(p) for p in run_dirs]
    names = [r.name for r in runs]
    for r in runs:  # two runs with the same directory name: disambiguate by their path
        if names.count(r.name) > 1:
            r.name = str(r.path)
            for rec in r.records:
                rec["_run"] = r.name
    all_records = [rec for r in runs for rec in r.records]
    final = latest_by_cell(all_records)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for rec in final.values():
        grouped[(str(rec["model"]), str(rec["task"]))].append(rec)
    raw: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for rec in all_records:
        raw[(str(rec["model"]), str(rec["task"]))].append(rec)
    order = {r.name: i for i, r in enumerate(runs)}
    groups = []
    for key in sorted(grouped, key=lambda k: (k[0], task_sort_key(k[1]))):
        recs = grouped[key]
        run_names = sorted({r["_run"] for r in raw[key]}, key=order.__getitem__)
        groups.append(Group(model=key[0], task=key[1], records=recs, raw_records=raw[key], runs=run_names))
    return ReportData(runs=runs, groups=groups)


# ---------------------------------------------------------------------------------------------- leaderboard


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(x, digits)


def _prop_json(p: Proportion) -> dict[str, Any]:
    return {"mean": _r(p.mean), "ci_low": _r(p.ci_low), "ci_high": _r(p.ci_high), "n": p.n}


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _num_or_none(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None


def _usage_totals(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    totals = {"input": 0, "output": 0, "cached_input": 0}
    for rec in records:
        usage = rec.get("usage") if isinstance(rec.get("usage"), dict) else {}
        inp = _int_or_none(usage.get("input_tokens"))
        if inp is None and rec["status"] == "ok":
            inp = _int_or_none(rec.get("prompt_tokens"))
        totals["input"] += inp or 0
        totals["output"] += _int_or_none(usage.get("output_tokens")) or 0
        totals["cached_input"] += _int_or_none(usage.get("cached_input_tokens")) or 0
    return totals


def _cost(records: Sequence[dict[str, Any]]) -> tuple[float, bool]:
    """Total spend (the call's ``cost_usd`` plus an LLM judge's) and whether every scored record had a price.

    A failed call (``error``, ``model_length``) without a cost is taken as free; a scored record without one
    means the model's price is unknown, and the total is then a lower bound.
    """
    total: list[float] = []
    complete = True
    for rec in records:
        cost = _num_or_none(rec.get("cost_usd"))
        if cost is None:
            complete = complete and rec["status"] != "ok"
        else:
            total.append(cost)
        judge = rec.get("judge")
        if isinstance(judge, dict):
            judge_cost = _num_or_none(judge.get("cost_usd"))
            if judge_cost is not None:
                total.append(judge_cost)
    return math.fsum(total), complete


def _slice_json(length_or_depth: str, key: Any, recs: list[dict[str, Any]]) -> dict[str, Any]:
    p = proportion(float(r["score"]) for r in recs if r["status"] == "ok")
    return {
        length_or_depth: key,
        "n": p.n,
        "n_error": sum(1 for r in recs if r["status"] == "error"),
        "n_model_length": sum(1 for r in recs if r["status"] == "model_length"),
        "recall": _r(p.mean),
        "ci_low": _r(p.ci_low),
        "ci_high": _r(p.ci_high),
    }


def _config_hash(header: dict[str, Any] | None) -> str | None:
    if not header or not isinstance(header.get("config"), dict):
        return None
    canon = json.dumps(header["config"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def _run_json(run: RunData) -> dict[str, Any]:
    h = run.header or {}
    model = h.get("model") if isinstance(h.get("model"), dict) else {}
    return {
        "run": run.name,
        "created": h.get("created"),
        "git_commit": h.get("git_commit"),
        "suite_version": h.get("suite_version"),
        "model_alias": model.get("alias"),
        "model_id": model.get("model_id"),
        "provider": model.get("provider"),
        "tokenizer": h.get("tokenizer"),
        "tokens_exact": h.get("tokens_exact"),
        "corpus_sha256": h.get("corpus_sha256"),
        "config_hash": _config_hash(run.header),
        "run_identity": h.get("run_identity"),
        "n_records": len(run.records),
        "n_skipped_lines": run.skipped_lines,
        "header_found": run.header is not None,
    }


def _group_json(group: Group, runs: dict[str, RunData], threshold: float) -> dict[str, Any]:
    eff = group.effective_length(threshold)
    hall = group.hallucination()
    cost, cost_complete = _cost(group.raw_records)
    exact = [r.get("tokens_exact") for r in group.records if isinstance(r.get("tokens_exact"), bool)]
    return {
        "model": group.model,
        "task": group.task,
        "provider": next((r["provider"] for r in group.records if r.get("provider")), None),
        "languages": sorted({str(r.get("language")) for r in group.records if r.get("language")}),
        "seeds": sorted({r["seed"] for r in group.records if isinstance(r.get("seed"), int)}),
        "grid": {"lengths": group.lengths, "depths": group.depths},
        "tokens_exact": all(exact) if exact else None,
        "n_cells": len(group.records),
        "n_ok": len(group.ok),
        "n_error": sum(1 for r in group.records if r["status"] == "error"),
        "n_model_length": sum(1 for r in group.records if r["status"] == "model_length"),
        "recall": _prop_json(group.recall),
        "by_length": [_slice_json("length", k, v) for k, v in group.by("length").items()],
        "by_depth": [_slice_json("depth", k, v) for k, v in group.by("depth").items()],
        "by_language": [_slice_json("language", k, v) for k, v in group.by("language").items()],
        "effective_context_length": {
            "value": eff.value,
            "ci_low_value": eff.ci_low_value,
            "ci_high_value": eff.ci_high_value,
            "threshold": threshold,
            "n": eff.n,
        },
        "hallucination_rate": None if hall is None else _prop_json(hall),
        "cost_usd": _r(cost, 8),
        "cost_complete": cost_complete,
        "tokens": _usage_totals(group.raw_records),
        "n_attempt_records": len(group.raw_records),
        "runs": [_run_json(runs[name]) for name in group.runs],
    }


def _inputs_sha256(data: ReportData) -> str:
    h = hashlib.sha256()
    final = sorted((rec for g in data.groups for rec in g.records), key=lambda r: r["cell_id"])
    for rec in final:
        item = [rec["cell_id"], rec.get("input_sha256"), rec["status"], rec.get("score"), rec.get("answer")]
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


def build_leaderboard(data: ReportData, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """The ``leaderboard.json`` document (schema ``niah-leaderboard/1``, see docs/leaderboard.md).

    Args:
        data: loaded runs and groups.
        threshold: recall threshold of the effective context length.

    Returns:
        A JSON-ready dict; apart from ``generated_at`` it is a pure function of the inputs.
    """
    runs = {r.name: r for r in data.runs}
    return {
        "schema": LEADERBOARD_SCHEMA,
        "suite_version": __version__,
        "generated_at": _generated_at(),
        "threshold": threshold,
        "confidence": 0.95,
        "z": Z95,
        "interval": "wilson",
        "inputs_sha256": _inputs_sha256(data),
        "runs": [_run_json(r) for r in data.runs],
        "entries": [_group_json(g, runs, threshold) for g in data.groups],
    }
