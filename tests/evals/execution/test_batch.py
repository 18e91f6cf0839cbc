"""``--batch`` end to end against the mock server's batch endpoints: one submission, every cell ok at half
the synchronous cost, resumable after SIGKILL while polling without a second submission."""

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

from evals.execution.batch import BATCHES_FILE, pending_batches
from evals.run import main
from providers.base import RetryPolicy, set_default_retry_policy
from providers.fakes.server import MockServer
from tests.evals.execution.test_run_mock import ANTHROPIC_ENTRY, REGISTRY, perfect_model, read_records

OPENAI_ENTRY = """
[models."mock-gpt"]
provider = "openai"
model_id = "mock-gpt-2026-01-01"
context_window = 100000
tokenizer = "cl100k_base"
tokenizer_exact = false
mode = "chat"
key_env = "MOCK_OPENAI_KEY"
base_url = "{url}/v1"
[models."mock-gpt".prices]
input = 2.0
output = 8.0
as_of = 2026-01-01
source = "test"
"""


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    old = set_default_retry_policy(
        RetryPolicy(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0)
    )
    yield
    set_default_retry_policy(old)


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with MockServer(answer=perfect_model) as s:
        reg = tmp_path / "models.toml"
        reg.write_text(
            REGISTRY.format(url=s.url, price=1.0, judge="j")
            + OPENAI_ENTRY.format(url=s.url)
            + ANTHROPIC_ENTRY.format(url=s.url)
        )
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_OPENAI_KEY", "sk-test-123456789")
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        yield s


def _args(model: str, out: Path, *extra: str) -> list[str]:
    return [
        "--model",
        model,
        "--lengths",
        "300,600",
        "--depths",
        "0,50,100",
        "--out",
        str(out),
        "--no-report",
        "--batch-poll",
        "0.01",
        *extra,
    ]


@pytest.mark.parametrize("model,vendor", [("mock-gpt", "openai"), ("mock-claude", "anthropic")])
def test_batch_grid_once_ok_half_price(srv: MockServer, tmp_path: Path, model: str, vendor: str) -> None:
    srv.batch.polls_to_complete = 2
    assert main(_args(model, tmp_path / "batch", "--batch")) == 0
    if vendor == "openai":
        assert srv.batch.count("openai", "upload") == 1
    assert srv.batch.count(vendor, "create") == 1
    assert srv.batch.count(vendor, "poll") >= 3
    recs = read_records(tmp_path / "batch" / "results.jsonl")
    assert len(recs) == 6 == len({r["cell_id"] for r in recs})
    assert all(r["status"] == "ok" and r["score"] == 1.0 and r["batch_id"] for r in recs)
    assert pending_batches(tmp_path / "batch") == []
    # the same grid synchronously: same cells and prompts, twice the cost
    assert main(_args(model, tmp_path / "sync")) == 0
    sync = {r["cell_id"]: r for r in read_records(tmp_path / "sync" / "results.jsonl")}
    assert set(sync) == {r["cell_id"] for r in recs}
    for r in recs:
        s = sync[r["cell_id"]]
        assert s["batch_id"] is None and s["input_sha256"] == r["input_sha256"]
        assert r["cost_usd"] == pytest.approx(s["cost_usd"] / 2)
    # rerun: nothing to do, nothing submitted
    assert main(_args(model, tmp_path / "batch", "--batch")) == 0
    assert srv.batch.count(vendor, "create") == 1


def test_batch_dry_run_shows_batch_prices(srv: MockServer, tmp_path: Path, capsys: Any) -> None:
    assert main(_args("mock-gpt", tmp_path / "a", "--dry-run")) == 0
    full = capsys.readouterr().out
    assert main(_args("mock-gpt", tmp_path / "a", "--dry-run", "--batch")) == 0
    half = capsys.readouterr().out
    assert "batch prices" in half and "batch prices" not in full
    cost = [float(re.search(r"estimated cost\W+\$([\d.]+)", x).group(1)) for x in (full, half)]  # type: ignore[union-attr]
    assert cost[1] == pytest.approx(cost[0] / 2, abs=1e-4)  # printed to 4 decimals


