"""The dashboard in a real headless Chromium (Debian's), driven by Playwright: loads offline with no console
errors, shows every model, draws heatmaps of the right size, and never executes text from model answers."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.reporting.dashboard import generate_reports
from tests.evals.reporting.conftest import grid_run, make_record, write_run

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EVIL_ANSWER = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
EVIL_ERROR = "<img src=y onerror=window.__xss=2>"
EVIL_MODEL = "zeta</script><script>window.__xss=3</script>"


def _chromium_or_skip() -> None:
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium; in CI this test must run)")
    if not os.environ.get("CI"):
        pytest.importorskip("playwright")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")

    def alpha(task: str, length: int, depth: float, seed: int) -> tuple[str, float | None, str]:
        if length == 8000 and depth == 100.0:
            return ("ok", 0.0, EVIL_ANSWER)
        if length == 4000 and depth == 50.0:
            return ("model_length", None, "")
        return ("ok", 1.0, "4729183")

    grid_run(root / "run-alpha", "alpha-7b", (1000, 2000, 4000, 8000), (0.0, 50.0, 100.0), outcome=alpha)
    grid_run(root / "run-beta", "beta/chat:2", (1000, 2000, 4000), (0.0, 25.0, 50.0, 75.0, 100.0))
    recs = [
        make_record("gamma", "single", 1000, 0.0, status="error", error=EVIL_ERROR),
        make_record("gamma", "single", 1000, 100.0),
    ]
    write_run(root / "run-gamma", recs, model="gamma")
    write_run(root / "run-zeta", [make_record(EVIL_MODEL, "single", 1000, 0.0)], model="zeta")
    out = root / "report"
    runs = [root / "run-alpha", root / "run-beta", root / "run-gamma", root / "run-zeta"]
    generate_reports(runs, out, png=False)
    return out


def _open(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return page, errors, requests


def test_dashboard_loads_offline_and_shows_every_model(browser: Any, report_dir: Path) -> None:
    page, errors, requests = _open(browser, report_dir / "dashboard.html")
    try:
        page.wait_for_function(
            "document.querySelectorAll('.heatmap.js-plotly-plot').length === 4", timeout=30000
        )
        page.wait_for_timeout(200)
        assert errors == []
        assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
        for model in ("alpha-7b", "beta/chat:2", "gamma", EVIL_MODEL):
            assert page.locator("#heatmaps").get_by_role("heading", name=model, exact=True).is_visible()
            assert page.locator("#leaderboard-table").get_by_text(model, exact=True).first.is_visible()
        dims = page.evaluate(
            "() => Object.fromEntries(Array.from(document.querySelectorAll('.heatmap')).map(el => ["
            "el.dataset.model, [el.data[0].z.length, el.data[0].z[0].length, el.data[0].x.length,"
            " el.data[0].y.length]]))"
        )
        assert dims == {
            "alpha-7b": [3, 4, 4, 3],
            "beta/chat:2": [5, 3, 3, 5],
            "gamma": [2, 1, 1, 2],
            EVIL_MODEL: [1, 1, 1, 1],
        }
        # Every cell with a value is drawn with its value as text (the heatmap's cell labels).
        texts = page.evaluate(
            "() => Array.from(document.querySelectorAll('[data-model=\"beta/chat:2\"] .heatmap-label text'))"
            ".map(t => t.textContent)"
        )
        assert texts == ["1.00"] * 15
        assert page.evaluate("window.__xss") is None
    finally:
        page.close()


def test_answers_and_errors_show_as_text_and_never_run(browser: Any, report_dir: Path) -> None:
    page, errors, _ = _open(browser, report_dir / "dashboard.html")
    try:
        page.wait_for_function(
            "document.querySelectorAll('.heatmap.js-plotly-plot').length === 4", timeout=30000
        )
        hm = page.locator('.heatmap[data-model="alpha-7b"]')
        hm.scroll_into_view_if_needed()
        # Hover the 8K × 100% cell, whose sample answer is the script/img payload.
        x, y = page.evaluate(
            "() => { const gd = document.querySelector('.heatmap[data-model=\"alpha-7b\"]');"
            " const r = gd.getBoundingClientRect(), s = gd._fullLayout._size;"
            " return [r.left + s.l + s.w * 3.5 / 4, r.top + s.t + s.h * 2.5 / 3]; }"
        )
        page.mouse.move(x, y)
        page.wait_for_selector('.heatmap[data-model="alpha-7b"] .hoverlayer .hovertext', timeout=10000)
        hover = page.locator('.heatmap[data-model="alpha-7b"] .hoverlayer').text_content()
        assert "8K tokens · depth 100%" in hover
        assert EVIL_ANSWER.replace(" ", "") in hover.replace(" ", "")
        assert page.locator("#errors").get_by_text(EVIL_ERROR).is_visible()
        assert page.evaluate("window.__xss") is None
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert errors == []
    finally:
        page.close()


def test_side_by_side_compares_common_cells(browser: Any, report_dir: Path) -> None:
    page, errors, _ = _open(browser, report_dir / "dashboard.html")
    try:
        page.wait_for_function("document.getElementById('cmp-plot-b').data !== undefined", timeout=30000)
        note = page.locator("#cmp-note").inner_text()
        assert "Grids differ: compared on the 9 common cells (3 lengths × 3 depths)." in note
        assert "Only alpha-7b: lengths 8K" in note
        assert "Only beta/chat:2: depths 25%, 75%" in note
        dims = page.evaluate(
            "() => ['cmp-plot-a', 'cmp-plot-b'].map(id => { const d = document.getElementById(id).data[0];"
            " return [d.z.length, d.z[0].length]; })"
        )
        assert dims == [[3, 3], [3, 3]]
        page.select_option("#cmp-b", label="gamma")
        page.wait_for_function("document.getElementById('cmp-note').textContent.includes('gamma')")
        note = page.locator("#cmp-note").inner_text()
        assert "compared on the 2 common cells (1 lengths × 2 depths)" in note
        assert "gamma: 1.00 [0.21, 1.00] n=1" in note  # gamma's other cell is an error, not a zero
        assert errors == []
    finally:
        page.close()


def test_standalone_heatmap_loads(browser: Any, report_dir: Path) -> None:
    page, errors, requests = _open(browser, report_dir / "heatmap_alpha-7b_single.html")
    try:
        page.wait_for_function("document.querySelector('.js-plotly-plot') !== null", timeout=30000)
        z = page.evaluate("document.querySelector('.js-plotly-plot').data[0].z")
        assert [len(z), len(z[0])] == [3, 4]
        assert errors == []
        assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
        assert page.evaluate("window.__xss") is None
    finally:
        page.close()


def test_png_export_renders_with_kaleido(tmp_path: Path) -> None:
    _chromium_or_skip()
    if not os.environ.get("CI"):
        pytest.importorskip("kaleido")
    run = grid_run(tmp_path / "run", "alpha", (1000, 2000), (0.0, 100.0))
    written = generate_reports([run], tmp_path / "out", png=True)
    png = tmp_path / "out" / "heatmap_alpha_single.png"
    assert png in written
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_single_model_dashboard_explains_the_comparison(browser: Any, tmp_path: Path) -> None:
    run = grid_run(tmp_path / "run", "solo", (1000, 2000), (0.0, 100.0))
    generate_reports([run], tmp_path / "out", png=False)
    page, errors, _ = _open(browser, tmp_path / "out" / "dashboard.html")
    try:
        page.wait_for_function(
            "document.querySelectorAll('.heatmap.js-plotly-plot').length === 1", timeout=30000
        )
        assert page.locator("#cmp-note").inner_text().startswith("Only one model in these runs")
        assert page.evaluate("document.getElementById('cmp-plot-a').data") is None
        assert errors == []
    finally:
        page.close()


def test_taxonomy_diff_heatmap_and_depth_curve_render(browser: Any, report_dir: Path) -> None:
    page, errors, _ = _open(browser, report_dir / "dashboard.html")
    try:
        page.wait_for_function("document.getElementById('cmp-plot-diff').data !== undefined", timeout=30000)
        page.wait_for_function("document.querySelectorAll('.depth-curve.js-plotly-plot').length === 1")
        # Outcomes per model: one table each, counts from record.outcome and status.
        assert page.locator("table.taxonomy").count() == 4
        alpha = page.locator('table.taxonomy[data-model="alpha-7b"]')
        assert alpha.locator('tr[data-category="found"] td').nth(1).inner_text() == "10"
        assert alpha.locator('tr[data-category="wrong"] td').nth(1).inner_text() == "1"
        assert alpha.locator('tr[data-category="model_length"] td').nth(1).inner_text() == "1"
        gamma = page.locator('table.taxonomy[data-model="gamma"]')
        assert gamma.locator('tr[data-category="error"] td').nth(1).inner_text() == "1"
        # Difference heatmap alpha − beta on the 3 × 3 common cells; 4K @ 50% is unscored for alpha.
        diff = page.evaluate(
            "() => { const d = document.getElementById('cmp-plot-diff').data[0];"
            " return [d.z, d.x, d.y, d.customdata[0][0]]; }"
        )
        z, xs, ys, first = diff
        assert (xs, ys) == (["1K", "2K", "4K"], ["0%", "50%", "100%"])
        assert z[1][2] is None and z[0][0] == 0
        assert first == {"a": "1.00", "b": "1.00", "na": 1, "nb": 1}
        # Depth curve: a band and a line per model.
        names = page.evaluate("() => document.querySelector('.depth-curve').data.map(t => t.name)")
        escaped = html.escape(EVIL_MODEL, quote=False)  # plotly renders legend text as HTML
        assert [n for n in names if not n.endswith("95% CI")] == ["alpha-7b", "beta/chat:2", "gamma", escaped]
        assert page.evaluate("window.__xss") is None
        assert errors == []
    finally:
        page.close()
