"""Reports over run directories: Gemini-style heatmaps, one offline dashboard, ``leaderboard.json``.

``python -m evals.report RUN_DIR... [--out DIR] [--threshold 0.85] [--png | --no-png] [--export-dataset DIR]``

Everything here is derived from the runs' ``results.jsonl`` (and ``header.json``), read as typed records and
aggregated as a pandas DataFrame (:mod:`evals.reporting.data`); the result files are only ever opened for
reading. Per (model, task) it writes:

* ``heatmap_<model>_<task>.html``: a standalone plotly heatmap (x: context length, y: needle depth, colour:
  the task's metric; hover: n, 95% Wilson interval, unscored counts, prompt tokens, expected fact and a sample
  answer, all read from named ``customdata`` fields), plus a ``.png`` twin when kaleido and a Chromium can
  render it (silently skipped when they cannot, unless ``--png`` asked for it);
* ``dashboard.html``: one self-contained page (plotly.js inlined, data embedded as escaped JSON) with the
  leaderboard table, every heatmap, recall-by-depth curves with interval bands, a side-by-side comparison of
  two models with their difference heatmap, the error taxonomy per model, closed-book controls and errors;
* ``leaderboard.json``: the machine-readable summary, schema ``niah-leaderboard/3`` (docs/leaderboard.md).

Cells whose calls failed (``error``), whose prompt exceeded the model's window (``model_length``) or whose
answer was cut at its token budget (``truncated``) carry no score: they are counted and shown separately,
never as a wrong answer. Closed-book questions (asked with no text) are reported apart, never pooled.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import itertools
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from evals.errors import EvalError
from evals.reporting.data import (
    DEFAULT_THRESHOLD,
    ENTRY_COLUMNS,
    TAXONOMY,
    Group,
    ReportData,
    ReportError,
    build_leaderboard,
    clustered_recall,
    collect,
    depth_label,
    error_text,
    grid_notes,
    one_line,
    sampling_json,
    task_has_depth,
    task_metric,
    task_sort_key,
    truncate,
)
from evals.stats import format_tokens
from evals.store.record import ResultRecord
from evals.store.results import expand_run_dirs
from haystacks.files import write_atomic

__all__ = [
    "ReportError",
    "depth_curve_figure",
    "generate_reports",
    "heatmap_figure",
    "render_dashboard",
    "write_pngs",
]

logger = logging.getLogger("evals.reporting")

# Gemini 1.5 / Kamradt style: red at 0, yellow in the middle, green at 1.
COLORSCALE = [[0.0, "#d7191c"], [0.25, "#f07c4a"], [0.5, "#fee08b"], [0.75, "#a6d96a"], [1.0, "#1a9641"]]
UNSCORED_COLOR = "#9e9e9e"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


# ---------------------------------------------------------------------------------------------- heatmaps


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _expected(rec: ResultRecord) -> str:
    """The expected answer(s) of a record: its ``expected``, else its asked needles' answers."""
    if rec.expected:
        return ", ".join(rec.expected)
    return ", ".join(n.answer for n in rec.needles if n.kind != "distractor" and n.answer)


def _shown_answer(rec: ResultRecord) -> str:
    """The answer as scored (``scored_answer``: e.g. a base model's first line), else the raw answer."""
    text = rec.scored_answer if rec.scored_answer is not None else rec.answer
    return text or "(empty)"


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
    p = clustered_recall(group.frame)
    head = f"{group.model} · {group.task}"
    sampling = sampling_json(group.view)
    if sampling.get("method") == "adaptive" and sampling.get("n_candidates"):
        head += (
            f" · adaptive: {sampling['n_observed']} of {sampling['n_candidates']} cells (grey: not sampled)"
        )
    title = f"{task_metric(group.task)} {_fmt(p.mean)}"
    if p.mean is not None:
        title += f" [{_fmt(p.low)}, {_fmt(p.high)}]"
    title += f", n={p.n}"
    excluded = [
        f"{n} {label}"
        for n, label in (
            (group.count("error"), "errors"),
            (group.count("model_length"), "over window"),
            (group.count("truncated"), "truncated"),
        )
        if n
    ]
    if excluded:
        title += " (" + ", ".join(excluded) + " excluded)"
    return head, title


#: Hover data of an empty heatmap cell (the keys every cell's ``customdata`` object has).
_EMPTY_CELL: dict[str, Any] = {
    "n": 0,
    "successes": 0,
    "ci_low": "",
    "ci_high": "",
    "n_error": 0,
    "n_model_length": 0,
    "n_truncated": 0,
    "prompt_tokens": "",
    "answer": "",
    "expected": "",
}
_EMPTY_BAD: dict[str, Any] = {"error": "", "n_error": 0, "n_model_length": 0, "n_truncated": 0}


