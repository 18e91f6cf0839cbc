"""Each newer task family end to end on the embedded model (llama.cpp + Gemma 3 270M), one small cell each.

The 270M model is weak: these check that a run of the family completes with one graded record per cell,
not any particular score.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evals.store.results import read_records as _read_typed
from haystacks.tasks import OUTCOMES


def read_records(path: Path) -> list[dict]:
    """The records as the JSON objects written."""
    return [r.to_json() for r in _read_typed(path)]


pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("task", ["associative", "chain", "aggregate", "ordered", "topical"])
def test_family_runs_on_the_local_model(task: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--model", "gemma-3-270m", "--task", task, "--lengths", "1500", "--depths", "50"]
    p = subprocess.run(
        [sys.executable, "-m", "evals.run", *args, "--out", str(out), "--no-report"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    recs = read_records(out / "results.jsonl")
    cells = [r for r in recs if r["kind"] == "cell"]
    closed = [r for r in recs if r["kind"] == "closed_book"]
    assert len(cells) == 1 and len(closed) == (1 if task == "topical" else 0)
    r = cells[0]
    assert r["task"] == task and r["length"] == 1500
    # a base model that runs out of budget before committing to any value is truncated, not scored
    assert r["status"] in ("ok", "truncated"), r["status"]
    if r["status"] == "ok":
        assert 0.0 <= r["score"] <= 1.0 and r["score_detail"]["outcome"] in OUTCOMES
        assert r["outcome"] == r["score_detail"]["outcome"]
    else:  # the grade of what it had written is kept beside the status
        assert r["score"] is None and r["outcome"] == "truncated" and r["answer"]
        assert r["score_detail"]["outcome"] in OUTCOMES
    assert r["expected"] and r["needles"]
    assert r["tokens_exact"] and r["prompt_tokens"] == r["target_tokens"] == 1500
