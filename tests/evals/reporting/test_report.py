"""Reports from synthetic run directories: leaderboard values, errors, damage tolerance, grids."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from evals.reporting.dashboard import ReportError, generate_reports, heatmap_figure, write_pngs
from evals.reporting.data import TAXONOMY, collect
from evals.stats import wilson_interval
from tests.evals.reporting.conftest import grid_run, make_record, write_run

LENGTHS = (1000, 2000, 4000)
DEPTHS = (0.0, 50.0, 100.0)


def _outcome(task: str, length: int, depth: float, seed: int) -> tuple[str, float | None, str]:
    """1000: all right; 2000: depth 100 fails (error); 4000: depth 0 right, 50 wrong, 100 over the window."""
    if length == 2000 and depth == 100.0:
        return ("error", None, "")
    if length == 4000 and depth == 100.0:
        return ("model_length", None, "")
    if length == 4000 and depth == 50.0:
        return ("ok", 0.0, "不知道")
    return ("ok", 1.0, "4729183")


@pytest.fixture
def run_a(tmp_path: Path) -> Path:
    return grid_run(tmp_path / "runA", "alpha", LENGTHS, DEPTHS, seeds=(0, 1), outcome=_outcome)


def _entry(lb: dict[str, Any], model: str, task: str = "single") -> dict[str, Any]:
    return next(e for e in lb["entries"] if e["model"] == model and e["task"] == task)


def _load_lb(out: Path) -> dict[str, Any]:
    return json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))


def test_leaderboard_values_hand_computed(run_a: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate_reports([run_a], out, threshold=0.8, png=False)
    lb = _load_lb(out)
    assert lb["schema"] == "niah-leaderboard/3"
    assert lb["interval"] == "clustered"
    assert lb["threshold"] == 0.8
    assert lb["suite_version"] == "0.1.0"
    assert lb["generated_at"] == "2026-09-21T14:13:20Z"  # SOURCE_DATE_EPOCH=1790000000 (conftest)
    e = _entry(lb, "alpha")
    # 18 cells: 2 errors (2000@100), 2 over window (4000@100), 14 scored of which 12 right.
    assert (e["n_cells"], e["n_ok"], e["n_error"], e["n_model_length"], e["n_truncated"]) == (18, 14, 2, 2, 0)
    assert e["metric"] == "recall"
    assert e["outcomes"] == {
        **dict.fromkeys(TAXONOMY, 0),
        "found": 12,
        "wrong": 2,
        "error": 2,
        "model_length": 2,
    }
    assert e["closed_book"] is None
    # Clustered by seed: each seed has 7 scored cells, 6 right, so both clusters sit at the mean and the
    # CR1 se is 0; the floor is the independent se sqrt((6/7)(1/7)/14) = 0.093522 (design effect 0):
    # 0.857143 +- 1.959964 * 0.093522 = [0.673843, 1].
    assert e["recall"] == {
        "mean": round(12 / 14, 6),
        "ci_low": 0.673843,
        "ci_high": 1.0,
        "n": 14,
        "se": 0.093522,
        "n_clusters": 2,
        "interval": "clustered",
        "design_effect": 0.0,
    }
    by_length = {b["length"]: b for b in e["by_length"]}
    assert (by_length[1000]["n"], by_length[1000]["recall"]) == (6, 1.0)
    assert (by_length[2000]["n"], by_length[2000]["recall"], by_length[2000]["n_error"]) == (4, 1.0, 2)
    assert (by_length[4000]["n"], by_length[4000]["recall"], by_length[4000]["n_model_length"]) == (4, 0.5, 2)
    # Every answer right: rule of three, [1 - 3/n, 1]; 2/4 split evenly over the seeds: se = sqrt(.25/4).
    assert (by_length[1000]["ci_low"], by_length[1000]["ci_high"], by_length[1000]["interval"]) == (
        0.5,
        1.0,
        "rule_of_three",
    )
    assert (by_length[2000]["ci_low"], by_length[2000]["interval"]) == (0.25, "rule_of_three")
    assert (by_length[4000]["ci_low"], by_length[4000]["ci_high"], by_length[4000]["se"]) == (
        0.010009,
        0.989991,
        0.25,
    )
    assert (by_length[4000]["interval"], by_length[4000]["n_clusters"]) == ("clustered", 2)
    by_depth = {b["depth"]: b for b in e["by_depth"]}
    assert (by_depth[0.0]["n"], by_depth[0.0]["recall"]) == (6, 1.0)
    assert (by_depth[50.0]["n"], by_depth[50.0]["recall"]) == (6, round(4 / 6, 6))
    assert (by_depth[100.0]["n"], by_depth[100.0]["n_error"], by_depth[100.0]["n_model_length"]) == (2, 2, 2)
    assert [(b["language"], b["n"], b["n_error"]) for b in e["by_language"]] == [("zh", 14, 2)]
    # Effective length at 0.8: point 1.0, 1.0, 0.5 -> 2000; lower bound of 6/6 (rule of three) is 0.5
    # -> none; upper bound of 2/4 is 0.989991 >= 0.8 -> 4000.
    assert e["effective_context_length"] == {
        "value": 2000,
        "ci_low_value": None,
        "ci_high_value": 4000,
        "threshold": 0.8,
        "n": 14,
    }
    # Cost: 14 scored calls at $0.001 (failed calls carry no cost). Tokens: ok records bill length + 53.
    assert e["cost_usd"] == pytest.approx(0.014)
    assert e["cost_complete"] is True
    assert e["tokens"] == {"input": 6 * 1053 + 4 * 2053 + 4 * 4053, "output": 14 * 8, "cached_input": 0}
    assert e["grid"] == {"lengths": [1000, 2000, 4000], "depths": [0.0, 50.0, 100.0]}
    assert e["hallucination_rate"] == {
        "mean": 0.0,
        "ci_low": 0.0,
        "ci_high": round(wilson_interval(0, 14)[1], 6),
        "n": 14,
        "interval": "wilson",
    }
    assert e["seeds"] == [0, 1]
    (run,) = e["runs"]
    assert run["run"] == "runA"
    assert run["git_commit"] == "abc123def4567890"
    assert run["model_id"] == "alpha-id"
    header = json.loads((run_a / "header.json").read_text())
    canon = json.dumps(header["config"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert run["config_hash"] == hashlib.sha256(canon.encode()).hexdigest()


def test_default_threshold_and_out_dir(run_a: Path) -> None:
    written = generate_reports([run_a], png=False)
    out = run_a / "report"
    assert {p.name for p in written} == {"heatmap_alpha_single.html", "dashboard.html", "leaderboard.json"}
    assert all(p.parent == out for p in written)
    e = _entry(_load_lb(out), "alpha")
    # At 0.85 the clustered upper bound of 2/4 (0.989991) still reaches: optimistic 4000 (the Wilson
    # bound, 0.84996, stopped at 2000); the pessimistic end has none (rule of three at 1000: 0.5).
    assert e["effective_context_length"]["ci_high_value"] == 4000
    assert e["effective_context_length"]["ci_low_value"] is None


def test_errors_are_not_zeros_in_the_heatmap(run_a: Path) -> None:
    (group,) = collect([run_a]).groups
    fig = heatmap_figure(group)
    z = fig.data[0].z
    assert len(z) == 3 and all(len(row) == 3 for row in z)
    assert list(fig.data[0].x) == ["1K", "2K", "4K"]
    assert list(fig.data[0].y) == ["0%", "50%", "100%"]
    assert fig.layout.yaxis.autorange == "reversed"  # depth 0 on top
    assert (fig.layout.coloraxis.cmin, fig.data[0].zmin, fig.data[0].zmax) == (None, 0, 1)
    assert z[2][1] is None  # 2000 @ 100: errors only
    assert z[2][2] is None  # 4000 @ 100: over the window only
    assert z[1][2] == 0.0  # 4000 @ 50: genuinely wrong
    marks = fig.data[1].text
    assert marks[2][1] == "ERR" and marks[2][2] == "LEN" and marks[0][0] == ""
    assert "2 errors, 2 over window excluded" in fig.layout.title.text
    assert "n=14" in fig.layout.title.text


def test_retried_error_then_ok_counts_once_and_costs_both(tmp_path: Path) -> None:
    # a failed attempt that was billed anyway
    err = make_record("m", "single", 1000, 50.0, status="error", error="HTTP 503", cost_usd=0.5)
    ok = make_record("m", "single", 1000, 50.0, score=1.0, cost=0.25)
    run = write_run(tmp_path / "r", [err, ok], model="m")
    generate_reports([run], tmp_path / "out", png=False)
    e = _entry(_load_lb(tmp_path / "out"), "m")
    assert (e["n_cells"], e["n_ok"], e["n_error"]) == (1, 1, 0)
    assert e["recall"]["mean"] == 1.0
    assert e["cost_usd"] == pytest.approx(0.75)
    assert e["n_attempt_records"] == 2


def test_unknown_price_marks_cost_incomplete(tmp_path: Path) -> None:
    rec = make_record("m", "single", 1000, 50.0, cost=None)
    run = write_run(tmp_path / "r", [rec], model="m")
    generate_reports([run], tmp_path / "out", png=False)
    e = _entry(_load_lb(tmp_path / "out"), "m")
    assert (e["cost_usd"], e["cost_complete"]) == (0.0, False)


def test_no_needle_hallucination_rate(tmp_path: Path) -> None:
    recs = [
        make_record("m", "no_needle", 1000, 50.0, seed=s, score=0.0 if s < 3 else 1.0, hallucinated=s < 3)
        for s in range(10)
    ]
    run = write_run(tmp_path / "r", recs, model="m", tasks=("no_needle",))
    generate_reports([run], tmp_path / "out", png=False)
    e = _entry(_load_lb(tmp_path / "out"), "m", "no_needle")
    low, high = wilson_interval(3, 10)
    assert e["hallucination_rate"] == {
        "mean": 0.3,
        "ci_low": round(low, 6),
        "ci_high": round(high, 6),
        "n": 10,
        "interval": "wilson",
    }
    assert e["hallucination_rate"]["ci_low"] == pytest.approx(0.1078, abs=1e-4)


def test_corrupt_and_torn_lines_are_skipped_with_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = [make_record("m", "single", 1000, d) for d in DEPTHS]
    run = write_run(
        tmp_path / "r",
        good,
        model="m",
        extra_lines=["{not json", json.dumps({"cell_id": "x"})],
        torn_tail='{"cell_id": "abc", "mod',
    )
    with caplog.at_level(logging.WARNING, logger="evals.reporting"):
        generate_reports([run], tmp_path / "out", png=False)
    results = run / "results.jsonl"
    messages = [r.getMessage() for r in caplog.records]
    assert f"{results}: line 4: corrupt JSON (a write torn by a crash?), skipped" in messages
    assert f"{results}: line 5: model: Field required, skipped" in messages
    assert f"{results}: line 6: torn last line (interrupted write), skipped" in messages
    lb = _load_lb(tmp_path / "out")
    assert _entry(lb, "m")["n_ok"] == 3
    assert lb["runs"][0]["n_skipped_lines"] == 3
    dashboard = (tmp_path / "out" / "dashboard.html").read_text(encoding="utf-8")
    assert "line 6: torn last line" in dashboard


def test_empty_run_dir_warns_and_others_render(
    run_a: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with caplog.at_level(logging.WARNING, logger="evals.reporting"):
        written = generate_reports([empty, run_a], tmp_path / "out", png=False)
    assert any(
        str(empty) in r.getMessage() and "empty run directory" in r.getMessage() for r in caplog.records
    )
    assert (tmp_path / "out" / "dashboard.html") in written
    lb = _load_lb(tmp_path / "out")
    assert [e["model"] for e in lb["entries"]] == ["alpha"]
    assert {r["run"]: r["n_records"] for r in lb["runs"]} == {"empty": 0, "runA": 18}


def test_nothing_to_report_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    header_only = write_run(tmp_path / "h", [], model="m")
    with pytest.raises(ReportError, match="nothing to report"):
        generate_reports([empty, header_only], tmp_path / "out", png=False)
    assert not (tmp_path / "out").exists()


def test_several_runs_need_an_out_dir(run_a: Path, tmp_path: Path) -> None:
    other = grid_run(tmp_path / "runB", "beta", LENGTHS, DEPTHS)
    with pytest.raises(ReportError, match="--out"):
        generate_reports([run_a, other])


def test_missing_run_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not found"):
        generate_reports([tmp_path / "nope"], tmp_path / "out")


def test_bad_threshold_is_an_error(run_a: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="threshold"):
        generate_reports([run_a], tmp_path / "out", threshold=1.5)


def test_different_grids_each_keep_their_own(
    run_a: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_b = grid_run(tmp_path / "runB", "beta", (1000, 2000, 8000, 16000), (0.0, 25.0, 50.0, 75.0, 100.0))
    with caplog.at_level(logging.WARNING, logger="evals.reporting"):
        written = generate_reports([run_a, run_b], tmp_path / "out", png=False)
    note = (
        "grids differ for task single (alpha 3 lengths × 3 depths, beta 4 lengths × 5 depths): each heatmap "
        "keeps its own grid; side-by-side comparisons use the common cells"
    )
    assert [r.getMessage() for r in caplog.records] == [note]
    assert note in (tmp_path / "out" / "dashboard.html").read_text(encoding="utf-8")
    lb = _load_lb(tmp_path / "out")
    assert _entry(lb, "beta")["grid"]["lengths"] == [1000, 2000, 8000, 16000]
    assert _entry(lb, "alpha")["grid"]["lengths"] == [1000, 2000, 4000]
    data = collect([run_a, run_b])
    dims = {
        g.model: (len(heatmap_figure(g).data[0].z), len(heatmap_figure(g).data[0].z[0])) for g in data.groups
    }
    assert dims == {"alpha": (3, 3), "beta": (5, 4)}
    assert {p.name for p in written} >= {"heatmap_alpha_single.html", "heatmap_beta_single.html"}


def test_results_dir_of_runs_expands(run_a: Path, tmp_path: Path) -> None:
    grid_run(tmp_path / "runB", "beta", LENGTHS, DEPTHS)
    generate_reports([tmp_path], tmp_path / "out", png=False)
    assert [e["model"] for e in _load_lb(tmp_path / "out")["entries"]] == ["alpha", "beta"]


def test_same_cell_in_two_runs_is_counted_once(tmp_path: Path) -> None:
    first = write_run(tmp_path / "r1", [make_record("m", "single", 1000, 0.0, score=0.0)], model="m")
    second = write_run(tmp_path / "r2", [make_record("m", "single", 1000, 0.0, score=1.0)], model="m")
    generate_reports([first, second], tmp_path / "out", png=False)
    e = _entry(_load_lb(tmp_path / "out"), "m")
    assert (e["n_cells"], e["recall"]["mean"]) == (1, 1.0)  # the later run wins
    assert [r["run"] for r in e["runs"]] == ["r1", "r2"]


def test_reports_are_deterministic_and_never_touch_results(run_a: Path, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in run_a.iterdir()}
    generate_reports([run_a], tmp_path / "o1", png=False)
    generate_reports([run_a], tmp_path / "o2", png=False)
    assert (tmp_path / "o1" / "leaderboard.json").read_bytes() == (
        tmp_path / "o2" / "leaderboard.json"
    ).read_bytes()
    assert (tmp_path / "o1" / "dashboard.html").read_bytes() == (
        tmp_path / "o2" / "dashboard.html"
    ).read_bytes()
    assert {p.name: p.read_bytes() for p in run_a.iterdir()} == before
    assert not list((tmp_path / "o1").glob(".*"))  # no temporary files left behind


def test_answers_are_escaped_in_every_html(tmp_path: Path) -> None:
    evil = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
    recs = [make_record("<b>m</b>", "single", 1000, 0.0, score=0.0, answer=evil)]
    run = write_run(tmp_path / "r", recs, model="m")
    written = generate_reports([run], tmp_path / "out", png=False)
    for path in (p for p in written if p.suffix == ".html"):
        text = path.read_text(encoding="utf-8")
        assert "<script>window.__xss" not in text
        assert "<img src=x" not in text
        assert "<b>m</b>" not in text
    dashboard = (tmp_path / "out" / "dashboard.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;m&lt;/b&gt;" in dashboard  # the model name, escaped by the template


def test_png_failure_is_a_note_not_a_crash(
    run_a: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("kaleido")
    import plotly.io as pio

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no Chrome here\nsecond line")

    monkeypatch.setattr(pio, "write_images", boom)
    with caplog.at_level(logging.WARNING, logger="evals.reporting"):
        written = generate_reports([run_a], tmp_path / "out", png=True)
    notes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("PNG skipped:")]
    assert notes == [
        "PNG skipped: RuntimeError: no Chrome here (kaleido needs Chrome/Chromium; set BROWSER_PATH); "
        "the HTML heatmaps are complete"
    ]
    assert not any(p.suffix == ".png" for p in written)
    assert not list((tmp_path / "out").glob("*.png")) and not list((tmp_path / "out").glob(".*"))
    assert "PNG skipped" in (tmp_path / "out" / "dashboard.html").read_text(encoding="utf-8")


def test_png_without_kaleido_is_a_note(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "kaleido":
            raise ImportError("no kaleido")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    note = write_pngs([object()], [tmp_path / "x.png"])
    assert note is not None and note.startswith("PNG skipped: kaleido is not installed")


def test_bad_header_and_bad_fields_are_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = make_record("m", "single", 1000, 0.0)
    bad_model = {**make_record("m", "single", 2000, 0.0).to_json(), "model": None}
    bad_depth = {**make_record("m", "single", 1000, 0.0).to_json(), "depth": 150.0}
    bad_score = {**make_record("m", "single", 4000, 0.0).to_json(), "score": 2.0}
    run = write_run(tmp_path / "r", [good, bad_model, bad_depth, bad_score], model="m")
    (run / "header.json").write_text("{oops", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="evals.reporting"):
        generate_reports([run], tmp_path / "out", png=False)
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "header.json" in messages and "run identity unknown" in messages
    assert "line 2: model: Input should be a valid string, skipped" in messages
    assert "line 3: depth: Value error, bad depth 150.0, skipped" in messages
    assert "line 4: record: Value error, ok record with bad score 2.0, skipped" in messages
    lb = _load_lb(tmp_path / "out")
    assert lb["runs"][0]["header_found"] is False and lb["runs"][0]["n_skipped_lines"] == 3
    assert _entry(lb, "m")["n_cells"] == 1


def test_hover_shows_the_scored_part_of_the_answer(tmp_path: Path) -> None:
    rec = make_record("m", "single", 1000, 0.0, score=0.0, answer="123\nrambling on", scored_answer="123")
    run = write_run(tmp_path / "r", [rec], model="m")
    (group,) = collect([run]).groups
    fig = heatmap_figure(group)
    cell = fig.data[0].customdata[0][0]
    assert cell["answer"] == "123"
    assert cell["expected"] == "4729183"
    # The hover reads named fields, never positions shared with the page's script.
    assert "%{customdata.answer}" in fig.data[0].hovertemplate
    assert "customdata[" not in fig.data[0].hovertemplate
