"""Sizing that scales for count-API models (Claude, Gemini): fewer count calls than cells, exact lengths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.run import main
from providers.mock_server import MockServer
from tests.evals.test_run_mock import ANTHROPIC_ENTRY, perfect_model, read_records


def test_count_calls_fewer_than_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ANTHROPIC_ENTRY.format(url=srv.url).replace("100000", "200000"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
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


def _size(body: object) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode())


def test_a_cell_whose_counts_do_not_add_up_is_recorded_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """English needles end with a full stop that can merge with the next word ("6456640.Q:" is one mock
    token): the shared sizing predicts the sum, the generation's own count says otherwise, and the record
    says so rather than claiming an exact length."""
    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ANTHROPIC_ENTRY.format(url=srv.url).replace("100000", "200000"))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        out = tmp_path / "run"
        grid = ["--task", "multi", "--language", "en", "--lengths", "3000,20000", "--depths", "0,30,70"]
        assert main(["--model", "mock-claude", *grid, "--seeds", "1", "--out", str(out), "--no-report"]) == 0
        recs = read_records(out / "results.jsonl")
        off = [r for r in recs if r["prompt_tokens"] != r["target_tokens"]]
        assert off and len(off) < len(recs)
        for r in recs:
            assert r["prompt_tokens_source"] == "provider"
            if r in off:
                counted, planned = r["prompt_tokens"], r["target_tokens"]
                note = f"the provider counted {counted} prompt tokens, {planned} were planned"
                assert r["tokens_exact"] is False and r["tokens_note"] == note
            else:
                assert r["tokens_exact"] is True
        assert len(srv.api_requests("anthropic-count")) < len(recs) * 3
