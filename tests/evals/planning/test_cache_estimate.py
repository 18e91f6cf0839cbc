"""The cached cost estimate against the mock's Anthropic billing: breakpoints on the ladder rung, a write the
first time a rung prefix is sent, reads after, nothing under the minimum cacheable length, entries that
expire. The estimate is an upper bound (see ``evals.planning.cost.vendor_cache_tokens``); these tests hold it
to the mock's bill: never below it, and within a few percent of it."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import providers.doors.anthropic as anthropic_door
from evals.planning.cost import estimate_cost, vendor_cache_tokens
from evals.planning.grid import Cell, order_cells
from evals.run import main
from providers.door import NO_CACHE
from providers.doors.gemini import CACHE as GEMINI_CACHE
from providers.doors.openai import CACHE as OPENAI_CACHE
from providers.entry import ModelInfo, Prices
from providers.fakes.server import MockServer
from tests.evals.execution.test_run_mock import ANTHROPIC_ENTRY, perfect_model, read_records

#: mock-claude with Anthropic's cache prices (write 1.25x input, read 0.1x input).
ENTRY = ANTHROPIC_ENTRY.replace("output = 15.0\n", "output = 15.0\ncached_input = 0.3\ncache_write = 3.75\n")
PRICES = Prices(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75)
CLAUDE = ModelInfo(
    alias="mock-claude", provider="anthropic", model_id="m", context_window=10**6, tokenizer="x"
)
GPT = ModelInfo(alias="mock-gpt", provider="openai", model_id="m", context_window=10**6, tokenizer="x")
#: How far above the mock's bill the estimate may be (its bounds on breakpoint sizes and answer lengths).
MARGIN = 0.10


def _run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, srv: MockServer, lengths: str, depths: str
) -> list[Any]:
    reg = tmp_path / "models.toml"
    reg.write_text(ENTRY.format(url=srv.url))
    monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
    monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
    out = tmp_path / "run"
    cmd = ["--model", "mock-claude", "--lengths", lengths, "--depths", depths, "--task", "single"]
    assert main([*cmd, "--out", str(out), "--no-report", "--concurrency", "1"]) == 0
    recs = read_records(out / "results.jsonl")
    assert recs and all(r["status"] == "ok" for r in recs)
    return recs


def _cells(recs: list[dict[str, Any]]) -> list[Cell]:
    """The run's cells in the runner's order (records are written in completion order)."""
    cells = [
        Cell(
            r["model"],
            r["task"],
            r["language"],
            r["length"],
            r["depth"],
            r["seed"],
            r["kind"],
            r["max_tokens"],
        )
        for r in recs
    ]
    return order_cells(cells, "shared", rules=anthropic_door.CACHE)


def _billed(recs: list[dict[str, Any]]) -> tuple[float, int, int]:
    cost = sum(r["cost_usd"] for r in recs)
    read = sum(r["usage"]["cached_input_tokens"] or 0 for r in recs)
    write = sum(r["usage"]["cache_write_tokens"] or 0 for r in recs)
    return cost, read, write


def test_estimate_bounds_the_mocks_cache_billing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer(answer=perfect_model) as srv:
        recs = _run(tmp_path, monkeypatch, srv, "11000,22000", "0,50,100")
    assert len(recs) == 6
    cost, read, write = _billed(recs)
    cells = _cells(recs)
    est = estimate_cost(cells, PRICES, info=CLAUDE)
    print(
        f"billed ${cost:.6f} (read {read}, write {write}); estimated ${est.cost_cached_usd:.6f} "
        f"(read {est.cached_tokens}, write {est.cache_write_tokens}); no cache ${est.cost_usd:.6f}"
    )
    # the cells the layout says read and write do so, reading at least and writing at most the estimate
    per_cell = vendor_cache_tokens(cells, anthropic_door.CACHE)
    assert per_cell is not None
    billed = {
        (r["length"], r["depth"]): (
            r["usage"]["cached_input_tokens"] or 0,
            r["usage"]["cache_write_tokens"] or 0,
        )
        for r in recs
    }
    for c, (r_est, w_est) in zip(cells, per_cell, strict=True):
        r_mock, w_mock = billed[(c.length, c.depth)]
        assert (r_est > 0) == (r_mock > 0) and (w_est > 0) == (w_mock > 0), c
        assert r_est <= r_mock and w_est >= w_mock, c
    assert est.cost_cached_usd is not None and est.cost_usd is not None
    assert est.cost_cached_usd < est.cost_usd  # caching pays
    assert read > 0 and write > 0
    assert est.cost_cached_usd is not None and cost <= est.cost_cached_usd <= cost * (1 + MARGIN)


def test_expired_entries_are_written_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache lifetime of zero: no read can come in time, so caching cannot pay: the layout sets no
    breakpoint, the fake bills no read and no write, and the estimate is the uncached cost."""
    no_long = dataclasses.replace(anthropic_door.CACHE, ttl_s=0.0, long_ttl_s=None)
    monkeypatch.setattr(anthropic_door, "CACHE", no_long)
    with MockServer(answer=perfect_model, cache_ttl_s=0.0) as srv:
        recs = _run(tmp_path, monkeypatch, srv, "11000,22000", "0,50,100")
    cost, read, write = _billed(recs)
    est = estimate_cost(_cells(recs), PRICES, info=CLAUDE)
    assert read == write == 0 and est.cached_tokens == est.cache_write_tokens == est.breakpoints == 0
    assert est.cost_cached_usd == est.cost_usd and cost <= est.cost_usd


