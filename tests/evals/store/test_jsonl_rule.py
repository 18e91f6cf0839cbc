"""One reader of JSONL files (:func:`evals.store.scan_jsonl`), one rule for damaged lines: the store, the
reports and the batch log skip the same lines of the same file for the same reasons."""

from __future__ import annotations

import json
from pathlib import Path

from evals.execution.batch import BATCHES_FILE, read_events
from evals.reporting.data import load_run
from evals.store.results import CORRUPT_LINE, TORN_LINE, ReadStats, read_records, scan_jsonl
from tests.evals.reporting.conftest import make_record


def _damaged(path: Path, good: list[str]) -> None:
    path.write_bytes(
        (good[0] + "\n").encode()
        + b"\n"  # blank: ignored
        + b'{"cut": \xff\xfe}\n'  # bad UTF-8 mid-file: corrupt, never decoded with replacement characters
        + b'{"unterminated": \n'  # corrupt JSON mid-file
        + b"[1, 2]\n"  # JSON, but no object
        + (good[1] + "\n").encode()
        + b'{"torn": "a wri'  # the last line, torn by a crash
    )


def test_the_three_readers_skip_the_same_lines(tmp_path: Path) -> None:
    recs = [make_record("m", "single", 1000, d) for d in (0.0, 100.0)]
    good = [json.dumps(r.to_json(), ensure_ascii=False) for r in recs]
    run = tmp_path / "run"
    run.mkdir()
    _damaged(run / "results.jsonl", good)
    lines = list(scan_jsonl(run / "results.jsonl", lambda obj: obj))
    assert [(x.number, x.problem) for x in lines if x.problem] == [
        (3, CORRUPT_LINE),
        (4, CORRUPT_LINE),
        (7, TORN_LINE),
    ]
    stats = ReadStats()
    assert read_records(run / "results.jsonl", stats) == recs
    assert stats.skipped == 4 and stats.problems[:2] == [f"line 3: {CORRUPT_LINE}", f"line 4: {CORRUPT_LINE}"]
    assert stats.problems[2] == "line 5: not a JSON object" and stats.problems[3] == f"line 7: {TORN_LINE}"
    data = load_run(run)
    assert data.records == recs and data.lines == [1, 6] and data.skipped_lines == 4
    damage = [w.split(": ", 1)[1] for w in data.warnings if "missing" not in w]  # (no header.json here)
    assert damage == [f"{p}, skipped" for p in stats.problems]
    # the batch log: the same rule (a line is an event when it is a JSON object)
    events = [{"event": "submitting", "token": "t1"}, {"event": "submitted", "token": "t1"}]
    _damaged(run / BATCHES_FILE, [json.dumps(e) for e in events])
    assert read_events(run) == events
