"""End to end on the real local model (llama.cpp + Gemma 3 270M), through the CLI in subprocesses.

Kept small (prompts of 300-800 tokens): exact prompt lengths, SIGKILL mid-run then resume, and a
fault-injecting server (429/500/timeouts) in front of the model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.store.results import read_records as _read_typed


def read_records(path: Path) -> list[dict]:
    """The records as the JSON objects written."""
    return [r.to_json() for r in _read_typed(path)]


pytestmark = pytest.mark.slow


def cli(args: list[str], cwd: Path) -> list[str]:
    return [sys.executable, "-m", "evals.run", *args]


def run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cli(args, cwd), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_tiny_grid_exact_prompt_lengths(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--lengths", "300,800", "--depths", "0,50,100", "--out", str(out), "--no-report"]
    p = run(args, tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    recs = read_records(out / "results.jsonl")
    assert len(recs) == 6
    for r in recs:
        assert r["status"] == "ok"
        assert r["prompt_tokens_source"] == "provider"
        assert r["tokens_exact"] is True
        assert r["prompt_tokens"] == r["target_tokens"], r
        assert r["timings"]["prompt_n"] + r["timings"]["cache_n"] == r["prompt_tokens"]
    header = json.loads((out / "header.json").read_text())
    assert header["tokenizer"].startswith("llamacpp:") and header["special_tokens"] == 1
    # the shared-prefix order: after the first prompt, llama.cpp reuses cached prefixes
    assert sum(r["timings"]["cache_n"] for r in recs) > 0.3 * sum(r["prompt_tokens"] for r in recs)


def test_sigkill_mid_run_then_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--lengths", "400,800", "--depths", "0,25,50,75,100", "--out", str(out), "--no-report"]
    proc = subprocess.Popen(
        cli(args, tmp_path), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    results = out / "results.jsonl"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_bytes().splitlines()) >= 3:
                break
            assert proc.poll() is None, "run finished before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("no records within the deadline")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
    before = results.read_bytes()
    first = read_records(results)
    assert 3 <= len(first) < 10
    p = run(args, tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    after = results.read_bytes()
    assert after.startswith(before if before.endswith(b"\n") else before.rsplit(b"\n", 1)[0])
    recs = read_records(results)
    ids = [r["cell_id"] for r in recs]
    assert len(ids) == len(set(ids)) == 10  # exactly one record per cell
    assert all(r["status"] == "ok" for r in recs)
    # the finished cells were not recomputed: their records are the first run's, byte for byte
    assert [r["timestamp"] for r in recs[: len(first)]] == [r["timestamp"] for r in first]
    assert "resuming" in p.stderr and f"{len(first)} of 10 cells done" in p.stderr


@pytest.fixture
def faulty_local(tmp_path: Path) -> Iterator[str]:
    from providers.doors.local.server import LocalServer
    from providers.fakes.server import MockServer

    with (
        LocalServer(n_ctx=2048) as llama,
        MockServer(
            upstream=llama.url,
            fault_rate=0.2,
            faults=("429", "500", "slow"),
            retry_after=0.05,
            slow_s=25.0,  # past the run's --timeout: the call times out and is retried
            script=("429", "500", "slow"),
            seed=7,
        ) as mock,
    ):
        yield mock.url
        counts = mock.fault_counts
        assert sum(n for f, n in counts.items() if f != "ok") >= 3, counts


def test_fault_injection_every_cell_ok(tmp_path: Path, faulty_local: str) -> None:
    out = tmp_path / "run"
    args = [
        "--base-url", f"{faulty_local}/v1", "--lengths", "300,600", "--depths", "0,50,100", "--out", str(out),
        "--timeout", "20", "--backoff", "0.05", "--max-attempts", "10", "--no-report",
    ]  # fmt: skip
    p = run(args, tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    recs = read_records(out / "results.jsonl")
    assert len(recs) == 6
    assert all(r["status"] == "ok" and r["error"] is None for r in recs)
    assert sum(r["attempts"] for r in recs) > 6  # faults were retried, never scored
    assert all(r["tokens_exact"] and r["prompt_tokens"] == r["target_tokens"] for r in recs)