def test_one_hour_entries_where_five_minutes_are_too_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads that come too late for the 5-minute lifetime (here zero) but within the hour: the layout asks
    for 1-hour entries (cheaper than none), the fake bills their writes as such, and the estimate, pricing
    them at twice the input price, bounds the bill."""
    monkeypatch.setattr(anthropic_door, "CACHE", dataclasses.replace(anthropic_door.CACHE, ttl_s=0.0))
    with MockServer(answer=perfect_model, cache_ttl_s=0.0) as srv:
        recs = _run(tmp_path, monkeypatch, srv, "11000,22000", "0,50,100")
        bodies = [r.body for r in srv.api_requests("anthropic") if r.body and r.body["max_tokens"] > 1]
    marks = [
        b["cache_control"] for body in bodies for b in body["messages"][0]["content"] if "cache_control" in b
    ]
    assert marks and all(m == {"type": "ephemeral", "ttl": "1h"} for m in marks)
    cost, read, write = _billed(recs)
    assert read > 0 and write > 0
    assert sum(r["usage"]["cache_write_1h_tokens"] or 0 for r in recs) == write
    est = estimate_cost(_cells(recs), PRICES, info=CLAUDE)
    assert est.long_ttl and est.cost_cached_usd is not None and est.cost_usd is not None
    assert cost <= est.cost_cached_usd <= cost * (1 + MARGIN) and est.cost_cached_usd < est.cost_usd


def test_under_the_minimum_no_breakpoint_and_no_cache_billing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prompts whose text before the needle is under the first rung: no breakpoint is sent, nothing is billed
    as a cache read or write, and the estimate is the uncached cost."""
    with MockServer(answer=perfect_model) as srv:
        recs = _run(tmp_path, monkeypatch, srv, "1000", "0,50,100")
        bodies = [r.body for r in srv.api_requests("anthropic") if r.body and r.body["max_tokens"] > 1]
    assert len(bodies) == 3
    for body in bodies:
        (msg,) = body["messages"]
        assert not any("cache_control" in b for b in msg["content"])
    cost, read, write = _billed(recs)
    est = estimate_cost(_cells(recs), PRICES, info=CLAUDE)
    assert read == write == 0 and est.cached_tokens == est.cache_write_tokens == 0
    assert est.cost_cached_usd == est.cost_usd and cost <= est.cost_usd


def test_mock_neither_writes_nor_reads_a_prefix_under_its_minimum() -> None:
    """A breakpoint on a prefix under the minimum cacheable length is ignored (as the API does): sent twice,
    it is billed as plain input both times; above the minimum, written then read."""
    text = "字" * 1500

    def usage(srv: MockServer, prefix: str) -> dict[str, Any]:
        head = {"type": "text", "text": prefix, "cache_control": {"type": "ephemeral"}}
        body = {
            "model": "mock-claude",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": [head, {"type": "text", "text": "问题？"}]}],
        }
        req = urllib.request.Request(
            f"{srv.url}/v1/messages",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "k"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())["usage"]

    with MockServer(cache_min_tokens=1024) as srv:
        short = [usage(srv, text[:1000]) for _ in range(2)]
        long = [usage(srv, text) for _ in range(2)]
    assert all(u["cache_creation_input_tokens"] == u["cache_read_input_tokens"] == 0 for u in short)
    assert [u["cache_creation_input_tokens"] for u in long] == [1500, 0]
    assert [u["cache_read_input_tokens"] for u in long] == [0, 1500]


