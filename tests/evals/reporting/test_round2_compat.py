"""Results written by round 2 (commit 0e23b1b) load and report identically with today's code.

``tests/data/round2_runs/runs`` holds five run directories that 0e23b1b's ``python -m evals.run`` wrote
(``make_round2_runs.py`` beside them says how): the embedded local model; six tasks against the mock server
with a judge (multi, no_needle, changed_line, topical with its closed-book question, errors that stayed errors
and one retried ok, a truncated answer); English with two seeds; an OpenAI batch run (``batches.jsonl``); an
adaptive run (``sampling.json``). ``reports/`` holds what 0e23b1b made of them: ``leaderboard.json`` (``python
-m evals.report``), the pandas frames of :func:`evals.store.results.load` as CSV, and the dataset export's
flat rows. Each is compared with ``==`` to what today's code makes.

Normalisations (only what legitimately differs between then and now; nothing else is touched):
- ``leaderboard.json``: ``generated_at`` (the moment the report was made) and ``suite_version`` (top
  level: the version of the code making the report).
- ``summary.json``: ``updated`` (the moment the summary was made).
- the export's rows (issue 19: the export takes the frame's columns, :data:`evals.store.rows.COLUMNS`): the
  five ``usage_<x>`` columns are named ``<x>`` as in the frame; ``outcome`` of an unscored record is its
  status (as in the frame; it was null for errors); the frame's derived columns the export did not have
  (``found``, ``hallucinated``, ``abstained``, ``truncated``, ``needle_depth``, ``n_needles``,
  ``judge_score``) are compared with the frame's values instead of the old file; the column order is the
  frame's first; columns added since (``cache_write_1h_tokens``, issue 20) are null for round-2 records.
- ``leaderboard.json``'s taxonomy: the outcome ``hedged`` (issue 16) is listed after ``partial`` and counted 0
  for round-2 grades, which never used it.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from evals.execution.adaptive import read_sampling
from evals.execution.batch import pending_batches, read_events
from evals.report import main as report_main
from evals.reporting.data import final_records, load_runs, sourced_records
from evals.reporting.export import flatten_record
from evals.reporting.summary import summarize
from evals.store.record import GridRecord, ModelRecord, RecordedConfig
from evals.store.results import load, read_header, read_records

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "round2_runs"
#: The export's columns renamed after the frame's (they were ``usage_<name>``).
RENAMED = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "cache_write_tokens")
#: The frame's columns the round-2 export did not have.
#: Export columns added after round 2: a round-2 record has no value for them.
ADDED_SINCE = ("cache_write_1h_tokens",)
DERIVED = ("found", "hallucinated", "abstained", "truncated", "needle_depth", "n_needles", "judge_score")
RUN_NAMES = ["adaptive", "batch_gpt", "local_gemma", "sync_en", "sync_tasks"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A copy of the fixture's run directories (readers must not write into the committed files)."""
    root = tmp_path_factory.mktemp("round2") / "runs"
    shutil.copytree(FIXTURE / "runs", root)
    return [root / name for name in RUN_NAMES]


def _normalised_leaderboard(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("generated_at", "suite_version")}


def test_fixture_is_the_round2_grid(runs: list[Path]) -> None:
    assert sorted(p.name for p in (FIXTURE / "runs").iterdir()) == RUN_NAMES
    statuses = {(r.task, r.kind, r.status) for r in read_records(runs[-1] / "results.jsonl")}
    assert ("changed_line", "cell", "error") in statuses
    assert ("topical", "cell", "truncated") in statuses
    assert ("topical", "closed_book", "truncated") in statuses
    assert {t for t, _, _ in statuses} == {
        "single",
        "multi",
        "distractor",
        "no_needle",
        "changed_line",
        "topical",
    }
    header = read_header(runs[0])
    assert header is not None and header.git_commit.startswith("0e23b1b")


