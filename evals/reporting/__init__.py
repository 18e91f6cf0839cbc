"""Reporting finished runs: everything here reads run directories and never writes into their records.

Entry: :func:`generate_reports` (heatmaps, the offline dashboard and ``leaderboard.json`` for one or more
run directories); :func:`collect` and :func:`build_leaderboard` give the same numbers as data.

Modules, by job:

* :mod:`.data`: loading runs into typed records and a pandas frame, the leaderboard document and the
  paired comparisons (no figures);
* :mod:`.dashboard`: the plotly figures, the dashboard page and the files written;
* :mod:`.summary`: the end-of-run summary (table and ``summary.json``);
* :mod:`.export`: the records as a Hugging Face dataset (Parquet and a card).
"""

from evals.reporting.dashboard import generate_reports, stderr_warnings
from evals.reporting.data import ReportError, build_leaderboard, collect, one_line

__all__ = ["ReportError", "build_leaderboard", "collect", "generate_reports", "one_line", "stderr_warnings"]
