"""``--adaptive --batch`` end to end against the fakes of all three batch vendors: each round one batch, the
full grid's effective length found, no cell submitted twice, and a run killed while polling a round resumes
without submitting anything again."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.execution.batch import BATCHES_FILE, pending_batches
from evals.run import main
from evals.store.results import read_records
from providers.base import RetryPolicy, set_default_retry_policy
from providers.fakes.harness import count_tokens
from providers.fakes.server import MockRequest, MockServer
from tests.evals.execution.test_batch import OPENAI_ENTRY
from tests.evals.execution.test_run_mock import ANTHROPIC_ENTRY

GEMINI_ENTRY = """
[models."mock-gemini"]
provider = "gemini"
model_id = "mock-gemini"
context_window = 100000
tokenizer = "cl100k_base"
tokenizer_exact = false
mode = "chat"
key_env = "MOCK_GEMINI_KEY"
base_url = "{url}"
[models."mock-gemini".prices]
input = 1.0
output = 4.0
as_of = 2026-01-01
source = "test"
"""
VENDORS = [("mock-gpt", "openai"), ("mock-claude", "anthropic"), ("mock-gemini", "gemini")]
#: the cliff model is right below 1,600 of the fake's prompt tokens (a cliff inside the grid, whether lengths
#: are sized in cl100k or, through the count API, in the fake's tokens)
CUTOFF = 1600
LENGTHS = "600,1000,1400,1800,2200,2600"
GRID = ["--lengths", LENGTHS, "--depths", "0:100:6", "--task", "single"]
N_FULL = 6 * 6


def cliff_model(req: MockRequest) -> str:
    """Answers the needle (every 7-digit number) when the prompt is short, else abstains."""
    if count_tokens(req.prompt) >= CUTOFF:
        return "文中没有提到"
    return " ".join(re.findall(r"(?<!\d)\d{7}(?!\d)", req.prompt)) or "文中没有提到"


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    old = set_default_retry_policy(
        RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0)
    )
    yield
    set_default_retry_policy(old)


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with MockServer(answer=cliff_model) as s:
        reg = tmp_path / "models.toml"
        reg.write_text(
            OPENAI_ENTRY.format(url=s.url)
            + ANTHROPIC_ENTRY.format(url=s.url)
            + GEMINI_ENTRY.format(url=s.url)
        )
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_OPENAI_KEY", "sk-test-123456789")
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        monkeypatch.setenv("MOCK_GEMINI_KEY", "gm-test-123456")
        yield s


def _args(model: str, out: Path, *extra: str) -> list[str]:
    return [
        "--model",
        model,
        *GRID,
        "--out",
        str(out),
        "--no-report",
        "--adaptive",
        "--batch",
        "--batch-poll",
        "0.01",
        *extra,
    ]


def _full_grid_length(model: str, out: Path) -> int | None:
    """The full grid's effective length (every cell, one batch)."""
    from statistics import fmean

    from evals.stats import effective_length

    args = [a for a in _args(model, out) if a != "--adaptive"]
    assert main(args) == 0
    by_length: dict[int, list[float]] = {}
    for r in read_records(out / "results.jsonl"):
        by_length.setdefault(r.length, []).append(float(r.score or 0.0))
    assert sum(map(len, by_length.values())) == N_FULL
    return effective_length({n: fmean(v) for n, v in by_length.items()})


def _submitted(run_dir: Path) -> list[list[str]]:
    events = [json.loads(x) for x in (run_dir / BATCHES_FILE).read_text().splitlines()]
    return [e["cell_ids"] for e in events if e["event"] == "submitted"]


@pytest.mark.parametrize("model,vendor", VENDORS)
def test_adaptive_rounds_through_the_batch_api(
    srv: MockServer, tmp_path: Path, model: str, vendor: str
) -> None:
    out = tmp_path / "run"
    assert main(_args(model, out)) == 0
    sampling = json.loads((out / "sampling.json").read_text())
    (group,) = sampling["groups"]
    assert group["settled"]
    batches = _submitted(out)
    # one batch per round, every cell in one batch only, every record from a batch
    assert len(batches) == sampling["rounds"] == srv.batch.count(vendor, "create") >= 2
    ids = [cid for b in batches for cid in b]
    assert len(ids) == len(set(ids)) < N_FULL
    recs = read_records(out / "results.jsonl")
    assert sorted(r.cell_id for r in recs) == sorted(ids)
    assert all(r.batch_id and r.status == "ok" for r in recs)
    assert pending_batches(out) == []
    # settled: a rerun submits nothing
    assert main(_args(model, out)) == 0
    assert srv.batch.count(vendor, "create") == len(batches)
    # the full grid (every cell, one batch) has the same effective length
    assert group["effective_length"] == _full_grid_length(model, tmp_path / "full")


def test_killed_while_polling_a_round_resumes_without_resubmitting(srv: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "evals.run", *_args("mock-gpt", out)]
    srv.batch.polls_to_complete = 10**9  # the first round never ends while the first process polls
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and srv.batch.count("openai", "poll") < 2:
        time.sleep(0.05)
    assert srv.batch.count("openai", "poll") >= 2, proc.stderr.read() if proc.poll() is not None else ""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    (first,) = _submitted(out)
    srv.batch.polls_to_complete = 0
    assert main(_args("mock-gpt", out)) == 0
    batches = _submitted(out)
    assert batches[0] == first and len(batches) >= 2
    assert srv.batch.count("openai", "create") == len(batches)
    ids = [cid for b in batches for cid in b]
    assert len(ids) == len(set(ids))
    sampling = json.loads((out / "sampling.json").read_text())
    assert sampling["groups"][0]["effective_length"] == _full_grid_length("mock-gpt", tmp_path / "full")


def test_dry_run_shows_expected_and_worst_case(
    srv: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_args("mock-gpt", tmp_path / "run"), "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "adaptive, expected" in out and "adaptive, worst case" in out and "sharp cliffs" in out
    assert not srv.api_requests()


def test_a_round_over_the_budget_is_not_sent_and_a_resume_continues(
    srv: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A round goes out whole, so it is not sent when its bound could pass --max-cost (exit 3, nothing
    submitted); rerun with a higher budget, the rounds go out, no cell twice, one batch per round, and the
    answer is an uninterrupted run's."""
    out = tmp_path / "run"
    assert main([*_args("mock-gpt", out), "--max-cost", "0.000001"]) == 3
    assert "could pass the budget" in capsys.readouterr().err
    assert not (out / BATCHES_FILE).exists() and srv.batch.count("openai", "create") == 0
    stopped = json.loads((out / "sampling.json").read_text())
    assert stopped["stopped"] == "stopped at --max-cost" and stopped["groups"][0]["n_observed"] == 0
    assert main([*_args("mock-gpt", out), "--max-cost", "100"]) == 0
    batches = _submitted(out)
    assert len(batches) >= 2 and srv.batch.count("openai", "create") == len(batches)
    ids = [cid for b in batches for cid in b]
    assert len(ids) == len(set(ids))
    resumed = json.loads((out / "sampling.json").read_text())["groups"][0]
    assert main(_args("mock-gpt", tmp_path / "straight")) == 0
    straight = json.loads((tmp_path / "straight" / "sampling.json").read_text())["groups"][0]
    assert resumed["effective_length"] == straight["effective_length"]
    assert resumed["n_observed"] == straight["n_observed"]
