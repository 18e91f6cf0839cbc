"""``python -m evals.report``: one-line errors, exit codes, and a real run of the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.report import main
from tests.evals.reporting.conftest import grid_run

REPO = Path(__file__).resolve().parents[3]


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SOURCE_DATE_EPOCH": "1790000000"}
    return subprocess.run(
        [sys.executable, "-m", "evals.report", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_missing_dir_is_one_line_and_nonzero(tmp_path: Path) -> None:
    proc = _cli(str(tmp_path / "no-such-run"))
    assert proc.returncode == 1
    assert proc.stderr == f"error: run directory not found: {tmp_path / 'no-such-run'}\n"
    assert "Traceback" not in proc.stderr + proc.stdout


def test_cli_writes_the_report(tmp_path: Path) -> None:
    run = grid_run(tmp_path / "runA", "alpha", (1000, 2000), (0.0, 100.0))
    export = tmp_path / "hf"
    proc = _cli(str(run), "--no-png", "--threshold", "0.9", "--export-dataset", str(export))
    assert proc.returncode == 0, proc.stderr
    out = run / "report"
    assert json.loads((out / "leaderboard.json").read_text())["threshold"] == 0.9
    assert (out / "dashboard.html").is_file() and (out / "heatmap_alpha_single.html").is_file()
    assert not list(out.glob("*.png"))
    assert (export / "data" / "train-00000-of-00001.parquet").is_file()
    assert "alpha" in proc.stdout and "dashboard.html" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "2", "X"], "--threshold: must be within [0, 1], got 2"),
        (["--threshold", "abc", "X"], "--threshold: not a number: 'abc'"),
        ([], "the following arguments are required: RUN_DIR"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_several_runs_without_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = grid_run(tmp_path / "a", "alpha", (1000,), (0.0,))
    b = grid_run(tmp_path / "b", "beta", (1000,), (0.0,))
    assert main([str(a), str(b), "--no-png"]) == 1
    assert (
        capsys.readouterr().err
        == "error: several run directories: choose where the report goes with --out DIR\n"
    )


def test_nothing_renders_exits_nonzero_with_warning_then_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty), "--no-png"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"warning: {empty}: empty run directory; nothing to report from it",
        f"error: nothing to report: no readable result record in {empty}",
    ]


def test_partial_damage_still_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    run = grid_run(tmp_path / "runA", "alpha", (1000,), (0.0,))
    assert main([str(empty), str(run), "--out", str(tmp_path / "out"), "--no-png"]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"warning: {empty}: empty run directory; nothing to report from it\n"
    assert (tmp_path / "out" / "dashboard.html").is_file()


def test_stderr_warnings_prefixes_and_restores(capsys: pytest.CaptureFixture[str]) -> None:
    from evals.reporting.dashboard import logger, stderr_warnings

    before = (list(logger.handlers), logger.propagate)
    with stderr_warnings():
        logger.warning("results.jsonl line 3: not JSON; skipped")
    assert capsys.readouterr().err == "warning: results.jsonl line 3: not JSON; skipped\n"
    assert (list(logger.handlers), logger.propagate) == before
