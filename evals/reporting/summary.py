"""The end-of-run summary: counts, mean score per (length, depth), cost, judge agreement; table and JSON."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.execution.provenance import now_utc
from evals.grading.judge import agreement
from evals.reporting.data import answered_by_other
from evals.store.record import STATUSES
from evals.store.results import RESULTS_FILE, latest_by_cell, read_records

if TYPE_CHECKING:
    from rich.console import Console

    from evals.execution.session import RunOutcome
    from evals.planning.prepare import PreparedRun

__all__ = ["print_summary", "summarize"]

# ------------------------------------------------------------------------------------------- summary


def summarize(run_dir: Path) -> dict[str, Any]:
    """Summary of a run directory from one read of its typed records: counts, score grids, cost, judge
    agreement.

    Grid cells (``kind == "cell"``) make the counts and the score grids; ``truncated``, ``error`` and
    ``model_length`` cells are counted, never scored. Closed-book questions are counted apart
    (``closed_book``: asked, answered right), never pooled into the scores.

    Args:
        run_dir: The run directory.

    Returns:
        The ``summary.json`` object.
    """
    records = read_records(run_dir / RESULTS_FILE)
    latest = latest_by_cell(records)
    cells = [r for r in latest.values() if r.kind == "cell"]
    closed = [r for r in latest.values() if r.kind == "closed_book"]
    counts = dict.fromkeys(STATUSES, 0)
    grids: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    pairs: list[tuple[float, int]] = []
    scores: list[float] = []
    hallucinated = 0
    served: dict[str, int] = defaultdict(int)
    for rec in cells:
        counts[rec.status] += 1
        if rec.model_id:
            served[rec.model_id] += 1
        if rec.status != "ok" or rec.score is None:
            continue
        scores.append(rec.score)
        grids[rec.task][str(rec.length)][f"{rec.depth:g}"].append(rec.score)
        hallucinated += bool(rec.hallucinated)
        if rec.judge is not None and rec.judge.score is not None:
            pairs.append((rec.score, rec.judge.score))
    mean_grids = {
        task: {
            length: {
                depth: round(sum(v) / len(v), 4)
                for depth, v in sorted(row.items(), key=lambda x: float(x[0]))
            }
            for length, row in sorted(rows.items(), key=lambda x: int(x[0]))
        }
        for task, rows in grids.items()
    }
    out: dict[str, Any] = {
        "cells": len(cells),
        "records": len(records),
        "counts": counts,
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
        "hallucinated": hallucinated,
        "scores": mean_grids,
        "closed_book": {
            "asked": len(closed),
            "known": sum(1 for r in closed if r.status == "ok" and r.score == 1.0),
        },
        "cost_usd": round(sum(r.spend for r in records), 6),
        "prompt_tokens_sent": sum(r.prompt_tokens or 0 for r in records),
        "judge_agreement": agreement(pairs).to_dict() if pairs else None,
        "served_models": dict(served),
        "updated": now_utc(),
    }
    return out


def print_summary(summary: dict[str, Any], prep: PreparedRun, outcome: RunOutcome, console: Console) -> None:
    """Print the end-of-run table: mean score per (length, depth) for each task, then counts and cost."""
    from rich.table import Table

    for task in sorted(
        summary["scores"], key=lambda t: prep.grid.tasks.index(t) if t in prep.grid.tasks else 99
    ):
        rows = summary["scores"][task]
        depths = sorted({d for row in rows.values() for d in row}, key=float)
        t = Table(title=f"{prep.info.alias} — {task}: mean score by length (rows) and depth % (columns)")
        t.add_column("length", justify="right")
        for d in depths:
            t.add_column(d, justify="right")
        for length, row in rows.items():
            cells = []
            for d in depths:
                v = row.get(d)
                if v is None:
                    cells.append("·")
                else:
                    color = "green" if v >= 0.8 else "yellow" if v >= 0.5 else "red"
                    cells.append(f"[{color}]{v:.2f}[/{color}]")
            t.add_row(length, *cells)
        console.print(t)
    c = summary["counts"]
    s = Table(title="Run summary", show_header=False)
    s.add_column("what", style="bold")
    s.add_column("value")
    s.add_row("run directory", str(prep.run_dir))
    s.add_row("cells", f"{summary['cells']} of {len(prep.cells)}")
    s.add_row("ok", str(c.get("ok", 0)))
    s.add_row("error (retried on rerun)", str(c.get("error", 0)))
    s.add_row("model_length", str(c.get("model_length", 0)))
    s.add_row("truncated (not scored)", str(c.get("truncated", 0)))
    s.add_row("this invocation", f"{outcome.ran} cells in {outcome.wall_s:.1f} s, {outcome.retries} retries")
    if summary["mean_score"] is not None:
        s.add_row("mean score", f"{summary['mean_score']:.3f}")
    if summary["hallucinated"]:
        s.add_row("hallucinated answers", str(summary["hallucinated"]))
    served = summary.get("served_models") or {}
    asked = prep.info.model_id
    other = answered_by_other(asked, served)
    if other:
        answered = ", ".join(f"{m} ({served[m]})" for m in other)
        s.add_row("answered by", f"{answered}: the provider reported another model than {asked}")
    cb = summary.get("closed_book") or {}
    if cb.get("asked"):
        s.add_row("closed book (no text)", f"{cb['known']} of {cb['asked']} answered right")
    s.add_row("cost", f"${summary['cost_usd']:.4f} (this invocation ${outcome.spent_usd:.4f})")
    ja = summary.get("judge_agreement")
    if ja:
        kappa = "n/a" if ja["kappa"] is None else f"{ja['kappa']:.2f}"
        s.add_row(
            "judge agreement",
            f"{ja['percent']:.0%} of {ja['n']} (Cohen's kappa {kappa}); "
            f"judge-only passes {ja['judge_only']}, "
            f"score-only passes {ja['score_only']}",
        )
    console.print(s)
