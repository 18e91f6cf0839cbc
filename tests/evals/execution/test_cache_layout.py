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
from tests.evals.execution.test_run_mock import perfect_model, read_records


def test_prompt_exposes_the_needle_boundary() -> None:
    hay = build_haystack(CellSpec(length=3000, depth=50, seed=0), get_tokenizer("cl100k_base"), load_corpus())
    p = render_prompt(hay)
    assert p.cache_split is not None
    assert p.user[p.cache_split :].startswith(hay.needles[0].text)
    assert hay.needles[0].text not in p.user[: p.cache_split]


def test_anthropic_layout_exact_splits_and_bill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Needle position ascending; each cell reads the prefix the cell before it wrote and writes one at its
    own needle; no write where nobody reads (depth 100: its prefix is cut to its length; the last cell) or
    under the minimum; the fake bills read = the longest cached breakpoint prefix, write = the rest to the
    last breakpoint, so each increment of the prefix is written once."""
    from providers.fakes.harness import count_tokens
    from tests.evals.planning.test_cache_estimate import ENTRY

    with MockServer(answer=perfect_model) as srv:
        reg = tmp_path / "models.toml"
        reg.write_text(ENTRY.format(url=srv.url))
        monkeypatch.setenv("NIAH_MODELS_FILE", str(reg))
        monkeypatch.setenv("MOCK_ANTHROPIC_KEY", "test-key-123456")
        out = tmp_path / "run"
        cmd = ["--model", "mock-claude", "--lengths", "3000,6000,9000", "--depths", "0,50,100"]
        assert main([*cmd, "--out", str(out), "--no-report", "--concurrency", "1"]) == 0
        recs = read_records(out / "results.jsonl")
        bodies = [r.body for r in srv.api_requests("anthropic") if r.body and r.body["max_tokens"] > 1]
    assert [(r["length"], r["depth"]) for r in recs] == [
        (3000, 0.0), (6000, 0.0), (9000, 0.0), (3000, 50.0), (3000, 100.0),
        (6000, 50.0), (9000, 50.0), (6000, 100.0), (9000, 100.0),
    ]  # fmt: skip
    cuts: list[list[int]] = []  # breakpoint prefixes in the fake's tokens
    needle_at: list[int] = []  # tokens before the cell's needle
    for rec, body in zip(recs, bodies, strict=True):
        (msg,) = body["messages"]
        text = "".join(b["text"] for b in msg["content"])
        ends, pos = [], 0
        for block in msg["content"]:
            pos += len(block["text"])
            if "cache_control" in block:
                assert block["cache_control"] == {"type": "ephemeral"}
                ends.append(count_tokens(text[:pos]))
        cuts.append(ends)
        needle_at.append(count_tokens(text[: text.find(rec["needles"][0]["text"])]))
    a, b = needle_at[5], needle_at[6]  # 6000 at 50 % and 9000 at 50 %: the two writers
    assert 1024 <= a < b
    assert cuts == [[], [], [], [], [], [a], [a, b], [a, b], [a, b]]
    billed = [(r["usage"]["cached_input_tokens"], r["usage"]["cache_write_tokens"]) for r in recs]
    assert billed == [(0, 0)] * 5 + [(0, a), (a, b - a), (b, 0), (b, 0)]
    assert sum(w for _, w in billed) == b  # each increment written once


def _needles(recs: list[dict], text: str) -> list[str]:
    found = [n["text"] for r in recs for n in r["needles"] if n["text"] in text]
    assert found
    return found


def test_sizer_repeats_an_earlier_breakpoint_only_over_the_same_text() -> None:
    """The read breakpoint goes where the earlier cell put its own, when this prompt has the same text up to
    it (by hash); a prefix that differs (e.g. a context cut to its own length) gets none."""
    from types import SimpleNamespace

    from evals.execution.sizing import Sizer, _digest
    from evals.planning.grid import Cell
    from providers.entry import ModelInfo

    info = ModelInfo(
        alias="c", provider="anthropic", model_id="m", context_window=10**6, tokenizer="cl100k_base"
    )
    tok = get_tokenizer("cl100k_base")
    sizer = Sizer(None, SimpleNamespace(info=info), tok, True)  # type: ignore[arg-type]
    corpus = load_corpus()
    cells = [Cell("c", "single", "zh", n, 50.0, 0) for n in (6000, 9000)]
    hays = [build_haystack(CellSpec(length=c.length, depth=50, seed=0), tok, corpus) for c in cells]
    prompts = [render_prompt(h) for h in hays]
    sizer.plan_cache(cells, 1)
    first, last = (sizer.cache_slots[c.cell_id] for c in cells)
    assert first.write and not first.reads and not last.write and last.reads == (cells[0].cell_id,)
    split = prompts[0].cache_split
    assert split is not None
    assert sizer.cache_breakpoints(cells[0], prompts[0], hays[0]) == (split,)
    sizer.cache_marks[cells[0].cell_id] = (split, _digest(prompts[0].user[:split]))
    assert sizer.cache_breakpoints(cells[1], prompts[1], hays[1]) == (split,)
    assert prompts[1].user[:split] == prompts[0].user[:split]
    sizer.cache_marks[cells[0].cell_id] = (split, _digest(prompts[0].user[: split - 1] + "x"))
    assert sizer.cache_breakpoints(cells[1], prompts[1], hays[1]) == ()
