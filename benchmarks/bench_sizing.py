"""Benchmark (by hand, no network): what sizing a count-API model (Claude, Gemini) costs in count calls.

A model whose tokenizer is not public is sized through its provider's count endpoint. The suite learns the
filler stream's counts once and shares them across cells (``haystacks.filler_counts``), measures the prompt
around the context with one-token generations, and confirms each cell with the prompt tokens its own
generation reports. This runs the real ``evals.run`` against the local mock server speaking Anthropic's wire
format (``providers.fakes.server``) and prints, per grid and server tokenizer,

* count calls (total and per cell) and frame generations,
* sizing bytes per evaluated byte (count request bodies over generation request bodies),
* cells whose reported prompt tokens equal their target.

Server tokenizers: ``mock`` (one token per Chinese character or punctuation mark, one per other word: counts
add up wherever Chinese text is joined) and ``o200k`` (a real BPE; counts do not always add up where a needle
is inserted, so some cells come out a token or two off, and their records say so).

Usage::

    python benchmarks/bench_sizing.py [--grids 3x5,7x11] [--tokenizers mock,o200k]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.run import main as run_main
from haystacks.tokenizers import get_tokenizer
from providers.fakes.server import MockRequest, MockServer

ENTRY = """
[models."mock-claude"]
provider = "anthropic"
model_id = "mock-claude-20250101"
context_window = 2000000
tokenizer = "cl100k_base"
tokenizer_exact = false
count_api = true
mode = "chat"
key_env = "MOCK_ANTHROPIC_KEY"
base_url = "{url}"
[models."mock-claude".prices]
input = 3.0
output = 15.0
as_of = 2026-01-01
source = "benchmark"
"""


def answer(req: MockRequest) -> str:
    return " ".join(re.findall(r"(?<!\d)\d{7}(?!\d)", req.prompt)) or "none"


def _size(body: object) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode())


def lengths(n: int, lo: int = 8_000, hi: int = 128_000) -> list[int]:
    if n == 1:
        return [hi]
    return sorted({round(lo * (hi / lo) ** (i / (n - 1))) for i in range(n)})


def one(n_len: int, n_depth: int, tokenizer: str, language: str, hi: int) -> dict[str, float]:
    count = None if tokenizer == "mock" else get_tokenizer("o200k_base").count
    with tempfile.TemporaryDirectory() as tmp, MockServer(answer=answer, tokenizer=count) as srv:
        reg = Path(tmp) / "models.toml"
        reg.write_text(ENTRY.format(url=srv.url))
        os.environ["NIAH_MODELS_FILE"] = str(reg)
        os.environ["MOCK_ANTHROPIC_KEY"] = "bench-key-123456"
        out = Path(tmp) / "run"
        depths = ",".join(str(round(100 * i / max(n_depth - 1, 1))) for i in range(n_depth))
        grid = [
            "--lengths",
            ",".join(map(str, lengths(n_len, hi=hi))),
            "--depths",
            depths,
            "--language",
            language,
        ]
        code = run_main(["--model", "mock-claude", *grid, "--out", str(out), "--no-report"])
        assert code == 0, code
        recs = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
        recs = [r for r in recs if "prompt_tokens" in r]
        counts = srv.api_requests("anthropic-count")
        gens = srv.api_requests("anthropic")
        frames = [g for g in gens if g.body.get("max_tokens") == 1]
        sent = sum(_size(g.body) for g in gens if g.body.get("max_tokens") != 1)
        return {
            "cells": len(recs),
            "count_calls": len(counts),
            "frames": len(frames),
            "bytes_ratio": sum(_size(c.body) for c in counts) / sent,
            "exact": sum(r["prompt_tokens"] == r["target_tokens"] for r in recs),
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", default="3x5,7x11", help="LENGTHSxDEPTHS, comma list")
    ap.add_argument("--tokenizers", default="mock,o200k", help="the server's tokenizer: mock, o200k")
    ap.add_argument("--language", default="zh")
    ap.add_argument("--max-length", type=int, default=128_000, help="longest length (from 8K, log-spaced)")
    args = ap.parse_args(argv)
    cols = ("grid", 6), ("server", 7), ("cells", 6), ("counts", 7), ("/cell", 6), ("frames", 7), ("bytes", 7)
    print(" ".join(f"{name:>{w}}" for name, w in cols) + f" {'exact':>9}")
    for g in args.grids.split(","):
        n_len, n_depth = (int(v) for v in g.split("x"))
        for tok in args.tokenizers.split(","):
            t0 = time.perf_counter()
            r = one(n_len, n_depth, tok, args.language, args.max_length)
            print(
                f"{g:>6} {tok:>7} {r['cells']:>6} {r['count_calls']:>7} {r['count_calls'] / r['cells']:>6.2f}"
                f" {r['frames']:>7} {r['bytes_ratio']:>7.3f} {r['exact']:>4}/{r['cells']:<4}"
                f"  ({time.perf_counter() - t0:.0f} s)"
            )
    print("bytes = count request bytes / generation request bytes; frames = one-token generations")
    print(f"lengths: log-spaced 8K..{args.max_length:,}; depths: 0..100 evenly; {args.language} needles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