def test_frame_is_identical(runs: list[Path]) -> None:
    for name, all_records in (("frame.csv", False), ("frame_all.csv", True)):
        expected = (FIXTURE / "reports" / name).read_text(encoding="utf-8")
        assert load(runs, all_records=all_records).to_csv(index=False) == expected, name


def test_export_rows_are_identical(runs: list[Path]) -> None:
    with gzip.open(FIXTURE / "reports" / "export_rows.jsonl.gz", "rt", encoding="utf-8") as fh:
        expected = [json.loads(line) for line in fh]
    final = sorted(final_records(sourced_records(load_runs(runs))), key=lambda s: (s.run, s.line))
    rows = [json.loads(json.dumps(flatten_record(s.record, s.run), ensure_ascii=False)) for s in final]
    frame = load(runs)
    assert list(rows[0])[: len(frame.columns)] == list(frame.columns)  # the frame's columns first
    by_cell = {(r["run"], r["cell_id"]): r for r in frame.astype(object).to_dict("records")}
    for row in rows:
        framed = by_cell[(row["run"], row["cell_id"])]
        for col in DERIVED:
            value = framed[col]
            assert row.pop(col) == (None if value is pd.NA or value != value else value), col  # NaN/NA: null
    for old in expected:
        for name in RENAMED:
            old[name] = old.pop(f"usage_{name}")
        if old["status"] != "ok":
            old["outcome"] = old["status"]
        for name in ADDED_SINCE:
            assert name not in old
            old[name] = None
    assert rows == expected


def test_summaries_are_identical(runs: list[Path]) -> None:
    for run in runs:
        expected = json.loads((run / "summary.json").read_text(encoding="utf-8"))
        header = read_header(run)
        assert header is not None
        got = summarize(run) | {"run_identity": header.run_identity}  # as the run adds it
        assert {k: v for k, v in got.items() if k != "updated"} == {
            k: v for k, v in expected.items() if k != "updated"
        }, run.name


def test_leaderboard_is_identical(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert report_main([*map(str, runs), "--out", str(out), "--no-png"]) == 0
    got = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    expected = json.loads((FIXTURE / "reports" / "leaderboard.json").read_text(encoding="utf-8"))
    # issue 16 added the outcome ``hedged`` (after ``partial``): round-2 grades never used it, so it counts 0
    taxonomy = list(expected["taxonomy"])
    expected["taxonomy"] = [*taxonomy[:2], "hedged", *taxonomy[2:]]
    for entry in expected["entries"]:
        entry["outcomes"]["hedged"] = 0
    assert _normalised_leaderboard(got) == _normalised_leaderboard(expected)


def test_batches_and_sampling_read(runs: list[Path]) -> None:
    assert pending_batches(runs[1]) == []  # every submitted batch of the round-2 file is finished
    lines = (runs[1] / "batches.jsonl").read_text(encoding="utf-8").splitlines()
    assert read_events(runs[1]) == [json.loads(x) for x in lines]  # every line reads (version 1, no "v")
    header = read_header(runs[0])
    assert header is not None and header.sampling is not None
    assert header.sampling.method == "adaptive" and header.sampling.settings is not None
    assert header.sampling.settings.threshold == 0.85
    sampling = read_sampling(runs[0])
    assert sampling is not None and sampling.groups[0].by_length[0].length == 300
    raw = json.loads((runs[0] / "sampling.json").read_text(encoding="utf-8"))
    assert sampling.to_json() == raw  # the typed document writes back exactly what was read


def test_headers_are_typed_and_write_back_as_read(runs: list[Path]) -> None:
    for run in runs:
        raw = json.loads((run / "header.json").read_text(encoding="utf-8"))
        header = read_header(run)
        assert header is not None
        assert isinstance(header.config, RecordedConfig) and isinstance(header.model, ModelRecord)
        assert isinstance(header.grid, GridRecord) and header.grid.lengths == raw["grid"]["lengths"]
        assert header.config.tasks == tuple(raw["config"]["tasks"])
        assert header.model.alias == raw["model"]["alias"]
        assert header.to_json() == raw  # nothing added, dropped or coerced
