"""The leaderboard carries seed-clustered intervals (rule of three when every answer agrees), paired
comparisons of two models on their shared cells with ``--repeats`` guidance, and how each grid was sampled.
Numbers hand-computed in the comments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.reporting.dashboard import generate_reports
from evals.reporting.data import icc_oneway
from evals.stats import seeds_needed
from tests.evals.reporting.conftest import make_record, write_run

WRONG_B = {(2000, 0.0, 0), (2000, 100.0, 0), (2000, 0.0, 1)}


def _two_models(tmp_path: Path) -> dict[str, Any]:
    cells = [(length, d, s) for length in (1000, 2000) for d in (0.0, 100.0) for s in (0, 1)]
    a = [make_record("a", "single", length, d, seed=s) for length, d, s in cells]
    b = [
        make_record("b", "single", length, d, seed=s, score=0.0 if (length, d, s) in WRONG_B else 1.0)
        for length, d, s in cells
    ]
    ra = write_run(tmp_path / "ra", a, model="a")
    rb = write_run(tmp_path / "rb", b, model="b")
    generate_reports([ra, rb], tmp_path / "out", png=False)
    return json.loads((tmp_path / "out" / "leaderboard.json").read_text(encoding="utf-8"))


def test_clustered_recall_and_rule_of_three_in_the_leaderboard(tmp_path: Path) -> None:
    lb = _two_models(tmp_path)
    ea, eb = lb["entries"]
    # a: 8 of 8 right: rule of three, [1 - 3/8, 1]
    assert ea["recall"] | {} == {
        "mean": 1.0,
        "ci_low": 0.625,
        "ci_high": 1.0,
        "n": 8,
        "se": 0.0,
        "n_clusters": 2,
        "interval": "rule_of_three",
        "design_effect": None,
    }
    # b at 2000: seed 0 (0, 0), seed 1 (0, 1): mean 0.25; residual sums -0.5, +0.5: CR1 se
    # sqrt(2 * 0.5) / 4 = 0.25 = the independent floor sqrt(.25 * .75 / 4) = 0.216506 -> se 0.25,
    # 0.25 +- 0.48999 -> [0, 0.73999].
    b2000 = {x["length"]: x for x in eb["by_length"]}[2000]
    assert (b2000["recall"], b2000["se"], b2000["ci_low"], b2000["ci_high"]) == (0.25, 0.25, 0.0, 0.739991)
    assert (b2000["interval"], b2000["n_clusters"]) == ("clustered", 2)
    b1000 = {x["length"]: x for x in eb["by_length"]}[1000]
    assert (b1000["ci_low"], b1000["ci_high"], b1000["interval"]) == (0.25, 1.0, "rule_of_three")
    # the depth curve's bands read these slices
    assert all("interval" in x and "se" in x for x in eb["by_depth"])
    # effective length at 0.85: b's 1000 passes (1.0), 2000 fails; its range comes from the clustered bounds
    eff = eb["effective_context_length"]
    assert (eff["value"], eff["ci_low_value"], eff["ci_high_value"]) == (1000, None, 1000)
    assert lb["interval"] == "clustered" and lb["schema"] == "niah-leaderboard/3"
    # every grid here was run in full
    assert ea["sampling"] == {"method": "full"}


def test_paired_comparison_on_shared_cells(tmp_path: Path) -> None:
    lb = _two_models(tmp_path)
    (c,) = lb["comparisons"]
    assert (c["task"], c["model_a"], c["model_b"]) == ("single", "a", "b")
    # d = a - b: seed 0 (0, 0, 1, 1), seed 1 (0, 0, 1, 0): mean 3/8; sd^2 = 1.875 / 7, se_iid
    # = sqrt(0.267857 / 8) = 0.182981 > CR1 (residual sums +-0.5: sqrt(2 * 0.5) / 8 = 0.125);
    # 0.375 +- 1.959964 * 0.182981 = [0.016364, 0.733636].
    d = c["recall_diff"]
    assert (d["diff"], d["se"], d["n"], d["n_clusters"], d["interval"]) == (
        0.375,
        0.182981,
        8,
        2,
        "clustered",
    )
    assert (d["ci_low"], d["ci_high"]) == (
        pytest.approx(0.016364, abs=2e-6),
        pytest.approx(0.733636, abs=2e-6),
    )
    by_length = {x["length"]: x for x in c["by_length"]}
    # at 1000 both are right everywhere: difference 0 +- 3/4 (rule of three)
    assert (by_length[1000]["diff"], by_length[1000]["ci_low"], by_length[1000]["ci_high"]) == (
        0.0,
        -0.75,
        0.75,
    )
    assert by_length[1000]["interval"] == "rule_of_three"
    assert by_length[2000]["diff"] == 0.75
    # --repeats guidance from the measured spread of d and its within-seed correlation, 4 cells per seed
    r = c["repeats"]
    assert r["cells_per_seed"] == 4 and r["seeds_now"] == 2
    diffs = [0, 0, 1, 1, 0, 0, 1, 0]
    icc = icc_oneway(diffs, [0, 0, 0, 0, 1, 1, 1, 1])
    assert r["icc"] == round(icc, 6)
    sd = (1.875 / 7) ** 0.5
    assert r["sd"] == round(sd, 6)
    expected = [seeds_needed(x, sd=sd, cells_per_seed=4, icc=icc) for x in (0.05, 0.10, 0.20)]
    assert [x["seeds"] for x in r["seeds"]] == expected
    assert expected[0] > expected[1] > expected[2] >= 1
    dashboard = (tmp_path / "out" / "dashboard.html").read_text(encoding="utf-8")
    assert "comparisons-table" in dashboard and "+0.375" in dashboard


def test_icc_oneway_hand_computed() -> None:
    # two clusters of two: (1, 1) and (0, 0): all variance between clusters -> 1
    assert icc_oneway([1, 1, 0, 0], ["a", "a", "b", "b"]) == 1.0
    # (1, 0) and (1, 0): none between -> clamped to 0
    assert icc_oneway([1, 0, 1, 0], ["a", "a", "b", "b"]) == 0.0
    assert icc_oneway([1, 0], ["a", "a"]) == 0.0
