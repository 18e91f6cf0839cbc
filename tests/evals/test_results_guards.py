"""What a user of the results store would be hurt by: cells billed twice, runs counted twice, partial
answers shown as found, retried cells listed twice, the requested depth passed off as the needle's; and a
write that fails half-way (full disk, quota, read-only, permissions) cut back to a whole line."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from evals.errors import ResultsWriteError
from evals.record import NeedleRecord, ResultRecord
from evals.results import ResultsStore, append_line, expand_run_dirs, latest_by_cell, load, read_records


def rec(cid: str, status: str = "ok", score: float | None = 1.0, **kw: object) -> ResultRecord:
    fields = {"model": "m", "task": "single", "length": 1000, "depth": 50.0, **kw}
    return ResultRecord(cell_id=cid, status=status, score=score if status == "ok" else None, **fields)


def write(run: Path, *records: ResultRecord) -> Path:
    with ResultsStore(run) as s:
        for r in records:
            s.append(r)
    return run


def test_truncated_and_model_length_cells_are_done_and_not_billed_again(tmp_path: Path) -> None:
    run = write(
        tmp_path / "run",
        rec("t", "truncated", cost_usd=0.5),
        rec("l", "model_length", cost_usd=0.25),
        rec("e", "error", cost_usd=0.125),
        rec("o", "ok", cost_usd=1.0),
    )
    s = ResultsStore(run)
    s.load()
    assert s.done_ids() == {"t", "l", "o"}
    assert s.error_ids() == {"e"}
    assert s.spent_usd() == 1.875
    # a second resume reads the same: nothing was appended, nothing is re-run
    s2 = ResultsStore(run)
    s2.load()
    assert s2.done_ids() == {"t", "l", "o"} and s2.spent_usd() == 1.875


def test_spend_counts_every_record_once_in_file_order(tmp_path: Path) -> None:
    run = write(tmp_path / "run", rec("a", "error", cost_usd=0.5), rec("a", "ok", cost_usd=0.25))
    s = ResultsStore(run)
    s.load()
    assert s.spent_usd() == 0.75  # the failed attempt was paid too
    s.append(rec("b", cost_usd=0.125))
    assert s.spent_usd() == 0.875
    s.close()


def test_the_same_run_named_twice_is_counted_once(tmp_path: Path) -> None:
    run = write(tmp_path / "results" / "run", rec("a"), rec("b", score=0.0))
    for paths in ([run, run], [run, str(run) + "/"], [run, tmp_path / "results"], [run, run / ".." / "run"]):
        df = load(paths)
        assert len(df) == 2, paths
        assert sorted(df["cell_id"]) == ["a", "b"]
    assert expand_run_dirs([run, run]) == [run]


def test_a_partial_answer_is_not_found(tmp_path: Path) -> None:
    run = write(
        tmp_path / "run",
        rec("full", score=1.0),
        rec("half", score=0.5),
        rec("none", score=0.0),
        rec("cut", "truncated"),
        rec("err", "error"),
    )
    df = load(run).set_index("cell_id")
    assert df.loc["full", "found"] == True  # noqa: E712 (pandas boolean)
    assert df.loc["half", "found"] == False  # noqa: E712
    assert df.loc["none", "found"] == False  # noqa: E712
    assert df["found"].isna().tolist() == [False, False, False, True, True]
    assert df.loc["half", "score"] == 0.5 and df.loc["cut", "truncated"] == True  # noqa: E712
    assert df.loc["full", "truncated"] == False  # noqa: E712
    assert df.loc["half", "outcome"] is not None and df.loc["cut", "outcome"] == "truncated"


def test_a_cell_retried_after_an_error_is_one_row(tmp_path: Path) -> None:
    run = write(tmp_path / "run", rec("a", "error"), rec("b"), rec("a", score=0.0), rec("a", "error"))
    df = load(run)
    assert list(df["cell_id"]) == ["a", "b"]
    assert list(df["status"]) == ["ok", "ok"]  # a later error never hides an answer
    assert load(run, all_records=True)["cell_id"].tolist() == ["a", "b", "a", "a"]
    latest = latest_by_cell(read_records(run / "results.jsonl"))
    assert latest["a"].status == "ok" and latest["a"].score == 0.0
    only_errors = write(tmp_path / "e", rec("x", "error", error="first"), rec("x", "error", error="second"))
    assert load(only_errors)["error"].tolist() == ["second"]


def test_the_needles_own_depth_is_not_the_requested_one(tmp_path: Path) -> None:
    needle = NeedleRecord(kind="needle", key="k", answer="1", depth=50.0, actual_depth=47.25)
    other = NeedleRecord(kind="needle", key="k2", answer="2", depth=50.0, actual_depth=60.5)
    run = write(tmp_path / "run", rec("a", needles=[needle, other]), rec("b"))
    df = load(run).set_index("cell_id")
    assert df.loc["a", "depth"] == 50.0
    assert df.loc["a", "needle_depth"] == 47.25  # the first needle's
    assert df.loc["a", "n_needles"] == 2
    assert pd_isna(df.loc["b", "needle_depth"]) and df.loc["b", "n_needles"] == 0


def pd_isna(x: object) -> bool:
    import pandas as pd

    return bool(pd.isna(x))


@pytest.mark.parametrize(
    "code",
    [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES],
    ids=["ENOSPC", "EDQUOT", "EROFS", "EACCES"],
)
def test_a_write_failing_half_way_is_cut_back_and_said_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    run = write(tmp_path / "run", rec("a"), rec("b", "truncated"), rec("c", "error"))
    before = (run / "results.jsonl").read_bytes()
    s = ResultsStore(run)
    s.load()
    real_write = os.write

    def half_then_fail(fd: int, data: bytes) -> int:
        if len(data) > 200:  # the record: half of it lands, then the disk fails
            real_write(fd, data[: len(data) // 2])
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_fail)
    with pytest.raises(ResultsWriteError) as info:
        s.append(rec("d", answer="the magic number is 4729183", score=1.0, needles=[]))
    monkeypatch.undo()
    s.close()
    e = info.value
    msg = str(e)
    assert "\n" not in msg and errno.errorcode[code] in msg
    assert "2 cell(s) are safely recorded" in msg  # a and b (c errored: it is retried anyway)
    assert "runs again on the next run" in msg and "4729183" in msg  # the answer, kept in the hint
    assert "rerun the same command" in msg
    assert e.errno == code and e.safe_cells == 2 and e.unrecorded == "d"
    assert (run / "results.jsonl").read_bytes() == before  # cut back: ends on a whole line
    assert "d" not in s.done_ids()  # not counted: it runs again
    s2 = ResultsStore(run)
    s2.load()
    assert s2.stats.skipped == 0 and s2.done_ids() == {"a", "b"}
    s2.append(rec("d"))
    s2.close()
    assert [json.loads(x)["cell_id"] for x in (run / "results.jsonl").read_text().splitlines()] == list(
        "abcd"
    )


def test_append_line_cuts_back_when_fsync_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"a":1}\n')
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    calls = []

    def failing_fsync(fd_: int) -> None:
        calls.append(fd_)
        if len(calls) == 1:
            raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        append_line(fd, b'{"b":2}\n')
    os.close(fd)
    assert path.read_bytes() == b'{"a":1}\n'


def test_unwritable_results_file_is_one_typed_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through file permissions")
    run = write(tmp_path / "run", rec("a"))
    (run / "results.jsonl").chmod(0o444)
    s = ResultsStore(run)
    s.load()
    with pytest.raises(ResultsWriteError, match="EACCES"):
        s.append(rec("b"))
