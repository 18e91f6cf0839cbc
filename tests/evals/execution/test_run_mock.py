"""The runner end to end against the mock server (OpenAI wire format, cl100k sizing): resume, errors never
scored, budget stop, judge and agreement. Fast: no real model."""

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

from evals.run import main
from evals.store.results import read_records as _read_typed
from providers.base import RetryPolicy, get_default_retry_policy, set_default_retry_policy
from providers.fakes.server import MockReply, MockRequest, MockServer

JUDGE_ID = "mock-judge-2024-01-01"


def perfect_model(req: MockRequest) -> str | MockReply:
    """Answers every 7-digit number of the prompt (the needle's among them); the judge grades 9."""
    if req.model == JUDGE_ID:
        return "[[9]]"
    numbers = re.findall(r"(?<!\d)\d{7}(?!\d)", req.prompt)
    return " ".join(numbers) or "文中没有提到"


def thinking_model(req: MockRequest) -> MockReply:
    """As perfect_model, billing 5000 hidden reasoning tokens per answer (beyond any estimate)."""
    return MockReply(str(perfect_model(req)), reasoning_tokens=5000)


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
aliases = ["mm"]
[models."mock-model".prices]
input = {price}
output = {price}
as_of = 2026-01-01
source = "test"

[models."mock-judge"]
provider = "openai-compatible"
model_id = "{judge}"
context_window = 100000
tokenizer = "cl100k_base"
mode = "chat"
key_required = false
base_url = "{url}/v1"
[models."mock-judge".prices]
input = 0.0
output = 0.0
as_of = 2026-01-01
source = "test"
"""


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records as the JSON objects written (the typed reader is tested in test_results.py)."""
    return [r.to_json() for r in _read_typed(path)]


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    old = set_default_retry_policy(
        RetryPolicy(max_attempts=8, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0)
    )
    yield
    set_default_retry_policy(old)


@pytest.fixture
def mock(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MockServer]:
    answer = getattr(request, "param", perfect_model)
    with MockServer(answer=answer, retry_after=0.01, slow_s=2.0) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, price=1.0, judge=JUDGE_ID))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        yield srv


def args(out: Path, *extra: str) -> list[str]:
    return [
        "--model",
        "mock-model",
        "--lengths",
        "300,600",
        "--depths",
        "0,50,100",
        "--out",
        str(out),
        "--no-report",
        *extra,
    ]


def test_run_resume_and_exact_records(mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(args(out)) == 0
    recs = read_records(out / "results.jsonl")
    assert len(recs) == 6
    assert {r["status"] for r in recs} == {"ok"}
    assert all(r["score"] == 1.0 for r in recs)
    assert all(r["tokens_exact"] is False for r in recs)  # cl100k is a proxy for this model
    assert all(r["cost_usd"] and r["cost_usd"] > 0 for r in recs)
    header = json.loads((out / "header.json").read_text())
    for key in (
        "suite_version",
        "git_commit",
        "config",
        "model",
        "tokenizer",
        "corpus_sha256",
        "packages",
        "grid",
    ):
        assert key in header
    assert header["grid"]["lengths"] == [300, 600]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"ok": 6, "error": 0, "model_length": 0, "truncated": 0}
    calls = len(mock.api_requests())
    # same command again (the model by an alias): nothing to do, nothing duplicated, no call made
    assert main([("mm" if a == "mock-model" else a) for a in args(out)]) == 0
    assert len(read_records(out / "results.jsonl")) == 6
    assert len(mock.api_requests()) == calls


