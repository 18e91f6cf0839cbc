"""Reports over run directories: Gemini-style heatmaps, one offline dashboard, ``leaderboard.json``.

``python -m evals.report RUN_DIR... [--out DIR] [--threshold 0.85] [--no-png] [--export-dataset DIR]``

Everything here is derived from the runs' ``results.jsonl`` (and ``header.json``); the result files are only
ever opened for reading. Per (model, task) it writes:

* ``heatmap_<model>_<task>.html``: a standalone plotly heatmap (x: context length, y: needle depth, colour:
  recall; hover: n, 95% Wilson interval, errors, prompt tokens, expected fact and a sample answer), plus a
  ``.png`` twin when kaleido and a Chromium can render it;
* ``dashboard.html``: one self-contained page (plotly.js inlined, data embedded as escaped JSON) with the
  leaderboard table, every heatmap, a side-by-side comparison of two models and the error summary;
* ``leaderboard.json``: the machine-readable summary, schema ``niah-leaderboard/1`` (docs/leaderboard.md).

Cells whose calls failed (``error``) or whose prompt exceeded the model's window (``model_length``) carry no
score: they are counted and shown separately, never as a wrong answer.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import itertools
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from evals.errors import EvalError
from evals.report_data import (
    DEFAULT_THRESHOLD,
    Group,
    ReportData,
    ReportError,
    build_leaderboard,
    collect,
    depth_label,
    error_text,
    expand_run_dirs,
    grid_notes,
    one_line,
    task_sort_key,
    truncate,
)
from evals.stats import format_tokens

__all__ = [
    "ReportError",
    "build_parser",
    "generate_reports",
    "heatmap_figure",
    "main",
    "render_dashboard",
    "write_pngs",
]

logger = logging.getLogger("evals.report")

# Gemini 1.5 / Kamradt style: red at 0, yellow in the middle, green at 1.
COLORSCALE = [[0.0, "#d7191c"], [0.25, "#f07c4a"], [0.5, "#fee08b"], [0.75, "#a6d96a"], [1.0, "#1a9641"]]
UNSCORED_COLOR = "#9e9e9e"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


# ---------------------------------------------------------------------------------------------- heatmaps


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _metric_name(task: str) -> str:
    return "correct abstention" if task == "no_needle" else "recall"


def _expected(rec: dict[str, Any]) -> str:
    """The expected answer(s) of a record: its ``expected`` list, else its asked needles' answers."""
    expected = rec.get("expected")
    if isinstance(expected, list) and expected:
        return ", ".join(str(a) for a in expected)
    needles = rec.get("needles")
    if not isinstance(needles, list):
        return ""
    answers = [
        str(n.get("answer"))
        for n in needles
        if isinstance(n, dict) and n.get("kind", "needle") != "distractor"
    ]
    return ", ".join(a for a in answers if a)


def _shown_answer(rec: dict[str, Any]) -> str:
    """The answer as scored (``scored_answer``: e.g. a base model's first line), else the raw answer."""
    scored = rec.get("scored_answer")
    text = scored if isinstance(scored, str) else rec.get("answer")
    return str(text) if text else "(empty)"


def _hover_text(text: str, width: int = 60) -> str:
    """Plain text made safe for plotly's HTML-like labels, wrapped every ``width`` characters.

    ``<``, ``>`` and ``&`` are escaped (plotly shows the entities as the characters, as text); the only
    markup in the result is the ``<br>`` inserted here.
    """
    chunks = [text[i : i + width] for i in range(0, len(text), width)] or [""]
    return "<br>".join(html.escape(c, quote=False) for c in chunks)


def heatmap_title(group: Group) -> str:
    """Title of a heatmap: model, task, overall score with its interval, n, excluded cells.

    Args:
        group: the (model, task).

    Returns:
        Plain text (escape it before handing it to plotly).
    """
    return " — ".join(_title_parts(group))