def test_batch_refused_without_batch_api(srv: MockServer, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "run"
    assert main(_args("mock-model", out, "--batch")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no batch API" in err
    assert not out.exists()
    assert not srv.api_requests()


def test_batch_errors_resubmitted(srv: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    set_default_retry_policy(RetryPolicy(max_attempts=1, initial_backoff_s=0, max_backoff_s=0, jitter_s=0))
    first = main(_args("mock-gpt", out, "--batch", "--depths", "50"))
    assert first == 0
    cells = [r["cell_id"] for r in read_records(out / "results.jsonl")]
    # a failing cell of a second grid comes back in error, then is resubmitted alone
    out2 = tmp_path / "run2"
    srv.batch.fail_ids = {cells[0]}
    assert main(_args("mock-gpt", out2, "--batch", "--depths", "50")) == 1
    recs = read_records(out2 / "results.jsonl")
    assert {r["cell_id"]: r["status"] for r in recs}[cells[0]] == "error"
    srv.batch.fail_ids = set()
    creates = srv.batch.count("openai", "create")
    assert main(_args("mock-gpt", out2, "--batch", "--depths", "50")) == 0
    assert srv.batch.count("openai", "create") == creates + 1
    last = srv.batch.batches[sorted(srv.batch.batches, key=lambda b: srv.batch.batches[b].created)[-1]]
    assert last.custom_ids == [cells[0]]


def test_batch_sigkill_while_polling_resumes_without_resubmitting(srv: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    srv.batch.polls_to_complete = 10**9  # never ends while the first process polls
    # this checkout's packages in the child (not another editable install's)
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "evals.run", *_args("mock-gpt", out, "--batch")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and srv.batch.count("openai", "poll") < 2:
        time.sleep(0.05)
    assert srv.batch.count("openai", "poll") >= 2, proc.stderr.read() if proc.poll() is not None else ""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    events = [json.loads(line) for line in (out / BATCHES_FILE).read_text().splitlines()]
    assert [e["event"] for e in events] == ["submitting", "submitted"]
    assert events[0]["token"] == events[1]["token"] and events[0]["cell_ids"] == events[1]["cell_ids"]
    events = events[1:]
    assert len(events[0]["cell_ids"]) == 6
    assert not (out / "results.jsonl").exists() or not read_records(out / "results.jsonl")
    srv.batch.polls_to_complete = 0
    assert main(_args("mock-gpt", out, "--batch")) == 0
    assert srv.batch.count("openai", "create") == 1 and srv.batch.count("openai", "upload") == 1
    recs = read_records(out / "results.jsonl")
    ids = [r["cell_id"] for r in recs]
    assert len(ids) == len(set(ids)) == 6
    assert {r["batch_id"] for r in recs} == {events[0]["handle"]["batch_id"]}
    assert pending_batches(out) == []


class _Died(BaseException):
    """A process killed at this point (nothing after it runs; not an error any handler catches)."""


@pytest.mark.parametrize("model,vendor", [("mock-gpt", "openai"), ("mock-claude", "anthropic")])
def test_killed_after_the_vendor_accepted_before_recording_submits_nothing_twice(
    srv: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str, vendor: str
) -> None:
    """The one window left open by writing each batch id before polling: the vendor accepted the batch and
    the run died before writing its id. The resumed run finds the batch by its token and adopts it."""
    import evals.execution.batch as br

    out = tmp_path / "run"
    real = br.append_event

    def dies_before_recording(run_dir: Path, event: dict[str, Any]) -> None:
        if event.get("event") == "submitted":
            raise _Died  # the process is gone: nothing after the vendor's answer is written
        real(run_dir, event)

    monkeypatch.setattr(br, "append_event", dies_before_recording)
    with pytest.raises(_Died):
        main(_args(model, out, "--batch"))
    assert srv.batch.count(vendor, "create") == 1
    assert [e["event"] for e in br.read_events(out)] == ["submitting"]
    monkeypatch.setattr(br, "append_event", real)
    assert main(_args(model, out, "--batch")) == 0
    assert srv.batch.count(vendor, "create") == 1
    events = br.read_events(out)
    assert [e["event"] for e in events] == ["submitting", "submitted", "collected"] and events[1]["adopted"]
    recs = read_records(out / "results.jsonl")
    assert len(recs) == 6 == len({r["cell_id"] for r in recs}) and all(r["status"] == "ok" for r in recs)


def test_a_submission_that_never_reached_the_vendor_is_sent_on_resume(
    srv: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evals.execution.batch as br
    from providers.batch import BatchClient

    out = tmp_path / "run"

    async def unreachable(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise _Died  # killed while the create request was on its way

    real = BatchClient.submit
    monkeypatch.setattr(BatchClient, "submit", unreachable)
    with pytest.raises(_Died):
        main(_args("mock-gpt", out, "--batch"))
    monkeypatch.setattr(BatchClient, "submit", real)
    assert srv.batch.count("openai", "create") == 0
    assert main(_args("mock-gpt", out, "--batch")) == 0
    assert [e["event"] for e in br.read_events(out)] == [
        "submitting",
        "abandoned",
        "submitting",
        "submitted",
        "collected",
    ]
    assert srv.batch.count("openai", "create") == 1 and len(read_records(out / "results.jsonl")) == 6
