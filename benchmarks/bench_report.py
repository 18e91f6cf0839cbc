"""Benchmark of the reports (run by hand: ``python benchmarks/bench_report.py [--seeds 10]``).

Builds synthetic run directories (two models, five tasks, a 12 × 11 grid, N seeds), then measures, in one
process, the time to merely parse every JSONL line (the floor any report must pay) against loading and
aggregating them (``collect``) and writing the whole report (``generate_reports`` without PNG). It prints
ratios, not absolute times, plus the dashboard's size relative to the inlined plotly.js.

Targets: aggregation within 3x of bare parsing; the full report (heatmap pages, dashboard, leaderboard)
dominated by writing the HTML (plotly.js is ~4.6 MB inlined per standalone page).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.reporting.dashboard import generate_reports
from evals.reporting.data import collect
from tests.evals.reporting.conftest import grid_run

TASKS = ("single", "multi", "distractor", "changed_line", "no_needle")
LENGTHS = tuple(1000 * 2**i for i in range(12))
DEPTHS = tuple(float(d) for d in range(0, 101, 10))


def _outcome(task: str, length: int, depth: float, seed: int) -> tuple[str, float | None, str]:
    if (length + seed) % 97 == 0:
        return ("error", None, "")
    ok = (length < 64000) or (depth < 50 and seed % 2 == 0)
    return ("ok", 1.0 if ok else 0.0, "4729183" if ok else "我不知道")


def main() -> None:
    """Build the runs, time parse / collect / report, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seeds = tuple(range(args.seeds))
        runs = [
            grid_run(root / f"run-{m}", m, LENGTHS, DEPTHS, tasks=TASKS, seeds=seeds, outcome=_outcome)
            for m in ("model-a", "model-b")
        ]
        n_lines = sum(1 for r in runs for _ in (r / "results.jsonl").open())

        t0 = time.perf_counter()
        for r in runs:
            for line in (r / "results.jsonl").read_bytes().splitlines():
                json.loads(line)
        parse_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        data = collect(runs)
        collect_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        written = generate_reports(runs, root / "out", png=False)
        report_s = time.perf_counter() - t0

        from plotly.offline import get_plotlyjs

        plotly_bytes = len(get_plotlyjs().encode())
        dash_bytes = (root / "out" / "dashboard.html").stat().st_size
        print(f"records: {n_lines} in {len(runs)} runs, {len(data.groups)} (model, task) groups")
        print(f"collect / bare JSON parse:          {collect_s / parse_s:6.2f}x")
        print(f"full report / bare JSON parse:      {report_s / parse_s:6.2f}x ({len(written)} files)")
        print(f"dashboard size / inlined plotly.js: {dash_bytes / plotly_bytes:6.2f}x")


if __name__ == "__main__":
    main()