def _title_parts(group: Group) -> tuple[str, str]:
    p = group.recall
    n_err = sum(c.n_error for c in group.cells.values())
    n_len = sum(c.n_model_length for c in group.cells.values())
    head = f"{group.model} · {group.task}"
    title = f"{_metric_name(group.task)} {_fmt(p.mean)}"
    if p.mean is not None:
        title += f" [{_fmt(p.ci_low)}, {_fmt(p.ci_high)}]"
    title += f", n={p.n}"
    excluded = []
    if n_err:
        excluded.append(f"{n_err} errors")
    if n_len:
        excluded.append(f"{n_len} over window")
    if excluded:
        title += " (" + ", ".join(excluded) + " excluded)"
    return head, title


def heatmap_figure(group: Group) -> Any:
    """A Gemini-1.5-style plotly heatmap of one (model, task).

    Trace 0 is the score heatmap: ``z[i][j]`` is the mean score at ``depths[i]`` × ``lengths[j]`` (None where
    no record was scored). Trace 1, present only when needed, greys out cells that have records but no score
    (errors, prompts over the model's window). Every user-derived string is HTML-escaped, because plotly
    renders hover and title text as HTML.

    Args:
        group: the (model, task).

    Returns:
        A ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go

    esc = _hover_text
    x = [format_tokens(v) for v in group.lengths]
    y = [depth_label(d) for d in group.depths]
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    custom: list[list[list[Any]]] = []
    z_bad: list[list[float | None]] = []
    text_bad: list[list[str]] = []
    custom_bad: list[list[list[Any]]] = []
    any_bad = False
    for d in group.depths:
        row_z, row_t, row_c, row_zb, row_tb, row_cb = [], [], [], [], [], []
        for length in group.lengths:
            cell = group.cells.get((length, d))
            if cell is None:
                row_z.append(None)
                row_t.append("")
                row_c.append([0, 0, "", "", 0, 0, "", "", ""])
                row_zb.append(None)
                row_tb.append("")
                row_cb.append(["", 0, 0])
                continue
            p = cell.recall
            sample = cell.sample()
            row_z.append(p.mean)
            row_t.append(_fmt(p.mean) if p.mean is not None else "")
            row_c.append(
                [
                    p.n,
                    round(p.successes, 6),
                    _fmt(p.ci_low),
                    _fmt(p.ci_high),
                    cell.n_error,
                    cell.n_model_length,
                    cell.prompt_tokens(),
                    esc(truncate(_shown_answer(sample))) if sample else "",
                    esc(truncate(_expected(sample) or "—")) if sample else "",
                ]
            )
            if p.n == 0:
                any_bad = True
                marks = (["ERR"] if cell.n_error else []) + (["LEN"] if cell.n_model_length else [])
                first_bad = next(r for r in cell.records if r["status"] != "ok")
                row_zb.append(1.0)
                row_tb.append("+".join(marks))
                row_cb.append([esc(truncate(error_text(first_bad))), cell.n_error, cell.n_model_length])
            else:
                row_zb.append(None)
                row_tb.append("")
                row_cb.append(["", 0, 0])
        z.append(row_z)
        text.append(row_t)
        custom.append(row_c)
        z_bad.append(row_zb)
        text_bad.append(row_tb)
        custom_bad.append(row_cb)
    metric = _metric_name(group.task)
    hover = (
        "<b>%{x} tokens · depth %{y}</b><br>"
        f"{metric} %{{z:.2f}} (n=%{{customdata[0]}})<br>"
        "95% CI [%{customdata[2]}, %{customdata[3]}]<br>"
        "errors %{customdata[4]} · over window %{customdata[5]} (excluded)<br>"
        "prompt tokens %{customdata[6]}<br>"
        "expected: %{customdata[8]}<br>"
        "sample answer: %{customdata[7]}<extra></extra>"
    )
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            x=x,
            y=y,
            z=z,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            hovertemplate=hover,
            hoverongaps=False,
            colorscale=COLORSCALE,
            zmin=0,
            zmax=1,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": metric}},
            name=metric,
        )
    )
    if any_bad:
        fig.add_trace(
            go.Heatmap(
                x=x,
                y=y,
                z=z_bad,
                text=text_bad,
                texttemplate="%{text}",
                customdata=custom_bad,
                hovertemplate=(
                    "<b>%{x} tokens · depth %{y}</b><br>not scored: errors %{customdata[1]} · "
                    "over window %{customdata[2]}<br>%{customdata[0]}<extra></extra>"
                ),
                hoverongaps=False,
                colorscale=[[0, UNSCORED_COLOR], [1, UNSCORED_COLOR]],
                zmin=0,
                zmax=1,
                showscale=False,
                xgap=2,
                ygap=2,
                name="not scored",
            )
        )
    fig.update_layout(
        title={
            "text": "<br>".join(html.escape(t, quote=False) for t in _title_parts(group)),
            "x": 0.5,
            "xanchor": "center",
            "font": {"size": 15},
        },
        xaxis={"title": {"text": "context length (tokens)"}, "type": "category", "side": "bottom"},
        yaxis={"title": {"text": "needle depth (%)"}, "type": "category", "autorange": "reversed"},
        template="plotly_white",
        plot_bgcolor="#f5f5f5",
        margin={"l": 80, "r": 30, "t": 80, "b": 60},
        height=max(420, 34 * len(y) + 160),
    )
    return fig


def score_color(value: float | None) -> str:
    """The heatmap colour of a score, as ``#rrggbb`` (light grey for None).

    Args:
        value: a score in [0, 1], or None.

    Returns:
        The colour interpolated on :data:`COLORSCALE`.
    """
    if value is None:
        return "#e0e0e0"
    v = min(1.0, max(0.0, float(value)))
    for (p0, c0), (p1, c1) in itertools.pairwise(COLORSCALE):
        if v <= p1:
            t = 0.0 if p1 == p0 else (v - p0) / (p1 - p0)
            rgb0 = [int(c0[i : i + 2], 16) for i in (1, 3, 5)]
            rgb1 = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(rgb0, rgb1, strict=True))
    return COLORSCALE[-1][1]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def heatmap_names(groups: Sequence[Group]) -> list[str]:
    """File stems ``heatmap_<model>_<task>`` for the groups, made unique and filesystem-safe.

    Args:
        groups: the groups, in report order.

    Returns:
        One stem per group.
    """
    stems = [f"heatmap_{_slug(g.model)}_{_slug(g.task)}" for g in groups]
    out = []
    for g, stem in zip(groups, stems, strict=True):
        if stems.count(stem) > 1:
            digest = hashlib.sha256(f"{g.model}\0{g.task}".encode()).hexdigest()[:8]
            stem = f"{stem}_{digest}"
        out.append(stem)
    return out


# ---------------------------------------------------------------------------------------------- writing


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, data: str | bytes) -> None:
    """Write a file so that readers see either the old content or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp files are private; reports get the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _json_for_script(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or U+2028/9."""
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True, allow_nan=False)
    for ch, rep in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, rep)
    return text


def _figure_json(fig: Any) -> dict[str, Any]:
    import plotly.io as pio

    return json.loads(pio.to_json(fig, validate=False))


def write_pngs(figures: Sequence[Any], paths: Sequence[Path]) -> str | None:
    """Render figures to PNG with kaleido (one browser for all); never raises.

    Args:
        figures: plotly figures.
        paths: target ``.png`` paths, one per figure.

    Returns:
        None when every PNG was written, else a one-line note saying why PNGs were skipped.
    """
    if not figures:
        return None
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return (
            "PNG skipped: kaleido is not installed (pip install 'niah-suite[png]'); "
            "the HTML heatmaps are complete"
        )
    import plotly.io as pio

    tmps = [p.with_name(f".{p.name}.tmp.png") for p in paths]
    try:
        widths = [max(640, 70 * len(f.data[0].x or []) + 260) for f in figures]
        heights = [int(f.layout.height or 480) for f in figures]
        pio.write_images(list(figures), tmps, format="png", width=widths, height=heights, scale=1)
        for tmp, path in zip(tmps, paths, strict=True):
            os.replace(tmp, path)
    except Exception as exc:  # PNG is best effort: any failure is a note, never a crash
        for tmp in tmps:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return (
            f"PNG skipped: {type(exc).__name__}: {one_line(exc)} "
            "(kaleido needs Chrome/Chromium; set BROWSER_PATH); the HTML heatmaps are complete"
        )
    return None


def _dashboard_context(
    data: ReportData, leaderboard: dict[str, Any], figures: list[Any], stems: list[str], notes: list[str]
) -> dict[str, Any]:
    entries = leaderboard["entries"]
    halluc = {
        e["model"]: e["hallucination_rate"]
        for e in entries
        if e["task"] == "no_needle" and e["hallucination_rate"]
    }
    rows = []
    for e in entries:
        rows.append(
            {
                "entry": e,
                "model_hallucination": halluc.get(e["model"]),
                "heatmap_id": "hm-" + stems[len(rows)],
            }
        )
    heatmaps = [
        {
            "id": "hm-" + stem,
            "model": g.model,
            "task": g.task,
            "file": stem + ".html",
            "figure": _figure_json(fig),
        }
        for g, fig, stem in zip(data.groups, figures, stems, strict=True)
    ]
    models = data.models
    per_model = [(m, [h for h in heatmaps if h["model"] == m]) for m in models]
    errors = []
    for g in data.groups:
        bad = [r for r in g.records if r["status"] != "ok"]
        if bad:
            samples = sorted({error_text(r) for r in bad if r["status"] == "error"})[:3]
            errors.append(
                {
                    "model": g.model,
                    "task": g.task,
                    "n_error": sum(1 for r in bad if r["status"] == "error"),
                    "n_model_length": sum(1 for r in bad if r["status"] == "model_length"),
                    "samples": samples,
                }
            )
    page_data = {
        "heatmaps": heatmaps,
        "models": models,
        "tasks": sorted({g.task for g in data.groups}, key=task_sort_key),
    }
    return {
        "lb": leaderboard,
        "rows": rows,
        "per_model": per_model,
        "errors": errors,
        "warnings": data.warnings,
        "notes": notes,
        "models": models,
        "tasks": page_data["tasks"],
        "page_data_json": _json_for_script(page_data),
        "color": score_color,
        "fmt": _fmt,
        "fmt_tokens": format_tokens,
        "fmt_eff": _fmt_effective,
        "fmt_int": lambda n: f"{n:,}",
        "fmt_cost": lambda c, complete: ("" if complete else "≥ ") + f"${c:,.4f}",
    }


def _fmt_effective(value: int | None, entry: dict[str, Any]) -> str:
    """An effective length as a label; None means below the shortest tested length (``<1K``)."""
    if value is not None:
        return format_tokens(value)
    lengths = entry["grid"]["lengths"]
    return "<" + format_tokens(lengths[0]) if lengths else "—"


def render_dashboard(context: dict[str, Any]) -> str:
    """Render the dashboard page (jinja2, autoescape on, plotly.js inlined).

    Args:
        context: the template variables built by the report.

    Returns:
        The HTML page.
    """
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evals", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("dashboard.html.j2")
    return template.render(plotly_js=get_plotlyjs(), **context)


def generate_reports(
    run_dirs: list[Path],
    out_dir: Path | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    png: bool = True,
) -> list[Path]:
    """Write heatmaps, the dashboard and ``leaderboard.json`` for one or more runs.

    Damage in the inputs (an empty run directory, a missing header, corrupt or torn JSONL lines) is logged as
    a warning on the ``evals.report`` logger, named by file and line, and the rest is reported. PNG export is
    best effort: when it cannot render, a ``PNG skipped: ...`` warning is logged and the HTML is complete.

    Args:
        run_dirs: run directories (a directory of runs such as ``results/`` stands for its runs).
        out_dir: where to write; default ``<run_dir>/report`` when exactly one directory is given.
        threshold: recall threshold for the effective context length, in [0, 1].
        png: also render ``.png`` heatmaps when possible.

    Returns:
        The files written, in a stable order.

    Raises:
        ReportError: bad arguments (missing directory, no out_dir for several runs, threshold out of range),
            or no record at all could be read from any run.
    """
    if not run_dirs:
        raise ReportError("no run directory given")
    if not (isinstance(threshold, int | float) and 0 <= threshold <= 1):
        raise ReportError(f"threshold must be within [0, 1], got {threshold}")
    paths = [Path(p) for p in run_dirs]
    if out_dir is None:
        if len(paths) != 1:
            raise ReportError("several run directories: choose where the report goes with --out DIR")
        out_dir = paths[0] / "report"
    out_dir = Path(out_dir)
    data = collect(expand_run_dirs(paths))
    for w in data.warnings:
        logger.warning(w)
    if not data.groups:
        shown = ", ".join(str(p) for p in paths)
        raise ReportError(f"nothing to report: no readable result record in {shown}")
    notes: list[str] = grid_notes(data)
    for note in notes:
        logger.warning(note)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report directory {out_dir}: {one_line(exc)}") from exc

    leaderboard = build_leaderboard(data, float(threshold))
    figures = [heatmap_figure(g) for g in data.groups]
    stems = heatmap_names(data.groups)
    written: list[Path] = []
    try:
        for fig, stem in zip(figures, stems, strict=True):
            path = out_dir / f"{stem}.html"
            _atomic_write(path, fig.to_html(include_plotlyjs=True, full_html=True, config=PLOTLY_CONFIG))
            written.append(path)
        if png:
            png_paths = [out_dir / f"{stem}.png" for stem in stems]
            note = write_pngs(figures, png_paths)
            if note:
                logger.warning(note)
                notes.append(note)
            else:
                written.extend(png_paths)
        context = _dashboard_context(data, leaderboard, figures, stems, notes)
        dashboard = out_dir / "dashboard.html"
        _atomic_write(dashboard, render_dashboard(context))
        written.append(dashboard)
        lb_path = out_dir / "leaderboard.json"
        _atomic_write(lb_path, json.dumps(leaderboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(lb_path)
    except OSError as exc:
        raise ReportError(f"cannot write the report in {out_dir}: {one_line(exc)}") from exc
    # The dashboard and the leaderboard first: they are what a caller shows.
    return [dashboard, lb_path] + [p for p in written if p not in (dashboard, lb_path)]


# ---------------------------------------------------------------------------------------------- CLI


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
    parser.add_argument("--no-png", action="store_true", help="skip PNG rendering of the heatmaps")
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
    for col in ("model", "task", "recall [95% CI]", "n ok/err/len", "effective length", "cost"):
        table.add_column(col, overflow="fold")  # wrap long model names, never cut them
    for e in leaderboard["entries"]:
        r = e["recall"]
        eff = e["effective_context_length"]
        if e["task"] == "no_needle":
            eff_text = "—"
        else:
            low, high = (_fmt_effective(eff[k], e) for k in ("ci_low_value", "ci_high_value"))
            eff_text = f"{_fmt_effective(eff['value'], e)} [{low}, {high}]"
        cells = (
            e["model"],
            e["task"],
            "n/a" if r["mean"] is None else f"{r['mean']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]",
            f"{e['n_ok']}/{e['n_error']}/{e['n_model_length']}",
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


@contextlib.contextmanager
def stderr_warnings() -> Iterator[None]:
    """Print this module's warnings (damaged input, PNG skipped) on stderr as ``warning: ...`` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _main(args: argparse.Namespace) -> int:
    try:
        if args.out is None and len(args.run_dirs) > 1:
            raise ReportError("several run directories: choose where the report goes with --out DIR")
        out_dir = args.out if args.out is not None else args.run_dirs[0] / "report"
        written = generate_reports(args.run_dirs, args.out, threshold=args.threshold, png=not args.no_png)
        if args.export_dataset is not None:
            from evals.export import export_results

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