def test_errors_are_recorded_not_scored_and_retried(mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    set_default_retry_policy(RetryPolicy(max_attempts=1, initial_backoff_s=0, max_backoff_s=0, jitter_s=0))
    mock.reset(script=["500", "500"])  # the first two calls fail and are not retried (max_attempts=1)
    assert main(args(out, "--concurrency", "1")) == 1  # cells ended in error: exit 1
    recs = read_records(out / "results.jsonl")
    errors = [r for r in recs if r["status"] == "error"]
    assert len(errors) == 2
    assert all(r["score"] is None and r["error_type"] == "ServerError" for r in errors)
    assert all(r["score"] == 1.0 for r in recs if r["status"] == "ok")
    # rerun: only the two errored cells are called again; each cell then has exactly one ok record
    mock.reset(script=[])
    assert main(args(out)) == 0
    recs = read_records(out / "results.jsonl")
    ok = [r["cell_id"] for r in recs if r["status"] == "ok"]
    assert len(ok) == 6 == len(set(ok))
    assert len(mock.api_requests("openai-chat")) == 2


def test_faults_never_scored_as_misses(mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    mock.reset(script=["429", "500", "slow", "drop", "malformed"], fault_rate=0.2)
    assert main(args(out, "--timeout", "0.5")) == 0
    recs = read_records(out / "results.jsonl")
    assert len(recs) == 6
    assert all(r["status"] == "ok" and r["score"] == 1.0 for r in recs)
    assert sum(r["attempts"] for r in recs) > 6  # some cells were retried
    assert sum(n for f, n in mock.fault_counts.items() if f != "ok") >= 5


@pytest.mark.parametrize("mock", [thinking_model], indirect=True)
def test_budget_stop_mid_run_then_resume(mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    # The estimate (~$0.003: prompts + 32 answer tokens per cell) passes the budget, but each answer bills
    # 5000 reasoning tokens ($0.005): the spend crosses $0.012 at the third cell and the run stops cleanly.
    budget = "0.012"
    code = main(args(out, "--concurrency", "1", "--max-cost", budget))
    assert code == 3
    recs = read_records(out / "results.jsonl")
    assert len(recs) == 3
    spent = sum(r["cost_usd"] for r in recs)
    assert spent >= float(budget)
    assert (out / "results.jsonl").read_text().endswith("\n")  # nothing torn
    # the same budget refuses to start now (already spent)
    assert main(args(out, "--max-cost", budget)) == 2
    assert main(args(out, "--max-cost", "10")) == 0
    assert len({r["cell_id"] for r in read_records(out / "results.jsonl")}) == 6


def test_judge_grades_and_agreement(mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(args(out, "--judge", "mock-judge")) == 0
    recs = read_records(out / "results.jsonl")
    assert all(r["judge"]["score"] == 9 and r["judge"]["model"] == "mock-judge" for r in recs)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["judge_agreement"]["n"] == 6
    assert summary["judge_agreement"]["percent"] == 1.0
    judged = [r for r in mock.api_requests() if r.body and r.body.get("model") == JUDGE_ID]
    assert len(judged) == 6


def test_judge_must_be_pinned_and_different(
    mock: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(args(tmp_path / "a", "--judge", "mock-model")) == 2
    assert "different model" in capsys.readouterr().err
    assert main(args(tmp_path / "b", "--judge", "gemini-3.8-flash")) == 2  # model id "gemini-3.8-flash" moves
    assert "not pinned" in capsys.readouterr().err
    assert main(args(tmp_path / "b", "--judge", "gemini-2.5-pro")) == 2  # retired: refused first
    assert "retired" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_force_supersedes_other_run(mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(args(out)) == 0
    other = ["--model", "mock-model", "--lengths", "300", "--depths", "50", "--out", str(out), "--no-report"]
    assert main(other) == 2
    assert main([*other, "--force"]) == 0
    assert len(read_records(out / "results.jsonl")) == 1
    old = list(out.glob("superseded-*/results.jsonl"))
    assert len(old) == 1 and len(read_records(old[0])) == 6
    assert get_default_retry_policy().max_attempts == 8  # fixture policy in force


def test_every_task_variant_runs_and_scores(mock: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    tasks = "single,multi,distractor,no_needle,changed_line"
    assert main(args(out, "--task", tasks)) in (0,)
    recs = read_records(out / "results.jsonl")
    by_task: dict[str, list[dict]] = {}
    for r in recs:
        by_task.setdefault(r["task"], []).append(r)
    assert set(by_task) == set(tasks.split(","))
    assert len(by_task["no_needle"]) == 2  # no depth axis: one cell per length
    assert all(r["status"] == "ok" for r in recs)
    # the "perfect" mock names every 7-digit number: all needles found (distractors too, recorded)
    assert all(r["score"] == 1.0 for t in ("single", "multi") for r in by_task[t])
    assert all(r["score_detail"]["distractors_found"] for r in by_task["distractor"])
    assert all(len(r["expected"]) == 3 for r in by_task["multi"])
    assert all(r["score_detail"]["abstained"] and r["score"] == 1.0 for r in by_task["no_needle"])
    assert all("located" in r["score_detail"] for r in by_task["changed_line"])


def test_config_file_with_flag_override(mock: MockServer, tmp_path: Path) -> None:
    cfg = tmp_path / "run.toml"
    out = tmp_path / "run"
    cfg.write_text(
        f'model = "mock-model"\nlengths = [300, 600]\ndepths = "0-100/50"\nout = "{out}"\n'
        "no-report = true\nmax_tokens = 8\n"
    )
    assert main(["--config", str(cfg), "--max-tokens", "16"]) == 0
    header = json.loads((out / "header.json").read_text())
    assert header["config"]["max_tokens"] == 16
    assert header["grid"]["depths"] == [0.0, 50.0, 100.0]
    assert len(read_records(out / "results.jsonl")) == 6
    assert all(r["max_tokens"] == 16 for r in (q.body for q in mock.api_requests("openai-chat")) if r)


def test_beyond_window_refused_or_probed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer(answer=perfect_model, context_window=900) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, price=1.0, judge=JUDGE_ID).replace("100000", "1000", 1))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        base = ["--model", "mock-model", "--lengths", "300,1500", "--depths", "50", "--no-report"]
        assert main([*base, "--out", str(tmp_path / "a")]) == 2  # 1500 > the 1000-token window: refused
        assert not (tmp_path / "a").exists()
        out = tmp_path / "b"
        assert main([*base, "--out", str(out), "--allow-beyond-window"]) == 0
        recs = {r["length"]: r for r in read_records(out / "results.jsonl")}
        assert recs[300]["status"] == "ok" and recs[300]["score"] == 1.0
        assert recs[1500]["status"] == "model_length" and recs[1500]["score"] is None
        summary = json.loads((out / "summary.json").read_text())
        assert summary["counts"]["model_length"] == 1
        # model_length cells are done: a rerun calls nothing
        n = len(srv.api_requests())
        assert main([*base, "--out", str(out), "--allow-beyond-window"]) == 0
        assert len(srv.api_requests()) == n


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_finished_cells(
    tmp_path: Path, sig: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    with MockServer(answer=perfect_model, latency_s=0.3) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, price=1.0, judge=JUDGE_ID))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        out = tmp_path / "run"
        root = str(Path(__file__).resolve().parents[3])  # this checkout's packages in the child
        env = {**os.environ, "NIAH_MODELS_FILE": str(reg), "PYTHONPATH": root}
        cmd = [sys.executable, "-m", "evals.run", *args(out, "--concurrency", "1")]
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        results = out / "results.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (results.exists() and results.read_text().count("\n") >= 2):
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
        text = results.read_text()
        assert text.endswith("\n")
        done = read_records(results)
        assert 2 <= len(done) < 6
        # resume finishes the rest, one record per cell
        assert main(args(out)) == 0
        ids = [r["cell_id"] for r in read_records(results)]
        assert len(ids) == len(set(ids)) == 6


ANTHROPIC_ENTRY = """
[models."mock-claude"]
provider = "anthropic"
model_id = "mock-claude-20250101"
context_window = 100000
tokenizer = "cl100k_base"
tokenizer_exact = false
count_api = true
mode = "chat"
key_env = "MOCK_ANTHROPIC_KEY"
base_url = "{url}"
[models."mock-claude".prices]
input = 3.0
output = 15.0
as_of = 2026-01-01
source = "test"
"""


@pytest.mark.parametrize("count_api", [True, False])
def test_count_api_gives_exact_lengths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count_api: bool
) -> None:
    """A model without a public tokenizer: sized through its count API, the prompts the server bills land on
    the requested length; with --no-count-api they are approximate and recorded so."""
    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ANTHROPIC_ENTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        out = tmp_path / "run"
        extra = [] if count_api else ["--no-count-api"]
        cmd = ["--model", "mock-claude", "--lengths", "400,900", "--depths", "0,100", "--out", str(out)]
        assert main([*cmd, "--no-report", *extra]) == 0
        recs = read_records(out / "results.jsonl")
        assert len(recs) == 4 and all(r["status"] == "ok" and r["score"] == 1.0 for r in recs)
        header = json.loads((out / "header.json").read_text())
        assert header["tokens_exact"] is count_api
        off = [abs(r["prompt_tokens"] - r["target_tokens"]) / r["target_tokens"] for r in recs]
        if count_api:
            # exact where the generation call's own count confirms it; a cell found off says so and why
            for r in recs:
                assert r["tokens_exact"] is (r["prompt_tokens"] == r["target_tokens"]), r
                assert r["tokens_exact"] or "the provider counted" in r["tokens_note"]
            assert sum(r["tokens_exact"] for r in recs) >= 2
            assert max(off) <= 0.01, off
            assert srv.api_requests("anthropic-count")
        else:
            assert max(off) > 0.05  # the mock's tokens are not cl100k's
            assert not srv.api_requests("anthropic-count")
