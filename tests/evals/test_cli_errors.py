"""``python -m evals.run`` on bad input (subprocesses): one line on stderr, exit 2, no traceback, no files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

KEY_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")


def run_cli(
    args: list[str], cwd: Path, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "evals.run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(p: subprocess.CompletedProcess, *needles: str) -> str:
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: ")
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def assert_nothing_written(cwd: Path, before: set[str]) -> None:
    after = {str(p.relative_to(cwd)) for p in cwd.rglob("*")}
    assert after == before, after - before


@pytest.fixture
def workdir(tmp_path: Path) -> tuple[Path, set[str]]:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("model = \n")
    return tmp_path, {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--model", "gpt-4-0", "--dry-run"], ("unknown model 'gpt-4-0'", "did you mean")),
        (["--model", "gemini-3.8-flash"], ("GEMINI_API_KEY",)),
        (["--model", "gemini-1.5"], ("retired", "2025-09-24", "gemini-4-argon")),
        (["--depths", "0,150"], ("150", "0..100")),
        (["--lengths", "40000"], ("40000", "context window", "--allow-beyond-window")),
        (["--config", "missing.toml"], ("cannot read config file missing.toml",)),
        (["--config", "bad.toml"], ("invalid TOML",)),
        (["--config", "."], ("cannot read config file",)),
        (["--out", "/proc/niah-test/run"], ("not writable",)),
        (["--out", "bad.toml/run"], ("not a directory",)),
        (["--bogus-flag"], ("unrecognized arguments: --bogus-flag",)),
        (["--task", "single,nope"], ("unknown task 'nope'",)),
        (["--lengths", "1000", "--max-tokens", "0"], ("max_tokens",)),
        (["--model", "gpt-4o", "--lengths", "100000", "--max-cost", "0.01"], ("exceeds --max-cost",)),
    ],
)
def test_bad_input(workdir: tuple[Path, set[str]], args: list[str], needles: tuple[str, ...]) -> None:
    cwd, before = workdir
    env = {"OPENAI_API_KEY": "sk-test-not-a-real-key-000000000000"} if "gpt-4o" in args else None
    p = run_cli(args, cwd, env)
    line = assert_one_line_error(p, *needles)
    assert "sk-test" not in line
    assert_nothing_written(cwd, before)


def test_conflicting_run_dir_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "header.json").write_text(json.dumps({"schema_version": 1, "run_identity": "something-else"}))
    (run / "results.jsonl").write_text("")
    before = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}
    p = run_cli(["--out", "run", "--lengths", "1000"], tmp_path)
    assert_one_line_error(p, "holds a different run", "--force")
    assert_nothing_written(tmp_path, before)


def test_dry_run_plans_without_key_and_writes_nothing(tmp_path: Path) -> None:
    p = run_cli(
        ["--model", "gpt-4o", "--lengths", "1000,2000", "--depths", "0,50,100", "--dry-run"], tmp_path
    )
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "6 total, 0 done, 6 to run" in out
    assert "9,000" in out  # 3 x (1000 + 2000) prompt tokens
    assert "estimated cost" in out and "$" in out
    assert list(tmp_path.iterdir()) == []


def test_help_explains_options(tmp_path: Path) -> None:
    p = run_cli(["--help"], tmp_path)
    assert p.returncode == 0
    for opt in (
        "--lengths",
        "--depths",
        "--depth-spacing",
        "--task",
        "--language",
        "--repeats",
        "--concurrency",
        "--out",
        "--config",
        "--dry-run",
        "--max-cost",
        "--judge",
        "--no-report",
        "--force",
    ):
        assert opt in p.stdout


def test_dry_run_says_how_lengths_of_count_api_models_are_sized(tmp_path: Path) -> None:
    p = run_cli(["--model", "claude-sonnet-5-5", "--dry-run"], tmp_path, {"COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    assert "token-count API at run time" in p.stdout and "approximate" not in p.stdout
    p = run_cli(["--model", "claude-sonnet-5-5", "--dry-run", "--no-count-api"], tmp_path, {"COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    assert "approximate" in p.stdout and "token-count API" not in p.stdout
    assert not (tmp_path / "results").exists()  # a dry run writes nothing


def test_a_task_option_no_task_of_the_run_reads_is_refused(tmp_path: Path) -> None:
    """``--n-distractors`` with ``no_needle`` alone would be dropped without a word: one line, exit 2."""
    base = ["--model", "gemma-3-270m", "--n-distractors", "2", "--dry-run"]
    line = assert_one_line_error(run_cli([*base, "--task", "no_needle"], tmp_path), "--n-distractors")
    assert line == (
        "error: --n-distractors is read by distractor, associative, chain, topical; no task of this run "
        "(no_needle) reads it"
    )
    ok = run_cli([*base, "--task", "no_needle,distractor"], tmp_path)
    assert ok.returncode == 0, ok.stderr