def test_dry_run_prints_the_vendor_estimate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--dry-run`` prices the same cells with the same rules (and calls nothing)."""
    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ENTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        cmd = [
            "--model",
            "mock-claude",
            "--lengths",
            "11000,22000",
            "--depths",
            "0,50,100",
            "--task",
            "single",
        ]
        assert main([*cmd, "--out", str(tmp_path / "run"), "--concurrency", "1", "--dry-run"]) == 0
        assert not srv.api_requests("anthropic")
    out = " ".join(capsys.readouterr().out.split())
    assert "anthropic rules" in out and "20,464 read" in out and "12,536 written" in out
    assert "2 of 6 cells write one at their needle" in out


def test_automatic_prefix_caching_rules() -> None:
    """OpenAI: the shared prefix less the position slack, in 128-token steps above 1024; Gemini: nothing
    under its 4096-token minimum; neither bills writes; concurrency 2 leaves no finished predecessor."""
    cells = order_cells([Cell("m", "single", "zh", n, 100.0, 0, max_tokens=10) for n in (3000, 4000)])
    assert vendor_cache_tokens(cells, OPENAI_CACHE) == [(0, 0), (2432, 0)]  # (3000 - 512) // 128 * 128
    assert vendor_cache_tokens(cells, GEMINI_CACHE) == [(0, 0), (0, 0)]
    assert vendor_cache_tokens(cells, OPENAI_CACHE, concurrency=2) == [(0, 0), (0, 0)]
    assert vendor_cache_tokens(cells, NO_CACHE) is None
    est = estimate_cost(cells, PRICES, info=GPT)
    assert est.cached_tokens == 2432 and est.cache_write_tokens == 0 and est.cache_rules == "openai"


def test_max_cost_holds_an_anthropic_grid_to_its_cached_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the breakpoints the run sets, the bill includes their write premiums, and the cached estimate is
    its upper bound: ``--max-cost`` holds the grid to that figure (here below the uncached one: the layout
    pays), and the bill stays under it."""
    from evals.config import build_config
    from evals.planning.cost import CostEstimate
    from evals.planning.prepare import budget_bound, prepare

    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ENTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        grid = {"model": "mock-claude", "lengths": "11000,22000", "depths": "0,50,100", "concurrency": 1}
        est = prepare(build_config(None, grid), tmp_path).estimate
        assert est.cost_cached_usd is not None and est.cost_usd is not None
        assert budget_bound(est) == (
            est.cost_cached_usd,
            "with the cache breakpoints it sets, an upper bound",
        )
        assert est.cost_cached_usd < est.cost_usd
        cmd = [
            "--model",
            "mock-claude",
            "--lengths",
            "11000,22000",
            "--depths",
            "0,50,100",
            "--concurrency",
            "1",
        ]
        between = tmp_path / "between"
        budget = f"{est.cost_cached_usd * 0.99:.6f}"
        assert main([*cmd, "--out", str(between), "--max-cost", budget]) == 2
        assert not between.exists()
        out = tmp_path / "run"
        budget = f"{est.cost_cached_usd * 1.001:.6f}"
        assert main([*cmd, "--out", str(out), "--no-report", "--max-cost", budget]) == 0
        recs = read_records(out / "results.jsonl")
        assert len(recs) == 6 and sum(r["cost_usd"] for r in recs) <= est.cost_cached_usd
    # automatic caching is not promised: there the uncached estimate is the bound
    auto = CostEstimate(6, 1000, 500, 32, 1.0, 0.6, cache_rules="openai")
    assert budget_bound(auto) == (1.0, "no cache assumed")


