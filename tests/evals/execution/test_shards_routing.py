"""``--shard i/n`` (a deterministic, balanced part of the cells; merged reports equal the unsharded one's)
and ``--base-url URL1,URL2`` (several replicas; one killed mid-run, every cell still ends ok)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.config import build_config
from evals.planning.grid import Cell
from evals.planning.identity import shard_cells
from evals.planning.prepare import prepare
from evals.run import main
from providers.base import RetryPolicy, set_default_retry_policy
from providers.fakes.server import MockServer
from tests.evals.execution.test_run_mock import REGISTRY, perfect_model, read_records


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    old = set_default_retry_policy(
        RetryPolicy(max_attempts=8, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0)
    )
    yield
    set_default_retry_policy(old)


def _cells(n: int) -> list[Cell]:
    return [Cell("m", "single", "zh", 1000 * (1 + i % 4), float(i), 0) for i in range(n)]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_partition_and_balance(count: int) -> None:
    cells = _cells(23)
    parts = [shard_cells(cells, i, count) for i in range(count)]
    ids = [c.cell_id for p in parts for c in p]
    assert sorted(ids) == sorted(c.cell_id for c in cells)  # every cell once
    loads = [sum(c.length for c in p) for p in parts]
    assert max(loads) - min(loads) <= max(c.length for c in cells)
    assert parts == [shard_cells(list(reversed(cells)), i, count)[::-1] for i in range(count)]  # order-free
    for p in parts:  # each shard keeps the execution order
        assert p == [c for c in cells if c in p]


def test_shard_option_validated_and_not_in_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, price=1.0, judge="j"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        base = {"model": "mock-model", "lengths": "300,600", "depths": "0,50,100", "dry_run": True}
        whole = prepare(build_config(None, base), tmp_path)
        halves = [prepare(build_config(None, base | {"shard": f"{i}/2"}), tmp_path) for i in range(2)]
        assert {h.identity for h in halves} == {whole.identity}
        assert [h.run_dir.name for h in halves] == [f"{whole.run_dir.name}-shard{i}of2" for i in range(2)]
        assert sorted(c.cell_id for h in halves for c in h.cells) == sorted(c.cell_id for c in whole.cells)
        for bad in ("2/2", "1", "a/b", "0/0"):
            assert main(["--model", "mock-model", "--shard", bad, "--dry-run"]) == 2


def _leaderboard(run_dirs: list[Path], out: Path) -> dict[str, Any]:
    from evals.reporting.dashboard import generate_reports

    generate_reports(run_dirs, out_dir=out)
    lb = json.loads((out / "leaderboard.json").read_text())
    # which run directories and how many prompt tokens hit the server's prefix cache (the order of requests
    # differs between one process and two) are not results; recall, counts and outcomes are
    return {"entries": [{k: v for k, v in e.items() if k not in ("runs", "tokens")} for e in lb["entries"]]}


def test_sharded_runs_merge_to_the_unsharded_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, price=1.0, judge="j"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.chdir(tmp_path)
        cmd = ["--model", "mock-model", "--lengths", "300,600", "--depths", "0,50,100", "--no-report"]
        assert main(cmd) == 0
        assert main([*cmd, "--shard", "0/2"]) == 0
        assert main([*cmd, "--shard", "1/2"]) == 0
        dirs = sorted((tmp_path / "results").iterdir())
        whole = [d for d in dirs if "shard" not in d.name]
        shards = [d for d in dirs if "shard" in d.name]
        assert len(whole) == 1 and len(shards) == 2
        ids = [r["cell_id"] for d in shards for r in read_records(d / "results.jsonl")]
        assert len(ids) == len(set(ids)) == 6
        assert sorted(ids) == sorted(r["cell_id"] for r in read_records(whole[0] / "results.jsonl"))
        merged = _leaderboard(shards, tmp_path / "rep-shards")
        single = _leaderboard(whole, tmp_path / "rep-whole")
        assert merged == single


def test_two_endpoints_one_killed_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        MockServer(answer=perfect_model, latency_s=0.05) as a,
        MockServer(answer=perfect_model, latency_s=0.05) as b,
    ):
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=a.url, price=1.0, judge="j"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        out = tmp_path / "run"
        cmd = ["--model", "mock-model", "--lengths", "300,600,900", "--depths", "0,25,50,75,100"]
        cmd += [
            "--out",
            str(out),
            "--no-report",
            "--concurrency",
            "2",
            "--base-url",
            f"{a.url}/v1,{b.url}/v1",
        ]

        killed: list[int] = []

        def kill_a() -> None:
            # least-busy routing shares the load: stop replica a once it has served something
            while len(a.api_requests()) < 1 or len(a.api_requests()) + len(b.api_requests()) < 4:
                threading.Event().wait(0.005)
            killed.append(len(a.api_requests()))
            a.stop()

        killer = threading.Thread(target=kill_a, daemon=True)
        killer.start()
        assert main(cmd) == 0
        killer.join(timeout=10)
        recs = read_records(out / "results.jsonl")
        assert len(recs) == 15 == len({r["cell_id"] for r in recs})
        assert all(r["status"] == "ok" and r["score"] == 1.0 for r in recs)
        assert killed and killed[0] >= 1 and len(recs) - killed[0] >= 5  # the rest went to b after a died
        header = json.loads((out / "header.json").read_text())
        # the identity does not depend on the URLs: one endpoint resumes the same directory
        assert main([*cmd[:-2], "--base-url", f"{b.url}/v1"]) == 0
        assert json.loads((out / "header.json").read_text())["run_identity"] == header["run_identity"]
