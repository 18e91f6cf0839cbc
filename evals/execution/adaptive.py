"""``--adaptive``: run a grid in rounds chosen by the sampler (:class:`evals.planning.AdaptiveSampler`).

The requested grid (lengths x depths x seeds of each task) is the *candidate set*. One sampler per ``(task,
language)`` decides which of its cells to run next from what the run directory already holds; the chosen cells
go through the ordinary runner (:func:`evals.execution.execute`: the same session, sizing, records, resume and
budget), and when a round has ended the samplers are asked again, until every one of them is settled (the
effective context length of the *full* grid is known at ``--confidence``), the budget (``--max-cost``) is
spent, or the run is stopped.

* **What is observed.** A cell is observed once the run directory has a record for it: its ``score`` when
  the status is ``ok``, None (run, but no score) for ``error``, ``model_length`` and ``truncated``. So a
  resumed run (after Ctrl-C, a crash or a budget stop) continues where it was and never sends a done cell
  twice. Cells that ended ``error`` in an earlier invocation are retried once in the first round, as a plain
  rerun retries them (the sampler asked for them; their answers are missing); a cell that errs again in this
  invocation waits for the next one.
* **Assumption.** By default the sampler assumes that recall does not rise with context length (averaged
  over depths and seeds), so one passing length vouches for every shorter one. The assumption is checked on
  the data (a significant rise, i.e. non-overlapping bounds with the longer length above, switches the
  inference off and is reported). ``--adaptive-strict`` never infers: every length up to the boundary is
  decided on its own data (more calls; it reproduces the full grid's answer more often when recall hovers
  near the threshold, see docs/adaptive.md).
* **What is written.** The header's ``sampling`` says how the grid was sampled (method, settings,
  assumption); ``sampling.json`` (written atomically after every round and at the end) holds each
  sampler's status: effective length and its range, whether it is settled, the reason it stopped, the
  assumption check, cells observed of the candidates. :mod:`evals.reporting.data` reads it into the
  leaderboard. Closed-book questions (no context) are asked in the first round, as in a full run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evals.config import RunConfig
from evals.planning.grid import Cell, order_cells
from evals.planning.prepare import PreparedRun
from evals.planning.sampler import AdaptiveSampler, AdaptiveStatus, Point
from evals.store.record import SAMPLING_SCHEMA, Sampling, parse_sampling
from evals.store.results import write_failure, write_json_atomic

__all__ = [
    "ASSUMPTION",
    "SAMPLING_FILE",
    "AdaptiveRun",
    "full_grid_sampling",
    "read_sampling",
    "sampling_header",
    "status_json",
]

SAMPLING_FILE = "sampling.json"
ASSUMPTION = "recall does not rise with context length (averaged over depths and seeds); checked on the data"
NO_ASSUMPTION = "none: every length up to the boundary is decided on its own data (--adaptive-strict)"


def sampling_header(cfg: RunConfig) -> dict[str, Any]:
    """The header's ``sampling``: how the grid is sampled.

    Args:
        cfg: The run's config.

    Returns:
        ``{"method": "full"}`` for a plain run; for ``--adaptive`` the method, the sampler's settings and the
        assumption it leans on.
    """
    if not cfg.adaptive:
        return {"method": "full"}
    monotone = not cfg.adaptive_strict
    return {
        "method": "adaptive",
        "settings": {
            "threshold": cfg.threshold,
            "confidence": cfg.confidence,
            "assume_monotone": monotone,
            "coarse_per_length": 2,
            "verify_below": True,
            "per": "task, language",
            "max_cost": cfg.max_cost,
        },
        "assumption": ASSUMPTION if monotone else NO_ASSUMPTION,
    }


def status_json(st: AdaptiveStatus) -> dict[str, Any]:
    """A sampler's status as ``sampling.json`` writes it."""
    return {
        "effective_length": st.effective_length,
        "lower": st.lower,
        "upper": st.upper,
        "settled": st.settled,
        "reason": st.reason,
        "assumption_ok": st.assumption_ok,
        "assumption_note": st.assumption_note,
        "n_observed": st.n_observed,
        "n_cells": st.n_cells,
        "by_length": [
            {
                "length": s.length,
                "n_cells": s.n_cells,
                "n_observed": s.n_observed,
                "n_scored": s.n_scored,
                "mean": None if s.mean is None else round(s.mean, 6),
                "low": None if s.low is None else round(s.low, 6),
                "high": None if s.high is None else round(s.high, 6),
                "decision": s.decision,
            }
            for s in st.by_length
        ],
    }


