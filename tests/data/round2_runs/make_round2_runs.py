"""Regenerate the round-2 run fixture (tests/data/round2_runs) with the code of commit 0e23b1b.

Run from a checkout of 0e23b1b (``git worktree add /tmp/r2 0e23b1b``)::

    cd /tmp/r2 && PYTHONPATH=$PWD python <this file> OUT_DIR

It writes OUT_DIR/runs/<run>/ (header.json, results.jsonl, summary.json, batches.jsonl, sampling.json as
each run made them) and OUT_DIR/reports/ (leaderboard.json from ``python -m evals.report``, the pandas
frames of :func:`evals.results.load` as CSV, the dataset export's flat rows as gzipped JSONL). The mock model
answers deterministically from the prompt, so a rerun makes the same answers (timestamps and latencies
differ). Not part of the test suite: the committed files are the fixture.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

from evals.report import main as report_main
from evals.reporting.data import final_records, load_runs, sourced_records
from evals.reporting.export import flatten_record
from evals.run import main
from evals.store import load
from providers.base import RetryPolicy, set_default_retry_policy
from providers.mock_server import MockReply, MockRequest, MockServer

JUDGE_ID = "mock-judge-2024-01-01"
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
concurrency = 1
[models."mock-model".prices]
input = 1.0
output = 1.0
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
CUTOFF = 700  # prompt tokens: the mixed model finds the needles below, abstains above (an adaptive cliff)


def mixed_model(req: MockRequest) -> str | MockReply:
    """Deterministic per prompt: mostly right, some wrong, partial, empty-at-the-limit (truncated), and
    blind beyond CUTOFF prompt tokens; the judge grades 7."""
    from haystacks.tokenizers import get_tokenizer

    if req.model == JUDGE_ID:
        return "[[7]]"
    numbers = re.findall(r"(?<!\d)\d{7}(?!\d)", req.prompt)
    h = int(hashlib.sha256(req.prompt.encode()).hexdigest(), 16) % 7
    if get_tokenizer("cl100k_base").count(req.prompt) >= CUTOFF:
        return "文中没有提到"
    if h == 0:
        return MockReply("", finish="max_tokens")
    if h == 1:
        return "1234567"
    if h == 2 and len(numbers) > 1:
        return numbers[0]
    return " ".join(numbers) or "文中没有提到"


def run(*argv: str) -> int:
    code = main(list(argv))
    print("run", argv[:6], "->", code, file=sys.stderr)
    return code


def generate(out: Path) -> None:
    import os

    set_default_retry_policy(
        RetryPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0)
    )
    runs = out / "runs"
    shutil.rmtree(out, ignore_errors=True)
    runs.mkdir(parents=True)
    # 0. the embedded local model (Gemma 3 270M, completion mode): two small cells
    run(
        "--task",
        "single,no_needle",
        "--lengths",
        "300",
        "--depths",
        "50",
        "--no-report",
        "--out",
        str(runs / "local_gemma"),
    )
    with MockServer(answer=mixed_model, retry_after=0.01) as srv:
        reg = out / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, judge=JUDGE_ID))
        os.environ["NIAH_MODELS_FILE"] = str(reg)
        os.environ["MOCK_OPENAI_KEY"] = "sk-test-123456789"
        grid = ["--lengths", "300,600", "--depths", "0,50,100", "--no-report"]
        # 1. synchronous, every kind of task, a judge; two cells fail (no retry), one is retried ok later
        tasks = "single,multi,distractor,no_needle,changed_line,topical"
        sync = ["--model", "mock-model", "--task", tasks, *grid, "--out", str(runs / "sync_tasks")]
        srv.reset(script=["500", "500"])
        run(*sync, "--judge", "mock-judge", "--max-attempts", "1")
        srv.reset(script=["500"])
        run(*sync, "--judge", "mock-judge", "--max-attempts", "1")
        # 2. english, two seeds, a second model name for the comparisons
        run(
            "--model",
            "mock-model",
            "--language",
            "en",
            "--repeats",
            "2",
            "--task",
            "single,multi",
            *grid,
            "--out",
            str(runs / "sync_en"),
        )
        # 3. batch (OpenAI wire format)
        srv.reset(script=[])
        srv.batch.polls_to_complete = 1
        run(
            "--model",
            "mock-gpt",
            "--task",
            "single",
            *grid,
            "--batch",
            "--batch-poll",
            "0.01",
            "--out",
            str(runs / "batch_gpt"),
        )
        # 4. adaptive over a grid with a cliff at CUTOFF prompt tokens
        run(
            "--model",
            "mock-model",
            "--task",
            "single",
            "--lengths",
            "300:1500:5",
            "--depths",
            "0:100:5",
            "--adaptive",
            "--no-report",
            "--out",
            str(runs / "adaptive"),
        )
    reports = out / "reports"
    dirs = sorted(p for p in runs.iterdir() if p.is_dir())
    assert report_main([*map(str, dirs), "--out", str(reports / "report"), "--no-png"]) == 0
    shutil.copy(reports / "report" / "leaderboard.json", reports / "leaderboard.json")
    shutil.rmtree(reports / "report")
    load(dirs).to_csv(reports / "frame.csv", index=False)
    load(dirs, all_records=True).to_csv(reports / "frame_all.csv", index=False)
    every = sourced_records(load_runs(dirs))
    final = sorted(final_records(every), key=lambda s: (s.run, s.line))
    with gzip.open(reports / "export_rows.jsonl.gz", "wt", encoding="utf-8") as fh:
        for s in final:
            fh.write(json.dumps(flatten_record(s.record, s.run), ensure_ascii=False, sort_keys=True) + "\n")
    reg.unlink()


if __name__ == "__main__":
    generate(Path(sys.argv[1]))