def heatmap_figure(group: Group) -> Any:
    """A Gemini-1.5-style plotly heatmap of one (model, task).

    Trace 0 is the score heatmap: ``z[i][j]`` is the mean score at ``depths[i]`` × ``lengths[j]`` (None where
    no record was scored); its ``customdata[i][j]`` is an object with named fields (``n``, ``successes``,
    ``ci_low``, ``ci_high``, ``n_error``, ``n_model_length``, ``n_truncated``, ``prompt_tokens``, ``answer``,
    ``expected``) that the hover template and the dashboard's script read by name. Trace 1, present only when
    needed, greys out cells that have records but no score (errors, prompts over the model's window,
    truncated answers). Every user-derived string is HTML-escaped, because plotly renders hover and title
    text as HTML.

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
    custom: list[list[dict[str, Any]]] = []
    z_bad: list[list[float | None]] = []
    text_bad: list[list[str]] = []
    custom_bad: list[list[dict[str, Any]]] = []
    any_bad = False
    for d in group.depths:
        row_z, row_t, row_c, row_zb, row_tb, row_cb = [], [], [], [], [], []
        for length in group.lengths:
            cell = group.cells.get((length, d))
            if cell is None:
                row_z.append(None)
                row_t.append("")
                row_c.append(dict(_EMPTY_CELL))
                row_zb.append(None)
                row_tb.append("")
                row_cb.append(dict(_EMPTY_BAD))
                continue
            p = cell.recall
            sample_id = cell.sample_id()
            sample = group.records[sample_id] if sample_id else None
            counts = {
                "n_error": cell.n_error,
                "n_model_length": cell.n_model_length,
                "n_truncated": cell.n_truncated,
            }
            row_z.append(p.mean)
            row_t.append(_fmt(p.mean) if p.mean is not None else "")
            row_c.append(
                {
                    "n": p.n,
                    "successes": round(p.successes, 6),
                    "ci_low": _fmt(p.ci_low),
                    "ci_high": _fmt(p.ci_high),
                    **counts,
                    "prompt_tokens": cell.prompt_tokens(),
                    "answer": esc(truncate(_shown_answer(sample))) if sample else "",
                    "expected": esc(truncate(_expected(sample) or "—")) if sample else "",
                }
            )
            if p.n == 0:
                any_bad = True
                marks = [
                    mark
                    for mark, n in (
                        ("ERR", cell.n_error),
                        ("LEN", cell.n_model_length),
                        ("CUT", cell.n_truncated),
                    )
                    if n
                ]
                bad_id = cell.first_unscored_id()
                row_zb.append(1.0)
                row_tb.append("+".join(marks))
                row_cb.append(
                    {"error": esc(truncate(error_text(group.records[bad_id]))) if bad_id else "", **counts}
                )
            else:
                row_zb.append(None)
                row_tb.append("")
                row_cb.append(dict(_EMPTY_BAD))
        z.append(row_z)
        text.append(row_t)
        custom.append(row_c)
        z_bad.append(row_zb)
        text_bad.append(row_tb)
        custom_bad.append(row_cb)
    metric = task_metric(group.task)
    hover = (
        "<b>%{x} tokens · depth %{y}</b><br>"
        f"{html.escape(metric, quote=False)} %{{z:.2f}} (n=%{{customdata.n}})<br>"
        "95% CI [%{customdata.ci_low}, %{customdata.ci_high}]<br>"
        "errors %{customdata.n_error} · over window %{customdata.n_model_length} · "
        "truncated %{customdata.n_truncated} (excluded)<br>"
        "prompt tokens %{customdata.prompt_tokens}<br>"
        "expected: %{customdata.expected}<br>"
        "sample answer: %{customdata.answer}<extra></extra>"
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
            colorbar={"title": {"text": html.escape(metric, quote=False)}},
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
                    "<b>%{x} tokens · depth %{y}</b><br>not scored: errors %{customdata.n_error} · "
                    "over window %{customdata.n_model_length} · truncated %{customdata.n_truncated}<br>"
                    "%{customdata.error}<extra></extra>"
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


def depth_curve_figure(task: str, entries: Sequence[dict[str, Any]]) -> Any:
    """Score by needle depth for one task, a line per model with its 95% interval as a band.

    Args:
        task: the task.
        entries: the leaderboard entries of that task (their ``by_depth`` slices).

    Returns:
        A ``plotly.graph_objects.Figure``; trace pairs per model: the band (``fill``), then the line.
    """
    import plotly.graph_objects as go

    metric = task_metric(task)
    fig = go.Figure()
    for i, e in enumerate(entries):
        pts = [b for b in e["by_depth"] if b["recall"] is not None]
        color = CURVE_COLORS[i % len(CURVE_COLORS)]
        xs = [b["depth"] for b in pts]
        name = html.escape(e["model"], quote=False)
        fig.add_trace(
            go.Scatter(
                x=xs + xs[::-1],
                y=[b["ci_high"] for b in pts] + [b["ci_low"] for b in pts][::-1],
                fill="toself",
                mode="lines",
                fillcolor=_rgba(color, 0.18),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=name,
                name=f"{name} 95% CI",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[b["recall"] for b in pts],
                customdata=[
                    {"n": b["n"], "ci_low": _fmt(b["ci_low"]), "ci_high": _fmt(b["ci_high"])} for b in pts
                ],
                mode="lines+markers",
                line={"color": color, "width": 2},
                name=name,
                legendgroup=name,
                hovertemplate=(
                    f"<b>{name}</b> · depth %{{x:g}}%<br>{html.escape(metric, quote=False)} %{{y:.2f}} "
                    "[%{customdata.ci_low}, %{customdata.ci_high}] n=%{customdata.n}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        title={
            "text": html.escape(
                f"{task}: {metric} by needle depth (95% bands, clustered by seed)", quote=False
            )
        },
        xaxis={"title": {"text": "needle depth (%)"}, "range": [-2, 102]},
        yaxis={"title": {"text": metric}, "range": [-0.02, 1.02]},
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        height=380,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


CURVE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


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


def png_possible() -> bool:
    """Whether kaleido is installed and finds a Chrome/Chromium (``BROWSER_PATH`` or the usual places)."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return False
    try:
        from choreographer.browsers.chromium import Chromium

        return Chromium.find_browser(skip_local=False) is not None
    except Exception:  # kaleido's browser lookup moved: let the render itself tell
        return True


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


