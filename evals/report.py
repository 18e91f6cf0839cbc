"""``python -m evals.report``: heatmaps, dashboard and ``leaderboard.json`` from one or more run directories.

The command line only: the reports are built by :mod:`evals.reporting`
(:func:`evals.reporting.generate_reports`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.errors import EvalError
from evals.reporting import ReportError, generate_reports, one_line, stderr_warnings
from evals.reporting.dashboard import fmt_effective
from evals.stats import DEFAULT_THRESHOLD

__all__ = ["build_parser", "main"]


def _threshold_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be within [0, 1], got {text}")
    return value


class _ArgParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m evals.report`` argument parser."""
    parser = _ArgParser(
        prog="python -m evals.report",
        description="Heatmaps, dashboard and leaderboard.json from one or more run directories.",
    )
    parser.add_argument(
        "run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run directories (or results/)"
    )
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: RUN_DIR/report)")
    parser.add_argument(
        "--threshold",
        type=_threshold_arg,
        default=DEFAULT_THRESHOLD,
        help="recall threshold for the effective context length (default 0.85)",
    )
    png = parser.add_mutually_exclusive_group()
    png.add_argument(
        "--png",
        dest="png",
        action="store_const",
        const=True,
        default=None,
        help="render PNG heatmaps and warn when that fails (default: render them silently when possible)",
    )
    png.add_argument("--no-png", dest="png", action="store_const", const=False, help="no PNG heatmaps")
    parser.add_argument(
        "--export-dataset",
        type=Path,
        default=None,
        metavar="DIR",
        help="also export the records as a Hugging Face dataset (Parquet) into DIR",
    )
    return parser


def _print_summary(leaderboard: dict[str, Any], written: list[Path], out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    table = Table(title=f"leaderboard (effective length at recall ≥ {leaderboard['threshold']:g})")
    for col in ("model", "task", "score [95% CI]", "n ok/err/len/cut", "effective length", "cost"):
        table.add_column(col, overflow="fold")  # wrap long model names, never cut them
    for e in leaderboard["entries"]:
        r = e["recall"]
        eff = e["effective_context_length"]
        low, high = (fmt_effective(eff[k], e) for k in ("ci_low_value", "ci_high_value"))
        eff_text = f"{fmt_effective(eff['value'], e)} [{low}, {high}]"
        cells = (
            e["model"],
            e["task"],
            ("n/a" if r["mean"] is None else f"{r['mean']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]")
            + f" {e['metric']}",
            f"{e['n_ok']}/{e['n_error']}/{e['n_model_length']}/{e['n_truncated']}",
            eff_text,
            ("" if e["cost_complete"] else "≥ ") + f"${e['cost_usd']:.4f}",
        )
        table.add_row(*(Text(c) for c in cells))  # Text: model names are data, never rich markup
    console.print(table)
    console.print(
        f"wrote {len(written)} files to {out_dir}; open {out_dir / 'dashboard.html'}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m evals.report``.

    Args:
        argv: arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 when a report was written, 1 when nothing could be, 2 for usage errors.
    """
    args = build_parser().parse_args(argv)
    with stderr_warnings():
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    try:
        if args.out is None and len(args.run_dirs) > 1:
            raise ReportError("several run directories: choose where the report goes with --out DIR")
        out_dir = args.out if args.out is not None else args.run_dirs[0] / "report"
        written = generate_reports(args.run_dirs, args.out, threshold=args.threshold, png=args.png)
        if args.export_dataset is not None:
            from evals.reporting.export import export_results

            written.append(export_results(args.run_dirs, args.export_dataset, log_warnings=False))
        lb = json.loads((out_dir / "leaderboard.json").read_text(encoding="utf-8"))
        _print_summary(lb, written, out_dir)
    except EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