def test_layout_reads_concurrency_back_with_fallbacks_and_no_write_nobody_reads() -> None:
    """Pure layout (ascending order, concurrency 2): each cell reads the writer two places back, the writers
    before it as fallbacks (up to two), writes only where a cell two places on reads it; depth 100 (a
    context cut to its own length) never writes; the last two cells write nothing."""
    from evals.planning.cost import CacheSlot, cache_layout

    cells = order_cells(
        [Cell("m", "single", "zh", n, d, 0) for n in (20000, 40000) for d in (10.0, 50.0, 90.0, 100.0)],
        rules=anthropic_door.CACHE,
    )
    assert [(c.length, c.depth) for c in cells] == [
        (20000, 10.0), (40000, 10.0), (20000, 50.0), (20000, 90.0),
        (20000, 100.0), (40000, 50.0), (40000, 90.0), (40000, 100.0),
    ]  # fmt: skip
    ids = [c.cell_id for c in cells]
    slots = cache_layout(cells, anthropic_door.CACHE, concurrency=2)
    assert slots == [
        CacheSlot((), True, 0, 2512),
        CacheSlot((), True, 0, 4512),
        CacheSlot((ids[0],), True, 1488, 9024),
        CacheSlot((ids[1], ids[0]), True, 3488, 15024),
        CacheSlot((ids[2], ids[1], ids[0]), False, 9488, 0),  # depth 100: never a writer
        CacheSlot((ids[3], ids[2], ids[1]), True, 17488, 3024),
        CacheSlot((ids[3], ids[2], ids[1]), False, 17488, 0),  # two back is depth 100: reads the one before
        CacheSlot((ids[5], ids[3], ids[2]), False, 19488, 0),
    ]
    assert all(s.breakpoints <= 4 for s in slots)


def test_dry_run_says_when_caching_cannot_pay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ENTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        cmd = ["--model", "mock-claude", "--lengths", "1000,1500", "--depths", "0,50,100", "--dry-run"]
        assert main([*cmd, "--out", str(tmp_path / "run")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "caching cannot pay here, no breakpoints" in out


def test_batch_sets_one_hour_breakpoints_and_bills_within_its_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--batch``: the same layout with 1-hour entries; the fake answers a batch in order, so the reads the
    layout plans happen, and the bill lies between nothing read (the worst case) and the expected figure."""
    from evals.config import build_config
    from evals.planning.prepare import budget_bound, prepare

    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ENTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        grid = {"lengths": "11000,22000", "depths": "0,50,100", "concurrency": 1, "batch": True}
        est = prepare(build_config(None, {"model": "mock-claude", **grid}), tmp_path).estimate
        out = tmp_path / "run"
        cmd = ["--model", "mock-claude", "--lengths", "11000,22000", "--depths", "0,50,100"]
        cmd += ["--concurrency", "1", "--batch", "--batch-poll", "0.01", "--out", str(out), "--no-report"]
        assert main(cmd) == 0
        assert srv.batch.count("anthropic", "create") == 1
        (batch,) = srv.batch.batches.values()
        marks = [
            b["cache_control"]
            for params in batch.bodies.values()
            for b in params["messages"][0]["content"]
            if "cache_control" in b
        ]
    assert marks and all(m == {"type": "ephemeral", "ttl": "1h"} for m in marks)
    recs = read_records(out / "results.jsonl")
    cost, read, write = _billed(recs)
    assert read > 0 and write == sum(r["usage"]["cache_write_1h_tokens"] or 0 for r in recs) > 0
    assert est.long_ttl and est.cost_cached_usd is not None and est.cost_worst_usd is not None
    assert cost <= est.cost_cached_usd <= cost * (1 + MARGIN) < est.cost_worst_usd
    assert budget_bound(est)[0] == est.cost_worst_usd


def test_no_cache_in_batches_where_the_vendor_caches_none(monkeypatch: pytest.MonkeyPatch) -> None:
    cells = order_cells(
        [Cell("m", "single", "zh", n, d, 0) for n in (20000, 40000) for d in (10.0, 50.0, 90.0)],
        rules=anthropic_door.CACHE,
    )
    assert estimate_cost(cells, PRICES, info=CLAUDE, batch=True).cached_tokens > 0
    monkeypatch.setattr(anthropic_door, "CACHE", dataclasses.replace(anthropic_door.CACHE, in_batch=False))
    est = estimate_cost(cells, PRICES, info=CLAUDE, batch=True)
    assert est.cache_write_tokens == 0 and est.breakpoints == 0 and not est.explicit_cache
    assert est.cost_cached_usd == est.cost_usd
