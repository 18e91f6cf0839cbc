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
from evals.store.record import NeedleRecord, ResultRecord
from evals.store.results import (
    ResultsStore,
    append_line,
    expand_run_dirs,
    latest_by_cell,
    load,
    read_records,
    write_failure,
    write_json_atomic,
)

CELL_ID_GRID = "c24e1ad4baaab72b69fcc32e1d1932bc1d84d1073db2ce7bc1cf142cf9ff3ce0"
CELL_ID_CLOSED = "bea2ef20451cd8c5e88a9d0004178d2e880dc1e3523fdd43de48077ebcf10eee"


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


# -- the exact words and bytes (what a user reads and what other tools parse)


@pytest.mark.parametrize(
    ("code", "todo"),
    [
        (errno.ENOSPC, "free some space"),
        (errno.EDQUOT, "free some space or raise the quota"),
        (errno.EROFS, "make the file system writable"),
        (errno.EACCES, "fix the permissions"),
        (errno.EPERM, "fix the permissions"),
        (errno.EIO, "fix the cause"),
    ],
)
def test_write_failure_message_exactly(tmp_path: Path, code: int, todo: str) -> None:
    e = write_failure(tmp_path / "f", OSError(code, os.strerror(code)), safe_cells=3)
    name = errno.errorcode[code]
    assert str(e) == (
        f"cannot write {tmp_path / 'f'}: {os.strerror(code)} ({name}); 3 cell(s) are safely recorded; {todo} "
        "and rerun the same command to resume"
    )
    assert e.path == str(tmp_path / "f") and e.errno == code and e.safe_cells == 3 and e.unrecorded is None


def test_write_failure_without_an_errno_and_with_a_lost_cell(tmp_path: Path) -> None:
    e = write_failure(
        tmp_path / "f", OSError("boom"), safe_cells=0, unrecorded="0123456789abcdef", hint=" (h)"
    )
    assert str(e) == (
        f"cannot write {tmp_path / 'f'}: boom; 0 cell(s) are safely recorded; the cell being recorded "
        "(0123456789ab) was not and runs again on the next run (h); fix the cause and rerun the same command "
        "to resume"
    )
    assert e.errno is None and e.unrecorded == "0123456789abcdef"


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        ("a" * 60, " (its answer was '" + "a" * 60 + "')"),
        ("b" * 61, " (its answer was '" + "b" * 60 + "'...)"),
        ("  line one\nline two  ", " (its answer was 'line one line two')"),
        (None, ""),
    ],
)
def test_the_lost_answer_is_in_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str | None, hint: str
) -> None:
    s = ResultsStore(tmp_path / "run")
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(ResultsWriteError) as info:
        s.append(rec("c" * 64, answer=answer))
    assert f"({'c' * 12}) was not and runs again on the next run{hint}; free some space" in str(info.value)
    with pytest.raises(ResultsWriteError) as info:
        s.append(rec("d" * 64, "error", answer=answer))
    assert "the cell being recorded" not in str(info.value)  # an error record loses no answer
    assert info.value.unrecorded is None
    s.close()


