"""The reports as aggregations of the typed records' DataFrame: pandas reproduces leaderboard.json exactly;
truncated answers and closed-book questions are reported apart; schema-1 files still report; reused
``--out`` and PNG defaults."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from evals.reporting.dashboard import generate_reports
from evals.reporting.data import TAXONOMY
from evals.reporting.summary import summarize
from evals.stats import clustered_proportion, effective_length, wilson_interval
from evals.store.results import load
from tests.evals.reporting.conftest import grid_run, legacy_record, make_record, write_run

LENGTHS = (1000, 2000, 4000)
DEPTHS = (0.0, 25.0, 50.0, 100.0)


def _mixed(task: str, length: int, depth: float, seed: int) -> tuple[str, float | None, str]:
    """Every status and some partial scores, so that the frame's aggregations have something to get wrong."""
    k = (length // 1000 + int(depth) + seed) % 7
    if k == 0:
        return ("error", None, "")
    if k == 1 and length == 4000:
        return ("model_length", None, "")
    if k == 2:
        return ("truncated", None, "47")
    if k == 3:
        return ("ok", 0.0, "不知道")
    if k == 4 and task == "multi":
        return ("ok", 1 / 3, "4729183")
    return ("ok", 1.0, "4729183")


def _lb(out: Path) -> dict[str, Any]:
    return json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))


def test_dataframe_of_a_finished_run_reproduces_the_leaderboard(tmp_path: Path) -> None:
    run = grid_run(
        tmp_path / "run", "alpha", LENGTHS, DEPTHS, tasks=("single", "multi"), seeds=(0, 1, 2), outcome=_mixed
    )
    generate_reports([run], tmp_path / "out", threshold=0.5, png=False)
    lb = _lb(tmp_path / "out")
    df = load(run)
    df = df[df["kind"] == "cell"]
    assert len(lb["entries"]) == 2
    for e in lb["entries"]:
        g = df[(df["model"] == e["model"]) & (df["task"] == e["task"])]
        ok = g[g["status"] == "ok"]
        # Counts: exactly.
        assert e["n_cells"] == len(g)
        for status, key in (
            ("ok", "n_ok"),
            ("error", "n_error"),
            ("model_length", "n_model_length"),
            ("truncated", "n_truncated"),
        ):
            assert e[key] == int((g["status"] == status).sum())
        assert e["n_truncated"] > 0 and e["n_error"] > 0
        assert e["outcomes"] == {k: int((g["outcome"] == k).sum()) for k in TAXONOMY}

        # Recall and its interval: the same floats.
        # Recall and its interval clustered by seed (the haystack): the same floats.
        def clustered(sl: Any) -> Any:
            return clustered_proportion(list(sl["score"]), list(zip(sl["language"], sl["seed"], strict=True)))

        n, total = len(ok), float(ok["score"].sum())
        c = clustered(ok)
        assert c.method == "clustered" and c.n_clusters == len(set(ok["seed"]))
        assert e["recall"] == {
            "mean": round(total / n, 6),
            "ci_low": round(c.low, 6),
            "ci_high": round(c.high, 6),
            "n": n,
            "se": round(c.se, 6),
            "n_clusters": c.n_clusters,
            "interval": "clustered",
            "design_effect": round(c.design_effect, 6),
        }
        for b in e["by_length"]:
            sl = ok[ok["length"] == b["length"]]
            c = clustered(sl)
            assert (b["n"], b["recall"], b["ci_low"], b["ci_high"], b["interval"]) == (
                len(sl),
                round(float(sl["score"].mean()), 6),
                round(c.low, 6),
                round(c.high, 6),
                c.method,
            )
            assert b["n_truncated"] == int(
                ((g["length"] == b["length"]) & (g["status"] == "truncated")).sum()
            )
        for b in e["by_depth"]:
            sl = ok[ok["depth"] == b["depth"]]
            c = clustered(sl)
            assert (b["n"], b["ci_low"], b["ci_high"]) == (len(sl), round(c.low, 6), round(c.high, 6))
        per_length = ok.groupby("length")["score"].mean()
        assert e["effective_context_length"]["value"] == effective_length(
            {int(k): float(v) for k, v in per_length.items()}, 0.5
        )


def test_truncated_is_shown_apart_never_a_miss(tmp_path: Path) -> None:
    recs = [
        make_record("m", "single", 1000, 0.0),
        make_record("m", "single", 1000, 50.0, status="truncated", answer="47"),
        make_record("m", "single", 1000, 100.0, status="truncated", answer=""),
    ]
    run = write_run(tmp_path / "r", recs, model="m")
    generate_reports([run], tmp_path / "out", png=False)
    (e,) = _lb(tmp_path / "out")["entries"]
    assert (e["n_cells"], e["n_ok"], e["n_truncated"]) == (3, 1, 2)
    assert e["recall"]["mean"] == 1.0 and e["recall"]["n"] == 1
    assert e["outcomes"]["truncated"] == 2 and e["outcomes"]["wrong"] == 0
    dashboard = (tmp_path / "out" / "dashboard.html").read_text(encoding="utf-8")
    assert "truncated (not scored)" in dashboard


