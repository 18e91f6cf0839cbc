"""``--adaptive`` retries cells that ended ``error`` like a plain rerun does, and its progress bar counts the
cells the sampler asks for, not the whole grid."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.run import main
from evals.store.results import latest_by_cell, read_records
from providers.mock_server import MockServer
from tests.evals.execution.test_adaptive import REGISTRY, args, cliff_model, observed_cells


@pytest.fixture
def faulty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with MockServer(answer=cliff_model, fault_rate=0.3, faults=("500",), seed=7) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        yield srv


def test_errored_cells_are_retried_and_the_answer_matches_a_clean_run(
    faulty: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, ref = tmp_path / "run", tmp_path / "ref"
    assert main(args(out, "--adaptive", "--max-attempts", "1")) == 1
    errored = {
        cid for cid, r in latest_by_cell(read_records(out / "results.jsonl")).items() if r.status == "error"
    }
    assert errored
    capsys.readouterr()
    faulty.reset(fault_rate=0.0)
    assert main(args(out, "--adaptive")) == 0
    err = capsys.readouterr().err
    latest = latest_by_cell(read_records(out / "results.jsonl"))
    assert all(latest[cid].status == "ok" for cid in errored)  # every errored cell retried, now answered
    assert all(r.status == "ok" for r in latest.values())
    sent = [r.cell_id for r in read_records(out / "results.jsonl")][-len(faulty.api_requests()) :]
    assert set(sent) >= errored
    # the progress bar counted the cells asked for in this invocation (done before + asked), not the grid
    m = re.findall(r"(\d+)/(\d+)", err)
    assert m, err
    done, total = map(int, m[-1])
    assert done == total == len(latest) < 264
    faulty.reset(fault_rate=0.0)
    assert main(args(ref, "--adaptive")) == 0
    # the faults changed which cells were asked (an error is no score), not the answer
    effective = [
        json.loads((d / "sampling.json").read_text())["groups"][0]["effective_length"] for d in (out, ref)
    ]
    assert effective == [1400, 1400]
    assert len(observed_cells(ref)) <= len(latest)