#: Dashboard labels of the error taxonomy's categories (:data:`evals.reporting.data.TAXONOMY`).
TAXONOMY_LABELS = {
    "found": "found",
    "partial": "partial",
    "hedged": "hedged",
    "decoy": "decoy taken",
    "misbound": "misbound",
    "hallucinated": "hallucinated",
    "abstained": "abstained",
    "wrong": "wrong",
    "wrong_format": "wrong format",
    "truncated": "truncated (not scored)",
    "error": "error (not scored)",
    "model_length": "over window (not scored)",
    "ungraded": "ungraded",
}


def _taxonomy(entries: Sequence[dict[str, Any]], models: Sequence[str]) -> list[dict[str, Any]]:
    """Per model: the outcome counts per task (rows: categories, columns: tasks)."""
    out = []
    for model in models:
        mine = [e for e in entries if e["model"] == model]
        cats = list(TAXONOMY) + sorted({k for e in mine for k in e["outcomes"]} - set(TAXONOMY))
        rows = [
            {
                "category": cat,
                "label": TAXONOMY_LABELS.get(cat, cat),
                "counts": [e["outcomes"].get(cat, 0) for e in mine],
                "total": sum(e["outcomes"].get(cat, 0) for e in mine),
            }
            for cat in cats
        ]
        out.append({"model": model, "tasks": [e["task"] for e in mine], "rows": rows})
    return out


def _dashboard_context(
    data: ReportData, leaderboard: dict[str, Any], figures: list[Any], stems: list[str], notes: list[str]
) -> dict[str, Any]:
    entries = leaderboard["entries"]
    rows = [{"entry": e, "heatmap_id": "hm-" + stem} for e, stem in zip(entries, stems, strict=True)]
    heatmaps = [
        {
            "id": "hm-" + stem,
            "model": g.model,
            "task": g.task,
            "metric": task_metric(g.task),
            "file": stem + ".html",
            "figure": _figure_json(fig),
        }
        for g, fig, stem in zip(data.groups, figures, stems, strict=True)
    ]
    models = data.models
    tasks = sorted({g.task for g in data.groups}, key=task_sort_key)
    per_model = [(m, [h for h in heatmaps if h["model"] == m]) for m in models]
    curves = [
        {
            "id": f"curve-{i}",
            "task": task,
            "figure": _figure_json(depth_curve_figure(task, [e for e in entries if e["task"] == task])),
        }
        for i, task in enumerate(t for t in tasks if task_has_depth(t))
    ]
    errors = []
    for g in data.groups:
        bad = [r for r in g.records.values() if r.status != "ok"]
        if bad:
            errors.append(
                {
                    "model": g.model,
                    "task": g.task,
                    "n_error": g.count("error"),
                    "n_model_length": g.count("model_length"),
                    "n_truncated": g.count("truncated"),
                    "samples": sorted({error_text(r) for r in bad if r.status == "error"})[:3],
                }
            )
    page_data = {
        "heatmaps": heatmaps,
        "curves": curves,
        "models": models,
        "tasks": tasks,
        "comparisons": leaderboard.get("comparisons", []),
    }
    return {
        "lb": leaderboard,
        "rows": rows,
        "columns": [c for c in ENTRY_COLUMNS if c.header],
        "per_model": per_model,
        "curves": curves,
        "taxonomy": _taxonomy(entries, models),
        "closed_book": [e for e in entries if e["closed_book"]],
        "errors": errors,
        "warnings": data.warnings,
        "notes": notes,
        "models": models,
        "tasks": tasks,
        "page_data_json": _json_for_script(page_data),
        "color": score_color,
        "fmt": _fmt,
        "fmt_tokens": format_tokens,
        "fmt_eff": fmt_effective,
        "fmt_int": lambda n: f"{n:,}",
        "fmt_cost": lambda c, complete: ("" if complete else "≥ ") + f"${c:,.4f}",
    }


