"""Prompt caching that pays (Anthropic): the user message is split into a cacheable prefix (instructions and
filler up to a ladder rung before the first needle, with ``cache_control``) and the rest; no breakpoint when
the prefix is under the minimum cacheable length. The mock bills cache writes and reads as the API does."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.run import main
from haystacks.builder import CellSpec, build_haystack
from haystacks.corpus import load_corpus
from haystacks.prompts import render_prompt
from haystacks.tokenizers import get_tokenizer
from providers.fakes.server import MockServer
from tests.evals.test_run_mock import ANTHROPIC_ENTRY, perfect_model, read_records


def test_prompt_exposes_the_needle_boundary() -> None:
    hay = build_haystack(CellSpec(length=3000, depth=50, seed=0), get_tokenizer("cl100k_base"), load_corpus())
    p = render_prompt(hay)
    assert p.cache_split is not None
    assert p.user[p.cache_split :].startswith(hay.needles[0].text)
    assert hay.needles[0].text not in p.user[: p.cache_split]


def test_anthropic_breakpoint_before_the_needle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ANTHROPIC_ENTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        out = tmp_path / "run"
        cmd = ["--model", "mock-claude", "--lengths", "1500,6000,9000", "--depths", "0,50,100"]
        assert main([*cmd, "--out", str(out), "--no-report", "--concurrency", "1"]) == 0
        recs = read_records(out / "results.jsonl")
        assert len(recs) == 9 and all(r["status"] == "ok" and r["score"] == 1.0 for r in recs)
        bodies = [r.body for r in srv.api_requests("anthropic") if r.body and r.body["max_tokens"] > 1]
        assert len(bodies) == 9
        split = short = 0
        for body in bodies:
            (msg,) = [m for m in body["messages"] if m["role"] == "user"]
            blocks = msg["content"]
            text = "".join(b["text"] for b in blocks)
            needle_at = min(text.find(n) for n in _needles(recs, text))
            if len(blocks) == 2:
                split += 1
                head, rest = blocks
                assert head["cache_control"] == {"type": "ephemeral"} and "cache_control" not in rest
                assert len(head["text"]) <= needle_at and head["text"].endswith("\n")
            else:
                short += 1
                assert "cache_control" not in blocks[0]  # too short to cache: no breakpoint at all
                assert len(text[:needle_at]) < 2048 * 2
        assert split >= 4 and short >= 3
        # later prompts of the grid read the prefixes the first ones wrote
        assert sum(r["usage"]["cached_input_tokens"] or 0 for r in recs) > 0
        assert sum(r["usage"]["cache_write_tokens"] or 0 for r in recs) > 0


def _needles(recs: list[dict], text: str) -> list[str]:
    found = [n["text"] for r in recs for n in r["needles"] if n["text"] in text]
    assert found
    return found
