"""``--adaptive`` end to end against the mock server: a fake model that is right only below a fixed prompt
size, the call count against the full grid, resume after a budget stop and after SIGKILL, the header's
``sampling`` and ``sampling.json``, and the leaderboard's account of how the grid was sampled."""

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
from typing import Any

import pytest

from evals.reporting.data import build_leaderboard, collect
from evals.run import main
from evals.store.results import read_records
from providers.base import RetryPolicy, set_default_retry_policy
from providers.fakes.server import MockRequest, MockServer

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
concurrency = 4
[models."mock-model".prices]
input = 1.0
output = 1.0
as_of = 2026-01-01
source = "test"
"""

LENGTHS = list(range(400, 2700, 200))  # 12 lengths
CUTOFF = 1500  # prompt tokens: right below, wrong above -> the full grid's effective length is 1400
GRID = ["--lengths", ",".join(map(str, LENGTHS)), "--depths", "0:100:11", "--repeats", "2"]
N_FULL = 12 * 11 * 2


def cliff_model(req: MockRequest) -> str:
    """Answers the needle (every 7-digit number of the prompt) when the prompt is short, else abstains."""
    from haystacks.tokenizers import get_tokenizer

    if get_tokenizer("cl100k_base").count(req.prompt) >= CUTOFF:
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
def mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with MockServer(answer=cliff_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        yield srv


def args(out: Path, *extra: str) -> list[str]:
    return ["--model", "mock-model", *GRID, "--out", str(out), "--no-report", *extra]


def entry(run_dir: Path) -> dict[str, Any]:
    board = build_leaderboard(collect([run_dir]))
    (e,) = board["entries"]
    return e


def observed_cells(run_dir: Path) -> list[tuple[int, float, int]]:
    return sorted((r.length, r.depth, r.seed) for r in read_records(run_dir / "results.jsonl"))


def test_adaptive_finds_the_full_grids_effective_length_with_few_calls(
    mock: MockServer, tmp_path: Path
) -> None:
    full, adaptive = tmp_path / "full", tmp_path / "adaptive"
    assert main(args(full)) == 0
    n_full = len(mock.api_requests())
    assert n_full == N_FULL
    assert entry(full)["effective_context_length"]["value"] == 1400

    mock.reset()
    assert main(args(adaptive, "--adaptive")) == 0
    n_adaptive = len(mock.api_requests())
    assert n_adaptive <= 0.3 * N_FULL, n_adaptive
    e = entry(adaptive)
    assert e["effective_context_length"]["value"] == 1400
    # every cell sent once; the header and sampling.json say how the grid was sampled and why it stopped
    recs = read_records(adaptive / "results.jsonl")
    assert len(recs) == len({r.cell_id for r in recs}) == n_adaptive
    header = json.loads((adaptive / "header.json").read_text())
    assert header["sampling"]["method"] == "adaptive"
    assert header["sampling"]["settings"]["assume_monotone"] is True
    assert "does not rise" in header["sampling"]["assumption"]
    sampling = json.loads((adaptive / "sampling.json").read_text())
    (g,) = sampling["groups"]
    assert g["settled"] and g["effective_length"] == 1400 and g["assumption_ok"]
    assert g["n_observed"] == n_adaptive and g["n_cells"] == N_FULL
    s = e["sampling"]
    assert s["method"] == "adaptive" and s["settled"] and s["assumption_ok"] is True
    assert s["effective_length"] == 1400 and "settled" in s["reason"]
    assert s["n_observed"] == n_adaptive and s["n_candidates"] == N_FULL
    assert entry(full)["sampling"]["method"] == "full"
    # the dashboard says how the grid was sampled; the heatmap title how many cells were run
    from evals.reporting.dashboard import generate_reports

    generate_reports([adaptive], tmp_path / "report", png=False)
    dashboard = (tmp_path / "report" / "dashboard.html").read_text(encoding="utf-8")
    assert f"adaptive {n_adaptive}/{N_FULL}" in dashboard and "settled" in dashboard
    assert f"adaptive: {n_adaptive} of {N_FULL} cells (grey: not sampled)" in dashboard
    # a rerun has nothing left to ask
    mock.reset()
    assert main(args(adaptive, "--adaptive")) == 0
    assert mock.api_requests() == []


def test_adaptive_strict_decides_every_length_on_its_own_data(mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "strict"
    assert main(args(out, "--adaptive-strict")) == 0
    n = len(mock.api_requests())
    assert 0.3 * N_FULL < n < N_FULL
    sampling = json.loads((out / "sampling.json").read_text())
    assert sampling["settings"]["assume_monotone"] is False
    assert sampling["groups"][0]["effective_length"] == 1400


def test_budget_stop_then_resume_sends_no_cell_twice(mock: MockServer, tmp_path: Path) -> None:
    ref, out = tmp_path / "ref", tmp_path / "run"
    assert main(args(ref, "--adaptive")) == 0
    mock.reset()
    # ~$0.001 per cell: the budget stops the first round part-way
    assert main(args(out, "--adaptive", "--concurrency", "1", "--max-cost", "0.01")) == 3
    first = len(mock.api_requests())
    assert 0 < first < 24
    sampling = json.loads((out / "sampling.json").read_text())
    assert sampling["stopped"] == "stopped at --max-cost"
    assert not sampling["groups"][0]["settled"]
    assert main(args(out, "--adaptive", "--max-cost", "10")) == 0
    recs = read_records(out / "results.jsonl")
    assert len(mock.api_requests()) == len(recs) == len({r.cell_id for r in recs})
    # the sampler is deterministic: the interrupted run ends where the uninterrupted one did
    assert observed_cells(out) == observed_cells(ref)
    assert json.loads((out / "sampling.json").read_text())["stopped"] is None


def test_sigkill_mid_run_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer(answer=cliff_model, latency_s=0.1) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        out = tmp_path / "run"
        env = {**os.environ, "NIAH_MODELS_FILE": str(reg)}
        cmd = [sys.executable, "-m", "evals.run", *args(out, "--adaptive", "--concurrency", "1")]
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        results = out / "results.jsonl"
        deadline = time.monotonic() + 60
        # past the first round (24 coarse cells), so that sampling.json exists and a later round is running
        while time.monotonic() < deadline and not (
            results.exists() and results.read_text().count("\n") >= 27
        ):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        before = len(read_records(results))
        sent = len(srv.api_requests())
        assert sent <= before + 1  # at most the one call in flight was lost
        assert main(args(out, "--adaptive")) == 0
        recs = read_records(results)
        assert len(recs) == len({r.cell_id for r in recs})
        # no cell sent twice, except the one whose answer the kill lost
        assert len(srv.api_requests()) <= len(recs) + (sent - before)
        assert json.loads((out / "sampling.json").read_text())["groups"][0]["effective_length"] == 1400


def test_dry_run_compare_with_prints_repeats_guidance(
    mock: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = ["--lengths", "400,1600", "--depths", "0,50,100", "--repeats", "2"]
    done = tmp_path / "done"
    assert main(["--model", "mock-model", *small, "--out", str(done), "--no-report"]) == 0
    capsys.readouterr()
    n = len(mock.api_requests())
    code = main(
        [
            "--model",
            "mock-model",
            *small,
            "--out",
            str(tmp_path / "new"),
            "--dry-run",
            "--compare-with",
            str(done),
        ]
    )
    assert code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "compare single with mock-model (recall 0.500 on 2 seed(s)" in text
    assert "6 cells per seed" in text and "this plan has 2" in text
    assert re.search(r"5 points: \d+ seed\(s\), 10 points: \d+ seed\(s\), 20 points: \d+ seed\(s\)", text)
    assert len(mock.api_requests()) == n  # a dry run calls nothing
    assert (
        main(["--model", "mock-model", *small, "--out", str(tmp_path / "x"), "--compare-with", str(done)])
        == 2
    )
