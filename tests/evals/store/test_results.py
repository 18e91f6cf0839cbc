"""The append-only JSONL results store: append, torn lines, done-set, retries, no duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.errors import ResultsError
from evals.store.record import ResultRecord, parse_record
from evals.store.results import (
    ResultsStore,
    cell_id,
    latest_by_cell,
    read_header,
    read_records,
    write_json_atomic,
)


def rec(cid: str, status: str = "ok", score: float | None = 1.0, **kw: object) -> ResultRecord:
    fields = {"model": "m", "task": "single", "length": 1000, "depth": 50.0, **kw}
    return ResultRecord(cell_id=cid, status=status, score=score if status == "ok" else None, **fields)


def test_cell_id_stable_and_distinct() -> None:
    a = cell_id("m", "single", "zh", 1000, 50, 0)
    assert a == cell_id("m", "single", "zh", 1000, 50.0, 0)
    assert len(a) == 64
    others = {
        cell_id("m2", "single", "zh", 1000, 50, 0),
        cell_id("m", "multi", "zh", 1000, 50, 0),
        cell_id("m", "single", "en", 1000, 50, 0),
        cell_id("m", "single", "zh", 1001, 50, 0),
        cell_id("m", "single", "zh", 1000, 50.5, 0),
        cell_id("m", "single", "zh", 1000, 50, 1),
    }
    assert a not in others and len(others) == 6


def test_append_and_reload(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "run") as s:
        s.load()
        s.append(rec("a"))
        s.append(rec("b", "error"))
        s.append(rec("c", "model_length"))
        assert s.done_ids() == {"a", "c"}
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(x)["cell_id"] for x in lines)
    s2 = ResultsStore(tmp_path / "run")
    s2.load()
    assert s2.done_ids() == {"a", "c"}
    assert s2.error_ids() == {"b"}


def test_torn_last_line_tolerated_then_cut_back_by_the_next_writer(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    path = run / "results.jsonl"
    torn = '{"cell_id": "b", "status": "o'  # torn by a crash
    path.write_text(json.dumps(rec("a").to_json()) + "\n" + torn)
    s = ResultsStore(run)
    s.load()
    assert s.done_ids() == {"a"}
    assert s.stats.skipped == 1
    s.append(rec("b"))
    s.close()
    lines = path.read_text().split("\n")
    assert lines[-1] == ""  # ends with a newline
    assert [json.loads(x)["cell_id"] for x in lines[:-1]] == ["a", "b"]  # the unreadable fragment is cut
    s3 = ResultsStore(run)
    s3.load()
    assert s3.done_ids() == {"a", "b"}
    assert s3.stats.skipped == 0


def test_a_whole_record_missing_only_its_newline_is_kept(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    path = run / "results.jsonl"
    path.write_text(json.dumps(rec("a").to_json()) + "\n" + json.dumps(rec("b").to_json()))
    s = ResultsStore(run)
    s.append(rec("c"))
    s.close()
    assert [json.loads(x)["cell_id"] for x in path.read_text().splitlines()] == ["a", "b", "c"]


def test_error_retried_then_ok_wins(tmp_path: Path) -> None:
    s = ResultsStore(tmp_path)
    s.load()
    s.append(rec("a", "error"))
    assert "a" not in s.done_ids() and "a" in s.error_ids()
    s.append(rec("a", "ok", 0.0))
    assert "a" in s.done_ids()
    # a later error never hides an earlier ok
    s.append(rec("a", "error"))
    assert s.latest["a"].status == "ok"
    s.close()
    latest = latest_by_cell(read_records(tmp_path / "results.jsonl"))
    assert latest["a"].status == "ok"


def test_latest_by_cell_prefers_last_non_error() -> None:
    recs = [rec("a", "ok", 0.0), rec("a", "ok", 1.0), rec("b", "error"), rec("b", "error", error="second")]
    latest = latest_by_cell(recs)
    assert latest["a"].score == 1.0
    assert latest["b"].error == "second"


def test_no_duplicates_after_resume(tmp_path: Path) -> None:
    cells = [f"c{i}" for i in range(6)]
    s = ResultsStore(tmp_path)
    s.load()
    for c in cells[:3]:
        s.append(rec(c))
    s.close()
    s = ResultsStore(tmp_path)
    s.load()
    for c in cells:
        if c not in s.done_ids():
            s.append(rec(c))
    s.close()
    ids = [r.cell_id for r in read_records(tmp_path / "results.jsonl")]
    assert sorted(ids) == sorted(cells)


def test_malformed_records_cannot_be_made() -> None:
    # The store appends typed records only; the schema refuses a malformed one before it reaches a file.
    with pytest.raises(ValueError, match="cell_id: Field required"):
        parse_record({"status": "ok", "model": "m", "task": "single", "length": 1000, "depth": 0})
    with pytest.raises(ValueError, match="status"):
        parse_record({**rec("x").to_json(), "status": "weird"})
    with pytest.raises(ValueError, match="bad score"):
        parse_record({**rec("x").to_json(), "score": 1.5})


def test_non_dict_and_blank_lines_skipped(tmp_path: Path) -> None:
    p = tmp_path / "results.jsonl"
    p.write_text('\n[1,2]\n{"no_id": 1}\n' + json.dumps(rec("a").to_json()) + "\n\n")
    assert [r.cell_id for r in read_records(p)] == ["a"]


def test_spent_usd_counts_errors_and_judge(tmp_path: Path) -> None:
    s = ResultsStore(tmp_path)
    s.append(rec("a", cost_usd=0.5, judge={"model": "j", "score": 9, "cost_usd": 0.25}))
    s.append(rec("b", "error", cost_usd=0.125))
    s.close()
    assert s.spent_usd() == pytest.approx(0.875)
    again = ResultsStore(tmp_path)
    again.load()
    assert again.spent == pytest.approx(0.875)


def test_header_atomic_roundtrip(tmp_path: Path) -> None:
    run = tmp_path / "r"
    assert read_header(run) is None
    write_json_atomic(run / "header.json", {"schema_version": 1, "名": "值"})
    header = read_header(run)
    assert header is not None and header.schema_version == 1 and header.model_extra == {"名": "值"}
    assert [p.name for p in run.iterdir()] == ["header.json"]  # no temp file left
    (run / "header.json").write_text("{torn")
    with pytest.raises(ResultsError):
        read_header(run)
