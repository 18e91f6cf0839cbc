"""Hugging Face dataset export: typed flat columns, one row per cell, atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.reporting.dashboard import ReportError
from evals.reporting.export import export_results, flatten_record
from evals.store.rows import COLUMNS as ROW_COLUMNS
from tests.evals.reporting.conftest import grid_run, make_record, write_run

datasets = pytest.importorskip("datasets")


def _load(out: Path) -> object:
    return datasets.Dataset.from_parquet(str(out / "data" / "train-00000-of-00001.parquet"))


def test_export_one_row_per_cell_with_typed_columns(tmp_path: Path) -> None:
    err = make_record("m", "single", 1000, 0.0, status="error", error="HTTP 503")
    ok = make_record("m", "single", 1000, 0.0, score=1.0)
    over = make_record("m", "single", 2000, 0.0, status="model_length")
    run = write_run(tmp_path / "r", [err, ok, over], model="m")
    out = export_results([run], tmp_path / "hf")
    ds = _load(out)
    assert ds.num_rows == 2
    assert list(ds.features) == [c.name for c in ROW_COLUMNS]
    assert str(ds.features["length"].dtype) == "int64"
    assert str(ds.features["score"].dtype) == "float64"
    rows = sorted(ds.to_list(), key=lambda r: r["length"])
    assert rows[0]["status"] == "ok" and rows[0]["score"] == 1.0 and rows[0]["run"] == "r"
    assert rows[0]["needle_answers"] == ["4729183"]
    assert rows[0]["input_tokens"] == 1053
    assert json.loads(rows[0]["needles_json"])[0]["key"] == "上海的神秘数字"
    assert rows[1]["status"] == "model_length" and rows[1]["score"] is None and rows[1]["answer"] is None
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\nconfigs:") and "`needle_answers`" in card


def test_export_all_records_keeps_attempts(tmp_path: Path) -> None:
    err = make_record("m", "single", 1000, 0.0, status="error", error="HTTP 503")
    ok = make_record("m", "single", 1000, 0.0)
    run = write_run(tmp_path / "r", [err, ok], model="m")
    ds = _load(export_results([run], tmp_path / "hf", all_records=True))
    assert [r["status"] for r in ds.to_list()] == ["error", "ok"]
    assert ds.to_list()[0]["error"] == "HTTP 503"


def test_export_replaces_a_previous_export_atomically(tmp_path: Path) -> None:
    big = grid_run(tmp_path / "big", "m", (1000, 2000), (0.0, 50.0, 100.0))
    small = grid_run(tmp_path / "small", "n", (1000,), (0.0,))
    out = tmp_path / "hf"
    export_results([big], out)
    assert _load(out).num_rows == 6
    export_results([small], out)
    assert _load(out).num_rows == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big", "hf", "small"]  # no temp or backup dirs


def test_export_refuses_to_clobber_other_directories(tmp_path: Path) -> None:
    run = grid_run(tmp_path / "r", "m", (1000,), (0.0,))
    target = tmp_path / "precious"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(ReportError, match="refusing to overwrite"):
        export_results([run], target)
    assert (target / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious", "r"]


def test_export_with_nothing_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReportError, match="nothing to export"):
        export_results([empty], tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_flatten_reads_the_typed_record() -> None:
    rec = make_record("m", "single", 1000, 0.0, error=None, scored_answer="4729183")
    row = flatten_record(rec, "r")
    assert set(row) == {c.name for c in ROW_COLUMNS}
    assert (row["run"], row["kind"], row["outcome"], row["scored_answer"]) == (
        "r",
        "cell",
        "found",
        "4729183",
    )
    assert row["needle_keys"] == ["上海的神秘数字"] and row["input_tokens"] == 1053
    assert row["extra_json"] is None  # every field of the record has its column


def test_export_truncated_and_closed_book(tmp_path: Path) -> None:
    cut = make_record("m", "single", 1000, 0.0, status="truncated", answer="47")
    closed = make_record("m", "single", 0, 0.0, kind="closed_book", score=0.0)
    run = write_run(tmp_path / "r", [cut, closed], model="m")
    rows = sorted(_load(export_results([run], tmp_path / "hf")).to_list(), key=lambda r: r["kind"])
    assert [(r["kind"], r["status"], r["score"], r["outcome"]) for r in rows] == [
        ("cell", "truncated", None, "truncated"),  # the frame's outcome: the status of an unscored cell
        ("closed_book", "ok", 0.0, "wrong"),
    ]