def fmt_effective(value: int | None, entry: dict[str, Any]) -> str:
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
        loader=jinja2.PackageLoader("evals.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("dashboard.html.j2")
    return template.render(plotly_js=get_plotlyjs(), **context)


def _drop_stale_heatmaps(out_dir: Path, keep: set[Path]) -> None:
    """Delete ``heatmap_*.html``/``.png`` files of ``out_dir`` that this generation did not write (runs no
    longer reported when ``--out`` is reused)."""
    for pattern in ("heatmap_*.html", "heatmap_*.png"):
        for path in out_dir.glob(pattern):
            if path not in keep and path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()


def generate_reports(
    run_dirs: list[Path],
    out_dir: Path | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    png: bool | None = None,
) -> list[Path]:
    """Write heatmaps, the dashboard and ``leaderboard.json`` for one or more runs.

    Damage in the inputs (an empty run directory, a missing header, corrupt or torn JSONL lines) is logged as
    a warning on the ``evals.reporting`` logger, named by file and line, and the rest is reported. Heatmaps of
    an earlier report in ``out_dir`` that this one did not write are deleted.

    Args:
        run_dirs: run directories (a directory of runs such as ``results/`` stands for its runs).
        out_dir: where to write; default ``<run_dir>/report`` when exactly one directory is given.
        threshold: recall threshold for the effective context length, in [0, 1].
        png: ``None`` (default): render ``.png`` heatmaps when kaleido and a Chromium are there, silently
            skipped otherwise; ``True``: asked for, so a failure is a ``PNG skipped: ...`` warning (the HTML
            is complete either way); ``False``: no PNG.

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
    try:
        expanded = expand_run_dirs(paths)
    except EvalError as exc:
        raise ReportError(str(exc)) from None
    data = collect(expanded, float(threshold))
    for w in data.warnings:
        logger.warning(w)
    if not data.groups:
        shown = ", ".join(str(p) for p in paths)
        raise ReportError(f"nothing to report: no readable result record in {shown}")
    notes: list[str] = grid_notes(data) + data.notes
    for note in notes:
        logger.warning(note)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report directory {out_dir}: {one_line(exc)}") from exc

    leaderboard = build_leaderboard(data)
    figures = [heatmap_figure(g) for g in data.groups]
    stems = heatmap_names(data.groups)
    written: list[Path] = []
    try:
        for fig, stem in zip(figures, stems, strict=True):
            path = out_dir / f"{stem}.html"
            write_atomic(path, fig.to_html(include_plotlyjs=True, full_html=True, config=PLOTLY_CONFIG))
            written.append(path)
        if png is True or (png is None and png_possible()):
            png_paths = [out_dir / f"{stem}.png" for stem in stems]
            note = write_pngs(figures, png_paths)
            if note is None:
                written.extend(png_paths)
            elif png:
                logger.warning(note)
                notes.append(note)
            else:
                logger.debug(note)
        context = _dashboard_context(data, leaderboard, figures, stems, notes)
        dashboard = out_dir / "dashboard.html"
        write_atomic(dashboard, render_dashboard(context))
        written.append(dashboard)
        lb_path = out_dir / "leaderboard.json"
        write_atomic(lb_path, json.dumps(leaderboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(lb_path)
    except OSError as exc:
        raise ReportError(f"cannot write the report in {out_dir}: {one_line(exc)}") from exc
    _drop_stale_heatmaps(out_dir, set(written))
    # The dashboard and the leaderboard first: they are what a caller shows.
    return [dashboard, lb_path] + [p for p in written if p not in (dashboard, lb_path)]


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