def test_a_record_is_one_compact_utf8_line(tmp_path: Path) -> None:
    r = rec("a", answer="上海的神秘数字是4729183。")
    write(tmp_path / "run", r)
    raw = (tmp_path / "run" / "results.jsonl").read_bytes()
    assert raw == (json.dumps(r.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def test_short_writes_still_make_whole_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    write(tmp_path / "run", rec("a"), rec("b"))
    monkeypatch.undo()
    assert [r.cell_id for r in read_records(tmp_path / "run" / "results.jsonl")] == ["a", "b"]


def test_results_file_mode_and_handle(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        s = ResultsStore(tmp_path / "run")
        assert s.stats.records == 0 and s.stats.skipped == 0  # readable before load()
        s.append(rec("a"))
        fd = s._fd
        assert fd is not None
        s.close()
        with pytest.raises(OSError):
            os.fstat(fd)  # really closed
        s.close()  # twice is fine
        s.append(rec("b"))  # reopened
        s.close()
    finally:
        os.umask(old)
    assert (tmp_path / "run" / "results.jsonl").stat().st_mode & 0o777 == 0o644
    assert [r.cell_id for r in read_records(tmp_path / "run" / "results.jsonl")] == ["a", "b"]


@pytest.mark.parametrize("tail_size", [10, 70_000, 140_000])
def test_torn_tails_of_any_size_are_cut_at_the_last_whole_line(tmp_path: Path, tail_size: int) -> None:
    run = tmp_path / "run"
    run.mkdir()
    path = run / "results.jsonl"
    whole = json.dumps(rec("a").to_json()) + "\n"
    path.write_text(whole + '{"cell_id": "b", "answer": "' + "x" * tail_size)
    s = ResultsStore(run)
    s.append(rec("c"))
    s.close()
    assert (
        path.read_text()
        == whole + json.dumps(rec("c").to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
    )


def test_a_file_that_is_only_a_torn_fragment_is_emptied_first(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.jsonl").write_text('{"cell_id": "b", "st')
    write(run, rec("c"))
    assert [r.cell_id for r in read_records(run / "results.jsonl")] == ["c"]
    assert (run / "results.jsonl").read_text().count("\n") == 1


def test_a_long_whole_record_without_its_newline_is_kept(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    first = json.dumps(rec("a").to_json()) + "\n"
    long_one = json.dumps(rec("b", answer="y" * 150_000).to_json())
    (run / "results.jsonl").write_text(first + long_one)
    write(run, rec("c"))
    text = (run / "results.jsonl").read_text()
    assert text.startswith(first + long_one + "\n")
    assert [r.cell_id for r in read_records(run / "results.jsonl")] == ["a", "b", "c"]


def test_a_file_ending_on_a_whole_line_is_left_alone(tmp_path: Path) -> None:
    run = write(tmp_path / "run", rec("a"))
    before = (run / "results.jsonl").read_bytes()
    write(run, rec("b"))
    assert (run / "results.jsonl").read_bytes().startswith(before)
    assert len(read_records(run / "results.jsonl")) == 2


def test_write_json_atomic_bytes_place_and_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    obj = {"z": "上海", "a": [1, 2]}
    nested = tmp_path / "a" / "b" / "x.json"
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: object) -> None:
        seen.append(str(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_json_atomic(nested, obj)
    write_json_atomic(nested, obj)  # the directory exists now
    monkeypatch.undo()
    assert nested.read_text(encoding="utf-8") == json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
    assert len(seen) == 2
    for tmp in seen:  # a hidden temporary beside the file (same file system: the rename is atomic)
        assert Path(tmp).parent == nested.parent
        assert Path(tmp).name.startswith(".x.json.") and tmp.endswith(".tmp")
    with pytest.raises(TypeError):
        write_json_atomic(nested, {"bad": object()})
    assert nested.read_text(encoding="utf-8") == json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
    assert sorted(p.name for p in nested.parent.iterdir()) == ["x.json"]  # no temporary left


@pytest.mark.parametrize("tail_size", [10, 70_000])
def test_many_whole_lines_before_a_torn_tail_are_all_kept(tmp_path: Path, tail_size: int) -> None:
    run = write(tmp_path / "run", *(rec(f"c{i:03d}", answer="z" * 1500) for i in range(100)))  # ~170 KB
    with (run / "results.jsonl").open("a") as f:
        f.write('{"cell_id": "torn", "answer": "' + "x" * tail_size)
    write(run, rec("last"))
    ids = [json.loads(x)["cell_id"] for x in (run / "results.jsonl").read_text().splitlines()]
    assert ids == [f"c{i:03d}" for i in range(100)] + ["last"]


def test_a_file_starting_with_a_newline_then_a_torn_fragment(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.jsonl").write_text('\n{"cell_id": "b"')
    write(run, rec("c"))
    assert (run / "results.jsonl").read_text().splitlines()[0] == ""
    assert [r.cell_id for r in read_records(run / "results.jsonl")] == ["c"]


def test_an_unknown_errno_is_named_by_its_text_only(tmp_path: Path) -> None:
    e = write_failure(tmp_path / "f", OSError(99999, "odd failure"), safe_cells=1, unrecorded="u" * 64)
    assert str(e) == (
        f"cannot write {tmp_path / 'f'}: odd failure; 1 cell(s) are safely recorded; the cell being recorded "
        f"({'u' * 12}) was not and runs again on the next run; fix the cause and rerun the same command to "
        "resume"
    )


def test_a_results_file_that_cannot_be_mended_is_closed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evals.store.results as R

    run = write(tmp_path / "run", rec("a"))
    fds_before = len(os.listdir("/proc/self/fd"))

    def broken(path: Path, fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(R, "_mend_tail", broken)
    s = ResultsStore(run)
    with pytest.raises(ResultsWriteError, match="EIO"):
        s.append(rec("b"))
    assert s._fd is None and len(os.listdir("/proc/self/fd")) == fds_before


def test_write_header_is_guarded_and_one_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.store.record import RunHeader

    header = RunHeader.model_construct()
    monkeypatch.setattr(RunHeader, "to_json", lambda self: {"schema": "h", "run_identity": "x"})
    s = ResultsStore(tmp_path / "run")
    calls: list[int] = []
    s.guard = lambda: calls.append(1)
    s.write_header(header)
    assert json.loads((tmp_path / "run" / "header.json").read_text()) == {"schema": "h", "run_identity": "x"}
    assert calls == [1]
    s.append(rec("a"))
    assert calls == [1, 1]
    s.close()

    def stop() -> None:
        raise RuntimeError("lost")

    s.guard = stop
    with pytest.raises(RuntimeError):
        s.write_header(header)
    with pytest.raises(RuntimeError):
        s.append(rec("b"))
    s.guard = None
    monkeypatch.setattr(
        os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only file system"))
    )
    with pytest.raises(ResultsWriteError) as info:
        s.write_header(header)
    assert str(info.value) == (
        f"cannot write {tmp_path / 'run' / 'header.json'}: Read-only file system (EROFS); 1 cell(s) are "
        "safely recorded; make the file system writable and rerun the same command to resume"
    )
    s.close()


def test_the_failure_names_the_results_file_and_load_names_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = write(tmp_path / "my-run", rec("a"))
    assert load(run)["run"].tolist() == ["my-run"]
    s = ResultsStore(run)
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(ResultsWriteError) as info:
        s.append(rec("b"))
    assert info.value.path == str(run / "results.jsonl")
    assert str(info.value).startswith(f"cannot write {run / 'results.jsonl'}: full (ENOSPC); ")
    s.close()


def test_a_failing_cut_back_still_reports_the_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    monkeypatch.setattr(os, "write", lambda fd_, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    monkeypatch.setattr(os, "ftruncate", lambda fd_, n: (_ for _ in ()).throw(OSError(errno.EROFS, "ro")))
    with pytest.raises(OSError) as info:
        append_line(fd, b"{}\n")
    assert info.value.errno == errno.ENOSPC  # the cause, not the failed cut
    monkeypatch.undo()
    os.close(fd)


def test_a_failing_cleanup_still_reports_the_json_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "unlink", lambda p: (_ for _ in ()).throw(OSError(errno.EROFS, "ro")))
    with pytest.raises(TypeError):
        write_json_atomic(tmp_path / "x.json", {"bad": object()})


def test_cell_ids_are_the_first_releases() -> None:
    """A resume finds its cells by these hashes: changing them re-runs (and bills) every finished cell."""
    from evals.store.results import cell_id

    assert cell_id("gemma-3-270m", "single", "zh", 1000, 50, 0) == CELL_ID_GRID
    assert cell_id("gemma-3-270m", "single", "zh", 1000.0, 50.0000001, 0.0) == CELL_ID_GRID  # type: ignore[arg-type]
    assert cell_id("gpt-4o", "multi", "en", 128000, 12.5, 3, kind="closed_book") == CELL_ID_CLOSED


def test_frame_row_maps_every_column_from_its_own_field() -> None:
    from evals.store.record import JudgeResult, UsageRecord
    from evals.store.results import frame_row

    needle = NeedleRecord(kind="needle", key="k", answer="1", depth=40.0, actual_depth=41.5)
    r = rec(
        "cid",
        score=0.5,
        model_id="mid",
        provider="prov",
        kind="cell",
        language="en",
        length=2000,
        depth=40.0,
        seed=3,
        outcome="partial",
        score_detail={"abstained": True, "hallucinated": True},
        target_tokens=2000,
        prompt_tokens=2001,
        context_tokens=1900,
        tokens_exact=False,
        needles=[needle],
        max_tokens=64,
        usage=UsageRecord(input_tokens=2001, output_tokens=7, cached_input_tokens=1024),
        cost_usd=0.25,
        latency_s=1.5,
        attempts=2,
        judge=JudgeResult(model="j", score=8),
        answer="raw",
        scored_answer="scored",
        question="q?",
        error=None,
        timestamp="2026-01-01T00:00:00Z",
    )
    row = frame_row(r, "the-run")
    assert row == {
        "run": "the-run",
        "model": "m",
        "model_id": "mid",
        "provider": "prov",
        "task": "single",
        "kind": "cell",
        "language": "en",
        "length": 2000,
        "depth": 40.0,
        "seed": 3,
        "cell_id": "cid",
        "status": "ok",
        "score": 0.5,
        "outcome": "partial",
        "found": False,
        "hallucinated": True,
        "abstained": True,
        "truncated": False,
        "target_tokens": 2000,
        "prompt_tokens": 2001,
        "context_tokens": 1900,
        "tokens_exact": False,
        "needle_depth": 41.5,
        "n_needles": 1,
        "max_tokens": 64,
        "input_tokens": 2001,
        "output_tokens": 7,
        "cached_input_tokens": 1024,
        "cost_usd": 0.25,
        "latency_s": 1.5,
        "attempts": 2,
        "judge_score": 8,
        "answer": "raw",
        "scored_answer": "scored",
        "question": "q?",
        "error": None,
        "timestamp": "2026-01-01T00:00:00Z",
    }
    bare = frame_row(rec("e", "error", error="boom"), "r")
    assert bare["outcome"] == "error" and bare["found"] is None and bare["abstained"] is None
    assert bare["input_tokens"] is None and bare["judge_score"] is None and bare["needle_depth"] is None
    assert bare["error"] == "boom" and bare["truncated"] is False
    assert frame_row(rec("t", "truncated"), "r")["truncated"] is True


def test_a_folder_of_runs_stands_for_its_runs_and_read_stats_count(tmp_path: Path) -> None:
    from evals.store.results import ReadStats

    a = write(tmp_path / "results" / "a", rec("x"))
    b = write(tmp_path / "results" / "b", rec("y"))
    (tmp_path / "results" / "not-a-run").mkdir()
    (tmp_path / "results" / "file.txt").write_text("x")
    assert expand_run_dirs([tmp_path / "results"]) == [a, b]
    df = load(tmp_path / "results")
    assert df["run"].tolist() == ["a", "b"]
    assert str(df["length"].dtype) == "Int64" and str(df["found"].dtype) == "boolean"
    assert str(df["attempts"].dtype) == "Int64" and str(df["score"].dtype) == "float64"
    with (a / "results.jsonl").open("a") as f:
        f.write("not json\n")
    stats = ReadStats()
    assert len(read_records(a / "results.jsonl", stats)) == 1
    assert (stats.records, stats.skipped, len(stats.problems)) == (1, 1, 1)
    assert stats.problems[0] != "None"
