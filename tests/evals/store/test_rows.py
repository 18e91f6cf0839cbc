"""One row schema (:mod:`evals.store.rows`): frame, the reports' frame and the dataset export read one table,
so a new column from an existing record field is one line, and a new leaderboard column from it one more."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.reporting import data as report_data
from evals.reporting import export
from evals.reporting.data import ENTRY_COLUMNS, Column, build_leaderboard, collect
from evals.store import rows
from evals.store.results import load
from tests.evals.reporting.conftest import make_record, write_run


def _run(tmp_path: Path) -> Path:
    recs = [make_record("m", "single", 1000, d, answer="4729183 is it") for d in (0.0, 50.0)]
    return write_run(tmp_path / "r", recs, model="m")


def test_the_export_takes_the_frames_columns_first() -> None:
    names = [c.name for c in rows.COLUMNS]
    assert len(names) == len(set(names))
    frame = rows.frame_columns()
    assert tuple(names[: len(frame)]) == frame  # the frame's columns, in the frame's order, lead the export


def test_a_new_column_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(tmp_path)
    # the one line: a column from an existing record field (here derived from `answer`)
    line = rows.RowColumn(
        "answer_chars", "int64", "characters of the answer", lambda r, o, run: len(r.answer or "")
    )
    monkeypatch.setattr(rows, "COLUMNS", (*rows.COLUMNS, line))
    flat = export.flatten_record(make_record("m", "single", 1000, 0.0, answer="abc"), "r")
    assert flat["answer_chars"] == 3 and list(flat)[-1] == "answer_chars"
    assert "| `answer_chars` | int64 | characters of the answer |" in export._card(1, ["r"], False)
    pytest.importorskip("datasets")
    assert "answer_chars" in export._features()
    assert "answer_chars" not in load(run).columns  # export-only until marked frame=True

    # in the frame too: the same line with frame=True reaches load() and the reports' frame, typed
    framed = rows.RowColumn(
        "answer_chars", "int64", "characters of the answer", lambda r, o, run: len(r.answer or ""), frame=True
    )
    monkeypatch.setattr(rows, "COLUMNS", (*rows.COLUMNS[:-1], framed))
    df = load(run)
    assert list(df["answer_chars"]) == [13, 13] and str(df["answer_chars"].dtype) == "Int64"
    data = collect([run])
    assert list(data.groups[0].view.final["answer_chars"]) == [13, 13]

    # and a leaderboard column from it: one row of ENTRY_COLUMNS
    entry = Column("answer_chars_max", lambda v: int(v.final["answer_chars"].max()))
    monkeypatch.setattr(report_data, "ENTRY_COLUMNS", (*ENTRY_COLUMNS, entry))
    (got,) = build_leaderboard(collect([run]))["entries"]
    assert got["answer_chars_max"] == 13
