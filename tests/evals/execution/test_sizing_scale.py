"""Sizing that scales for count-API models (Claude, Gemini): fewer count calls than cells, exact lengths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.run import main
from haystacks.tokenizers import get_tokenizer
from providers.fakes.server import MockServer
from tests.evals.execution.test_run_mock import ANTHROPIC_ENTRY, perfect_model, read_records


def test_count_calls_fewer_than_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer(answer=perfect_model) as srv:
        _register(srv, tmp_path, monkeypatch)
        out = tmp_path / "run"
        cmd = ["--model", "mock-claude", "--lengths", "8000,32000,128000", "--depths", "0,25,50,75,100"]
        assert main([*cmd, "--out", str(out), "--no-report"]) == 0
        recs = read_records(out / "results.jsonl")
        assert len(recs) == 15 and all(r["status"] == "ok" for r in recs)
        counts = srv.api_requests("anthropic-count")
        sent = sum(_size(r.body) for r in srv.api_requests("anthropic"))
        counted = sum(_size(r.body) for r in counts)
        print(f"count calls {len(counts)}, count bytes {counted}, generation bytes {sent}")
        print(sorted((r["prompt_tokens"], r["target_tokens"]) for r in recs))
        assert len(counts) < 15
        assert all(r["prompt_tokens"] == r["target_tokens"] for r in recs)
        assert counted <= sent / 2


def _register(srv: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``mock-claude`` (a count-API model, 200K window) served by ``srv``."""
    reg = tmp_path / "models.toml"
    reg.write_text(ANTHROPIC_ENTRY.format(url=srv.url).replace("100000", "200000"))
    monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
    monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")


def _size(body: object) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode())


def test_with_a_real_bpe_off_cells_are_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mock server counting with o200k: a real BPE, whose counts do not always add up where a needle is
    inserted ("。但" is one token). The shared sizing predicts the sum; the generation's own count says
    otherwise for some cells, and those records say so rather than claiming an exact length."""
    o200k = get_tokenizer("o200k_base")
    with MockServer(answer=perfect_model, tokenizer=o200k.count) as srv:
        _register(srv, tmp_path, monkeypatch)
        out = tmp_path / "run"
        grid = ["--lengths", "2000,8000", "--depths", "0:100:10", "--seeds", "0,1", "--language", "en"]
        assert main(["--model", "mock-claude", *grid, "--out", str(out), "--no-report"]) == 0
        recs = read_records(out / "results.jsonl")
        off = [r for r in recs if r["prompt_tokens"] != r["target_tokens"]]
        assert len(recs) == 40 and 0 < len(off) <= len(recs) // 2
        for r in recs:
            assert (
                r["prompt_tokens_source"] == "provider" and abs(r["prompt_tokens"] - r["target_tokens"]) <= 3
            )
            if r in off:
                counted, planned = r["prompt_tokens"], r["target_tokens"]
                note = f"the provider counted {counted} prompt tokens, {planned} were planned"
                assert r["tokens_exact"] is False and r["tokens_note"] == note
            else:
                assert r["tokens_exact"] is True
        counts = srv.api_requests("anthropic-count")
        assert len(counts) < len(recs) // 2
        sent = sum(_size(r.body) for r in srv.api_requests("anthropic"))
        assert sum(_size(r.body) for r in counts) <= sent / 2


def test_frame_falls_back_to_the_count_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first frame generation is refused (a 400, as a thinking model refusing ``max_tokens=1``): that
    question's frame is taken from the count endpoint instead, the header says so, and the cells are exact
    (the mock's count and generation endpoints agree)."""
    with MockServer(answer=perfect_model, script=["400"], fault_apis={"anthropic"}) as srv:
        _register(srv, tmp_path, monkeypatch)
        out = tmp_path / "run"
        cmd = ["--model", "mock-claude", "--lengths", "4000,16000", "--depths", "0,50,100"]
        assert main([*cmd, "--out", str(out), "--no-report"]) == 0
        recs = read_records(out / "results.jsonl")
        assert len(recs) == 6 and all(r["status"] == "ok" for r in recs)
        assert all(r["prompt_tokens"] == r["target_tokens"] and r["tokens_exact"] for r in recs)
        header = json.loads((out / "header.json").read_text())
        assert header["count_api_frame"] == "count" and header["exact_fit"] == "count-api"
        assert srv.fault_counts["400"] == 1
