"""One invocation per run directory, and clean stops on a full disk (issue 21's acceptance).

Two ``python -m evals.run`` on one directory record every cell once (the second refused with one line naming
the holder, or queued with ``--wait``); a lock left by a killed run (this host) or by a host whose heartbeat
stopped is taken over; a full file system (a small tmpfs; skipped where it cannot be mounted) stops the run
with one line and exit 4, leaves only whole lines, and a rerun after freeing space completes the run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.execution.lock import HOLDER_FILE, LOCK_FILE, RunLock, RunLockedError, read_holder
from evals.run import EXIT_WRITE, main
from evals.store.results import load, read_records
from providers.mock_server import MockServer

REGISTRY = """
[models."mock-model"]
provider = "openai-compatible"
model_id = "mock-model"
context_window = 100000
tokenizer = "cl100k_base"
tokenizer_exact = false
mode = "chat"
key_required = false
base_url = "{url}/v1"
concurrency = 1
"""
GRID = ["--lengths", "400,500,600,700", "--depths", "0:100:6"]  # 24 cells
N = 24


@pytest.fixture
def slow_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with MockServer(latency_s=0.15) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        yield srv


def args(out: Path, *extra: str) -> list[str]:
    return ["--model", "mock-model", *GRID, "--out", str(out), "--no-report", *extra]


def spawn(out: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "evals.run", *args(out, *extra)]
    return subprocess.Popen(
        cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def wait_for_records(results: Path, n: int, proc: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if results.exists() and results.read_text().count("\n") >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"{results}: fewer than {n} records after {timeout_s} s")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_every_cell_once(run: Path) -> None:
    recs = read_records(run / "results.jsonl")
    assert len(recs) == len({r.cell_id for r in recs}) == N
    assert all(r.status == "ok" for r in recs)


def test_second_invocation_refused_third_waits_every_cell_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    answered = []

    def held(req: object) -> str:
        answered.append(req)
        if len(answered) > 3:  # the first invocation is held mid-run until the test lets it go
            gate.wait(timeout=120)
        return "OK"

    with MockServer(answer=held) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        out = tmp_path / "run"
        first = spawn(out)
        wait_for_records(out / "results.jsonl", 1, first)
        second = spawn(out)
        _, err2 = second.communicate(timeout=120)
        assert second.returncode == 2
        (line,) = error_lines(err2)
        assert f"in use by pid {first.pid} on {socket.gethostname()} since 20" in line and "--wait" in line
        third = spawn(out, "--wait")
        err3: list[str] = []
        reader = threading.Thread(target=lambda: err3.extend(third.stderr or ()), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while not any("waiting for it (--wait)" in x for x in err3) and time.monotonic() < deadline:
            time.sleep(0.05)
        gate.set()
        _, err1 = first.communicate(timeout=120)
        third.wait(timeout=120)
        reader.join(timeout=10)
        assert first.returncode == 0, err1
        assert third.returncode == 0, err3
        text = "".join(err3)
        assert "waiting for it (--wait)" in text and "nothing to run" in text
        assert_every_cell_once(out)
        assert len(srv.api_requests()) == N  # nothing paid twice
        assert not (out / LOCK_FILE).exists() and not (out / HOLDER_FILE).exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(slow_mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = spawn(out)
    wait_for_records(out / "results.jsonl", 3, proc)
    holder = read_holder(out)
    assert holder is not None and holder.pid == proc.pid
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert (out / LOCK_FILE).exists()  # left behind
    again = spawn(out)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"took over the lock of {out} left by pid {proc.pid}" in err
    assert_every_cell_once(out)
    assert len(slow_mock.api_requests()) <= N + 1  # at most the call the kill cut short


def _foreign_marker(run: Path, age_s: float) -> None:
    run.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    (run / LOCK_FILE).write_text(
        f"filelock/2\npid=4242\nhost=elsewhere\nmode=lease\ntoken={token}\nduration=1.0\nstart=1\n"
    )
    (run / HOLDER_FILE).write_text(
        json.dumps({"pid": 4242, "host": "elsewhere", "since": "2026-01-01T00:00:00Z", "token": token})
    )
    past = time.time() - age_s
    os.utime(run / LOCK_FILE, (past, past))


def test_lease_of_another_host(
    slow_mock: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NIAH_LOCK_LEASE_S", "1")
    live, dead = tmp_path / "live", tmp_path / "dead"
    _foreign_marker(live, age_s=0)
    assert main(args(live)) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert "in use by pid 4242 on elsewhere since 2026-01-01T00:00:00Z" in line
    assert not (live / "results.jsonl").exists()
    # a heartbeat that stopped a lease ago: watched for one more lease, then taken over
    _foreign_marker(dead, age_s=5)
    assert main(args(dead)) == 0
    assert "took over the lock" in capsys.readouterr().err
    assert_every_cell_once(dead)


def test_refusal_names_the_holder_and_readers_need_no_lock(
    slow_mock: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(args(out)) == 0
    capsys.readouterr()
    with RunLock(out):
        assert len(load(out)) == N  # reports and load() read while a run holds the lock
        assert main(args(out)) == 2  # even with nothing left to run
        err = capsys.readouterr().err
        (line,) = error_lines(err)
        assert f"pid {os.getpid()} on {socket.gethostname()} since " in line
        assert "python -m evals.run" in line
        with pytest.raises(RunLockedError):
            RunLock(out).acquire()
    assert main(args(out)) == 0  # released


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "fs"
    mnt.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot mount a tmpfs here ({e})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


def test_full_disk_stops_with_one_line_whole_lines_and_a_rerun_completes(
    slow_mock: MockServer, tiny_fs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    filler = tiny_fs / "filler"
    st = os.statvfs(tiny_fs)
    free = st.f_bavail * st.f_frsize
    filler.write_bytes(b"\0" * (free - 40 * 1024))  # room for the lock, the header and ~12 records
    out = tiny_fs / "run"
    assert main(args(out)) == EXIT_WRITE
    err = capsys.readouterr().err
    (line,) = error_lines(err)
    assert "No space left on device (ENOSPC)" in line and "cell(s) are safely recorded" in line
    assert "free some space and rerun the same command" in line
    text = (out / "results.jsonl").read_text()
    assert text.endswith("\n")
    recs = [json.loads(x) for x in text.splitlines()]  # every line parses
    assert 0 < len(recs) < N
    assert f"{len(recs)} cell(s) are safely recorded" in line
    assert not (out / LOCK_FILE).exists()  # released on the way out
    filler.unlink()
    assert main(args(out)) == 0
    assert_every_cell_once(out)
    # the cell that could not be recorded was sent again: at most one answer paid twice
    assert len(slow_mock.api_requests()) <= N + 1


def test_a_holder_whose_lease_was_taken_over_stops_before_its_next_write(tmp_path: Path) -> None:
    from evals.errors import EvalError
    from evals.execution.lock import LockLostError
    from evals.store.record import ResultRecord
    from evals.store.results import ResultsStore

    run = tmp_path / "run"
    lock = RunLock(run, lease_s=30)
    lock.acquire()
    store = ResultsStore(run)
    store.guard = lock.check
    record = ResultRecord(cell_id="a", status="ok", score=1.0, model="m", task="single", length=1, depth=0.0)
    store.append(record)
    lock._lost.set()  # what the heartbeat does when it finds another claim in the marker
    with pytest.raises(LockLostError, match="taken over"):
        store.append(record.model_copy(update={"cell_id": "b"}))
    assert isinstance(LockLostError("x"), EvalError)
    store.close()
    lock.release()
    assert [r.cell_id for r in read_records(run / "results.jsonl")] == ["a"]
    assert read_holder(run) is None and not (run / HOLDER_FILE).exists()


def test_a_lock_on_a_new_directory_leaves_nothing_when_nothing_was_written(tmp_path: Path) -> None:
    run = tmp_path / "new" / "run"
    with RunLock(run):
        assert run.is_dir() and (run / LOCK_FILE).exists() and read_holder(run).pid == os.getpid()
    assert not run.exists()


def test_the_library_entry_takes_the_lock_too(slow_mock: MockServer, tmp_path: Path) -> None:
    """``evals.execution.execute`` called from Python (no CLI) holds the run directory's lock: refused while
    another invocation holds it (nothing sent, nothing written), and runs every cell once when free."""
    import asyncio

    from rich.console import Console

    from evals.config import build_config
    from evals.execution import RunLockedError, execute
    from evals.planning import prepare

    out = tmp_path / "run"
    cfg = build_config(None, {"model": "mock-model", "lengths": "400,500", "depths": "0,100", "out": out})
    other = RunLock(out)
    other.acquire()
    try:
        with pytest.raises(RunLockedError):
            asyncio.run(execute(prepare(cfg), Console(quiet=True), show_progress=False))
        assert slow_mock.api_requests() == [] and not (out / "results.jsonl").exists()
    finally:
        other.release()
    outcome = asyncio.run(execute(prepare(cfg), Console(quiet=True), show_progress=False))
    assert (outcome.ran, outcome.ok) == (4, 4)
    recs = read_records(out / "results.jsonl")
    assert len(recs) == len({r.cell_id for r in recs}) == 4
    again = RunLock(out)
    again.acquire()  # released by execute: free again
    again.release()
