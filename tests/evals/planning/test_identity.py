"""A run directory holds one identity: every input that changes a prompt or a grade splits runs, and a model
is known everywhere by a name that includes its id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evals.reporting.data import build_leaderboard, collect
from evals.run import main
from evals.store.results import read_records
from providers.fakes.server import MockReply, MockServer
from tests.evals.execution.test_run_mock import REGISTRY, perfect_model


def _run_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "header.json").exists())


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def make(url: str) -> None:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=url, price=1.0, judge="mock-judge-2024-01-01"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))

    return make


GRID = ["--lengths", "400", "--depths", "0,100", "--no-report"]


def test_another_haystack_starts_a_new_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry) -> None:
    """The same command over other text must not resume the old run and print its scores as the new one's."""
    monkeypatch.chdir(tmp_path)
    with MockServer(answer=perfect_model) as srv:
        registry(srv.url)
        assert main(["--model", "mock-model", *GRID]) == 0
        first = len(srv.api_requests())
        seeds = Path(__file__).resolve().parents[3] / "seeds"
        mine = tmp_path / "mine"
        mine.mkdir()
        shutil.copy(sorted(seeds.glob("*.txt"))[1], mine / "doc.txt")
        assert main(["--model", "mock-model", "--haystack", str(mine / "doc.txt"), *GRID]) == 0
        assert len(srv.api_requests()) > first  # its cells were sent
        runs = _run_dirs(tmp_path / "results")
        assert len(runs) == 2
        headers = [json.loads((r / "header.json").read_text()) for r in runs]
        assert {h["corpus_sha256"] for h in headers}.__len__() == 2
        assert sorted(len(h["corpus_files"]) for h in headers) == [1, 5]
        assert all(h["corpus_seeds"] == h["corpus_files"] for h in headers)
        # the same command again resumes (nothing sent)
        n = len(srv.api_requests())
        assert main(["--model", "mock-model", "--haystack", str(mine / "doc.txt"), *GRID]) == 0
        assert len(srv.api_requests()) == n


def test_out_holding_another_identity_is_refused(
    tmp_path: Path, registry, capsys: pytest.CaptureFixture[str]
) -> None:
    with MockServer(answer=perfect_model) as srv:
        registry(srv.url)
        out = tmp_path / "run"
        assert main(["--model", "mock-model", "--out", str(out), *GRID]) == 0
        before = (out / "results.jsonl").read_bytes()
        capsys.readouterr()
        assert main(["--model", "mock-model", "--out", str(out), "--task", "multi", *GRID]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "holds a different run" in err[0]
        assert (out / "results.jsonl").read_bytes() == before


def test_two_served_models_get_two_runs_and_two_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """vllm:alpha then vllm:beta, same grid, default options: two directories, records named by id, two
    leaderboard rows (the discovered id names the model before the run directory is chosen)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NIAH_MODELS_FILE", raising=False)
    for served in ("org/alpha-7b", "org/beta-7b"):
        with MockServer(answer=perfect_model, model=served) as srv:
            assert main(["--model", "vllm", "--base-url", f"{srv.url}/v1", *GRID]) == 0
    runs = _run_dirs(tmp_path / "results")
    assert len(runs) == 2
    models = {rec.model for r in runs for rec in read_records(r / "results.jsonl")}
    assert models == {"vllm:org/alpha-7b", "vllm:org/beta-7b"}
    board = build_leaderboard(collect(runs))
    assert sorted(e["model"] for e in board["entries"]) == ["vllm:org/alpha-7b", "vllm:org/beta-7b"]


def test_judge_added_to_a_finished_run_grades_its_done_cells(tmp_path: Path, registry) -> None:
    with MockServer(answer=perfect_model) as srv:
        registry(srv.url)
        out = tmp_path / "run"
        assert main(["--model", "mock-model", "--out", str(out), *GRID]) == 0
        assert all(r.judge is None for r in read_records(out / "results.jsonl"))
        sent = len(srv.api_requests())
        assert main(["--model", "mock-model", "--out", str(out), "--judge", "mock-judge", *GRID]) == 0
        judged = [
            r for r in srv.api_requests()[sent:] if r.body and r.body.get("model") == "mock-judge-2024-01-01"
        ]
        assert len(judged) == 2 and len(srv.api_requests()) - sent == 2  # judge calls only, no cell resent
        from evals.store.results import latest_by_cell

        latest = latest_by_cell(read_records(out / "results.jsonl"))
        assert len(latest) == 2 and all(r.judge is not None and r.judge.score == 9 for r in latest.values())
        summary = json.loads((out / "summary.json").read_text())
        assert summary["judge_agreement"]["n"] == 2


def test_retries_are_counted_and_shown(tmp_path: Path, registry, capsys: pytest.CaptureFixture[str]) -> None:
    with MockServer(answer=perfect_model, retry_after=0.01) as srv:
        registry(srv.url)
        srv.reset(script=["429", "500", "429"])
        out = tmp_path / "run"
        assert main(["--model", "mock-model", "--out", str(out), "--backoff", "0", *GRID]) == 0
        err = capsys.readouterr().err
        import re

        shown = re.search(r"(\d+) retries", err)
        assert shown and int(shown.group(1)) == 3, err
        assert "retries 3" in err  # the progress bar's own counter


def test_a_model_routed_to_another_is_said_so(
    tmp_path: Path, registry, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vendors route retired names to other models: the summary and the dashboard say which answered."""

    def routed(req):
        return MockReply(str(perfect_model(req)), model="other-model-2026")

    with MockServer(answer=routed) as srv:
        registry(srv.url)
        out = tmp_path / "run"
        assert main(["--model", "mock-model", "--out", str(out), "--lengths", "400", "--depths", "50"]) == 0
    err = capsys.readouterr().err
    assert "answered by" in err and "other-model-2026" in err
    board = json.loads((out / "report" / "leaderboard.json").read_text())
    assert board["runs"][0]["answered_by_other"] == ["other-model-2026"]
    assert "answered by other-model-2026" in (out / "report" / "dashboard.html").read_text()