def read_sampling(run_dir: Path) -> Sampling | None:
    """``sampling.json`` of a run directory, typed; None when absent, unreadable or of another schema."""
    try:
        return parse_sampling(json.loads((Path(run_dir) / SAMPLING_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def full_grid_sampling(run_dir: Path) -> None:
    """A plain (full-grid) run over a directory that an adaptive run started: say so in ``sampling.json``."""
    old = read_sampling(run_dir)
    if old is not None and old.method == "adaptive":
        write_json_atomic(
            Path(run_dir) / SAMPLING_FILE,
            {
                "schema": SAMPLING_SCHEMA,
                "method": "full",
                "note": "a full-grid run continued this directory after adaptive sampling",
                "previous": old.to_json(),
            },
        )


@dataclass
class _Group:
    task: str
    language: str
    sampler: AdaptiveSampler
    cells: dict[Point, Cell]


class AdaptiveRun:
    """The rounds of an adaptive run over a prepared run.

    Args:
        prep: From :func:`evals.planning.prepare.prepare` with ``cfg.adaptive``; its store is the run
        directory's
            (loaded when resuming) and is read, never rescanned, for what was observed.
    """

    def __init__(self, prep: PreparedRun) -> None:
        self.prep = prep
        cfg = prep.cfg
        by_group: dict[tuple[str, str], dict[Point, Cell]] = {}
        for c in prep.cells:
            if c.kind == "cell":
                by_group.setdefault((c.task, c.language), {})[(c.length, float(c.depth), c.seed)] = c
        self.groups: list[_Group] = []
        for (task, language), cells in by_group.items():
            sampler = AdaptiveSampler(
                sorted({p[0] for p in cells}),
                sorted({p[1] for p in cells}),
                sorted({p[2] for p in cells}),
                threshold=cfg.threshold,
                confidence=cfg.confidence,
                assume_monotone=not cfg.adaptive_strict,
                salt=f"{task}:{language}",
            )
            self.groups.append(_Group(task, language, sampler, cells))
        self.rounds = 0
        self.stopped: str | None = None
        #: Candidate cells that ended ``error`` in an earlier invocation: retried in the first round.
        self.retry = [
            c
            for g in self.groups
            for c in g.cells.values()
            if (r := prep.store.latest.get(c.cell_id)) is not None and r.status == "error"
        ]

    def observed(self, group: _Group) -> dict[Point, float | None]:
        """The group's cells with a record: the score of ``ok`` ones, None for unscored ones."""
        latest = self.prep.store.latest
        out: dict[Point, float | None] = {}
        for point, cell in group.cells.items():
            rec = latest.get(cell.cell_id)
            if rec is not None:
                out[point] = float(rec.score) if rec.status == "ok" and rec.score is not None else None
        return out

    def next_round(self) -> list[Cell]:
        """The next round's cells over every group, in the run's request order (none: stop).

        Writes ``sampling.json`` first, so an interrupted run leaves the status of its last finished round.
        """
        self.write()
        chosen: list[Cell] = []
        for g in self.groups:
            chosen.extend(g.cells[p] for p in g.sampler.next_batch(self.observed(g)))
        if chosen:
            self.rounds += 1
        if not chosen:
            return []
        from providers.doors import door_for

        rules = door_for(self.prep.info).capabilities(self.prep.info).cache
        return order_cells(chosen, self.prep.order, rules=rules)

    def first_round(self) -> PreparedRun:
        """The prepared run with ``todo`` = the first round: closed-book questions not yet asked, the cells
        that ended ``error`` in an earlier invocation (retried, as a plain rerun does), then the sampler's."""
        closed = [c for c in self.prep.todo if c.kind != "cell"]
        chosen = self.next_round()
        retry_ids = {c.cell_id for c in self.retry}
        if self.retry and not chosen:
            self.rounds += 1
        return replace(
            self.prep,
            todo=closed
            + order_cells(self.retry, self.prep.order)
            + [c for c in chosen if c.cell_id not in retry_ids],
        )

    def statuses(self) -> list[dict[str, Any]]:
        """One status per (task, language), in the grid's task order."""
        return [
            {
                "model": self.prep.info.alias,
                "task": g.task,
                "language": g.language,
                **status_json(g.sampler.status(self.observed(g))),
            }
            for g in self.groups
        ]

    @property
    def settled(self) -> bool:
        """Every sampler is settled (or has nothing more to ask)."""
        return all(not g.sampler.next_batch(self.observed(g)) for g in self.groups)

    def write(self, stopped: str | None = None) -> dict[str, Any]:
        """Write ``sampling.json`` atomically (nothing when the run directory does not exist yet).

        Args:
            stopped: Why the run stopped early (budget, fatal error, interruption), or None.

        Returns:
            The document.
        """
        if stopped is not None:
            self.stopped = stopped
        doc = {
            "schema": SAMPLING_SCHEMA,
            **sampling_header(self.prep.cfg),
            "rounds": self.rounds,
            "stopped": self.stopped,
            "groups": self.statuses(),
        }
        if self.prep.run_dir.is_dir():
            try:
                write_json_atomic(self.prep.run_dir / SAMPLING_FILE, parse_sampling(doc).to_json())
            except OSError as e:
                path = self.prep.run_dir / SAMPLING_FILE
                raise write_failure(path, e, safe_cells=len(self.prep.store.done_ids())) from e
        return doc


def stop_reason(budget_stopped: bool, fatal: str | None, interrupted: bool = False) -> str | None:
    """Why an adaptive run stopped before its samplers settled, as one line (None: it did not)."""
    if interrupted:
        return "interrupted; rerun the same command to continue"
    if fatal:
        return f"fatal provider error: {fatal}"
    if budget_stopped:
        return "stopped at --max-cost"
    return None


def describe(statuses: Sequence[dict[str, Any]]) -> list[str]:
    """One line per (task, language) for the console."""
    from evals.stats import format_tokens

    lines = []
    for s in statuses:
        eff = s["effective_length"]
        what = f"<{format_tokens(s['by_length'][0]['length'])}" if eff is None else format_tokens(eff)
        lines.append(
            f"adaptive {s['task']} ({s['language']}): effective length {what} after {s['n_observed']} of "
            f"{s['n_cells']} cells; {s['reason']}"
            + ("" if s["assumption_ok"] else f"; WARNING {s['assumption_note']}")
        )
    return lines
