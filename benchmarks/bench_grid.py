"""Benchmark: build the Gemini-style 35 x 35 grid (1K..1M tokens x 0..100 % depth) in cl100k_base.

Run by hand:  python benchmarks/bench_grid.py [--lengths 35] [--depths 35] [--spacing log|linear]

Prints, all measured in this one run:

* ``tokenize_1m``: one tiktoken pass (encode_ordinary) over the seed text repeated to >= 1M tokens;
* ``grid``: building every haystack of the grid from a cold cache (corpus statistics included), and the
  ratio grid / tokenize_1m (target: under 10);
* peak memory: the process's peak RSS, and (``--tracemalloc``, slower) the peak of Python allocations;
* a "naive" estimate: a few cells built the classic way (re-tokenize the base text, slice tokens, decode,
  insert the needle, re-encode to check), timed and extrapolated to the whole grid, as a ratio too;
* the time per cell for the shortest and the longest lengths, to show that a cell costs a copy of its
  context, not a tokenization of it.

Nothing here is a pass/fail test; it prints ratios measured in one run.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from haystacks.builder import CellSpec, build_grid
from haystacks.corpus import load_corpus
from haystacks.grids import depth_grid, length_grid
from haystacks.stream import clear_caches
from haystacks.tokenizers import get_tokenizer


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _naive_cell(
    enc: object, base_text: str, chars_per_token: float, length: int, depth: float, needle: str
) -> int:
    """The classic generator: encode enough base text, slice tokens, decode, insert, re-encode to check."""
    needle_tokens = enc.encode_ordinary(needle)  # type: ignore[attr-defined]
    tokens = enc.encode_ordinary(base_text[: int(length * chars_per_token * 1.1) + 100])  # type: ignore[attr-defined]
    ctx = tokens[: length - len(needle_tokens)]
    pos = int(len(ctx) * depth / 100)
    text = enc.decode(ctx[:pos]) + needle + enc.decode(ctx[pos:])  # type: ignore[attr-defined]
    return len(enc.encode_ordinary(text))  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, default=35, help="number of lengths (default 35)")
    ap.add_argument("--depths", type=int, default=35, help="number of depths (default 35)")
    ap.add_argument("--min-length", type=int, default=1000)
    ap.add_argument("--max-length", type=int, default=1_000_000)
    ap.add_argument("--spacing", choices=("log", "linear"), default="log", help="length spacing")
    ap.add_argument("--tokenizer", default="cl100k_base")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = ap.parse_args(argv)

    corpus = load_corpus()
    tok = get_tokenizer(args.tokenizer)
    enc = tok._enc  # type: ignore[attr-defined]

    # 1. one tokenization pass of the 1M-token base text (the unit of the ratio)
    reps = -(-args.max_length // max(1, tok.count(corpus.text))) + 1
    base_text = corpus.text * reps
    t0 = time.perf_counter()
    base_tokens = enc.encode_ordinary(base_text)
    t_tok = time.perf_counter() - t0
    print(f"base text: {len(base_text):,} chars, {len(base_tokens):,} tokens ({reps} passes of the seeds)")
    print(f"tokenize_1m: {t_tok:.3f} s  (one encode_ordinary pass)")

    # 2. the grid, from a cold cache
    lengths = length_grid(args.min_length, args.max_length, args.lengths, args.spacing)
    depths = depth_grid(args.depths)
    specs = [CellSpec(task="single", length=n, depth=d, seed=0) for n in lengths for d in depths]
    clear_caches()
    gc.collect()
    if args.tracemalloc:
        tracemalloc.start()
    per_length: dict[int, list[float]] = {}
    total_chars = 0
    t0 = time.perf_counter()
    last = t0
    for spec, h in zip(specs, build_grid(specs, tok, corpus), strict=True):
        now = time.perf_counter()
        per_length.setdefault(spec.length, []).append(now - last)
        last = now
        total_chars += len(h.context)
        assert abs(h.context_tokens - spec.length) <= spec.length * 0.005
        del h
    t_grid = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    if args.tracemalloc:
        tracemalloc.stop()
    n_cells = len(specs)
    print(
        f"grid: {len(lengths)} lengths ({args.spacing}, {lengths[0]:,}..{lengths[-1]:,})"
        f" x {len(depths)} depths = {n_cells:,} cells, {total_chars / 1e6:,.1f} M chars of context built"
    )
    print(f"grid: {t_grid:.3f} s  ({1000 * t_grid / n_cells:.2f} ms/cell)")
    print(f"RATIO grid / tokenize_1m = {t_grid / t_tok:.2f}   (target < 10)")
    short, long_ = lengths[0], lengths[-1]
    print(
        f"per cell: {1000 * statistics.median(per_length[short]):.2f} ms at {short:,} tokens,"
        f" {1000 * statistics.median(per_length[long_]):.2f} ms at {long_:,} tokens (median)"
    )
    print(f"peak RSS: {_rss_mb():,.0f} MB (whole process, incl. the 1M-token base list)   (target < 2048)")
    if traced is not None:
        print(f"peak traced Python allocations during the grid: {traced / 2**20:,.0f} MB")

    # 3. naive estimate: re-tokenize per cell, a few cells timed, extrapolated by length
    needle = "上海的神秘数字是4729183。"
    sample = [lengths[len(lengths) // 2], lengths[-1]]
    per_token: list[float] = []
    for n in sample:
        t0 = time.perf_counter()
        _naive_cell(enc, base_text, len(base_text) / len(base_tokens), n, 50.0, needle)
        per_token.append((time.perf_counter() - t0) / n)
    est = statistics.mean(per_token) * sum(n * len(depths) for n in lengths)
    print(
        f"naive (re-tokenize the base per cell, {len(sample)} cells timed, extrapolated): ~{est:,.0f} s"
        f"  RATIO naive / tokenize_1m ~ {est / t_tok:,.0f}   (x{est / t_grid:,.0f} slower than the grid)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