def test_closed_book_is_reported_apart(tmp_path: Path) -> None:
    cells = [make_record("m", "single", 1000, d, seed=s, score=0.0) for d in (0.0, 100.0) for s in range(2)]
    closed = [
        make_record("m", "single", 0, 0.0, seed=s, kind="closed_book", score=1.0 if s < 1 else 0.0)
        for s in range(4)
    ]
    run = write_run(tmp_path / "r", [*cells, *closed], model="m")
    generate_reports([run], tmp_path / "out", png=False)
    (e,) = _lb(tmp_path / "out")["entries"]
    assert (e["n_cells"], e["recall"]["mean"], e["grid"]["lengths"]) == (4, 0.0, [1000])  # never pooled
    low, high = wilson_interval(1, 4)
    assert e["closed_book"]["known"] == {
        "mean": 0.25,
        "ci_low": round(low, 6),
        "ci_high": round(high, 6),
        "n": 4,
        "interval": "wilson",
    }
    assert e["closed_book"]["n_records"] == 4
    dashboard = (tmp_path / "out" / "dashboard.html").read_text(encoding="utf-8")
    assert "Known without the text" in dashboard and "0.25" in dashboard
    summary = summarize(run)
    assert summary["cells"] == 4 and summary["closed_book"] == {"asked": 4, "known": 1}


def test_schema_1_file_is_reported(tmp_path: Path) -> None:
    recs = [
        legacy_record("m", "single", 1000, 0.0),
        legacy_record("m", "single", 1000, 50.0, score=0.0, answer="不知道"),
        legacy_record("m", "no_needle", 1000, 0.0, score=0.0, hallucinated=True),
        legacy_record("m", "single", 2000, 0.0, status="error", error="HTTP 503"),
    ]
    assert all(r["schema_version"] == 1 and "outcome" not in r for r in recs)
    run = write_run(tmp_path / "r", recs, model="m", tasks=("single", "no_needle"))
    generate_reports([run], tmp_path / "out", png=False)
    single, no_needle = _lb(tmp_path / "out")["entries"]
    assert (single["n_ok"], single["n_error"], single["recall"]["mean"]) == (2, 1, 0.5)
    assert (single["outcomes"]["found"], single["outcomes"]["wrong"], single["outcomes"]["error"]) == (
        1,
        1,
        1,
    )
    assert no_needle["metric"] == "correct abstention"
    assert no_needle["outcomes"]["hallucinated"] == 1 and no_needle["hallucination_rate"]["mean"] == 1.0


def test_reused_out_drops_heatmaps_of_runs_no_longer_in_it(tmp_path: Path) -> None:
    a = grid_run(tmp_path / "a", "alpha", (1000,), (0.0,))
    b = grid_run(tmp_path / "b", "beta", (1000,), (0.0,))
    out = tmp_path / "out"
    generate_reports([a, b], out, png=False)
    assert {p.name for p in out.glob("heatmap_*")} == {
        "heatmap_alpha_single.html",
        "heatmap_beta_single.html",
    }
    (out / "heatmap_beta_single.png").write_bytes(b"\x89PNG old")
    (out / "notes.txt").write_text("mine")
    generate_reports([a], out, png=False)
    assert {p.name for p in out.iterdir()} == {
        "heatmap_alpha_single.html",
        "dashboard.html",
        "leaderboard.json",
        "notes.txt",
    }


def test_default_png_is_quiet_when_it_cannot_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import evals.reporting.dashboard as report

    run = grid_run(tmp_path / "run", "alpha", (1000,), (0.0,))
    monkeypatch.setattr(report, "png_possible", lambda: True)
    monkeypatch.setattr(report, "write_pngs", lambda figures, paths: "PNG skipped: RuntimeError: no browser")
    with caplog.at_level(logging.DEBUG, logger="evals.reporting"):
        written = generate_reports([run], tmp_path / "out")  # the default: PNG when possible, silently
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not any(p.suffix == ".png" for p in written)
    assert "PNG skipped" not in (tmp_path / "out" / "dashboard.html").read_text(encoding="utf-8")
    monkeypatch.setattr(report, "png_possible", lambda: False)
    calls: list[int] = []
    monkeypatch.setattr(report, "write_pngs", lambda figures, paths: calls.append(1))
    generate_reports([run], tmp_path / "out")
    assert calls == []  # not possible: not even tried
    with caplog.at_level(logging.WARNING, logger="evals.reporting"):
        monkeypatch.setattr(report, "write_pngs", lambda figures, paths: "PNG skipped: asked for")
        generate_reports([run], tmp_path / "out", png=True)  # asked for: a failure is a warning
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "PNG skipped: asked for"
    ]
