"""Benchmark: prompt tokens llama.cpp actually computes in the naive vs the prefix-sharing request order.

Runs the same 5-length x 5-depth grid on the embedded local model (Gemma 3 270M, llama.cpp) twice through
``python -m evals.run``'s own code path, each time with a freshly started server (an empty cache):

* ``grid`` (the naive request order, cell by cell): for each length every depth, the nested loops of the
  classic tools;
* ``depth_major`` (for reference): for each depth every length;
* ``shared``: the runner's default order (per seed, needle position descending), so that consecutive prompts
  share the longest prefix.

It prints, per order, the prompt tokens sent, the tokens the server computed (sum of ``timings.prompt_n``, the
rest came from its prefix cache, ``cache_n``) and the prefill time, then the ratio shared / grid (and shared /
depth_major) measured in this one run. Target: the shared order computes at most 0.65 of the naive order's
tokens.

The suite starts llama.cpp with its host-memory prompt cache off (``cache_ram_mib=0``, see
``providers/doors/local/server.py``): one slot, one cached prefix, as with most cloud prefix caches.
llama.cpp's own default keeps earlier prompts in RAM and may restore the best-matching one, which also helps
the naive orders; ``--ram-cache-mib 8192`` measures that configuration.

Usage::

    python benchmarks/bench_prefix_cache.py [--lengths 500,1000,1500,2000,2500] [--ram-cache-mib N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEFAULT_LENGTHS = "500,1000,1500,2000,2500"
DEPTHS = "0,25,50,75,100"


def run_order(order: str, lengths: str, out: Path) -> dict[str, float]:
    """Run the grid in one order; return token and time totals from the records."""
    from evals.run import main

    t0 = time.monotonic()
    code = main(
        ["--lengths", lengths, "--depths", DEPTHS, "--order", order, "--out", str(out), "--no-report"]
    )
    wall = time.monotonic() - t0
    if code != 0:
        raise SystemExit(f"evals.run exited {code} for order {order}")
    sent = computed = cached = 0
    prefill_ms = 0.0
    cells = 0
    for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        t = rec.get("timings") or {}
        cells += 1
        sent += int(rec["prompt_tokens"])
        computed += int(t.get("prompt_n", 0))
        cached += int(t.get("cache_n", 0))
        prefill_ms += float(t.get("prompt_ms", 0.0))
    return {
        "cells": cells,
        "sent": sent,
        "computed": computed,
        "cached": cached,
        "prefill_s": prefill_ms / 1000,
        "wall_s": wall,
    }


def main(argv: list[str] | None = None) -> int:
    """Run both orders and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--lengths", default=DEFAULT_LENGTHS, help=f"5 prompt lengths (default {DEFAULT_LENGTHS})"
    )
    ap.add_argument(
        "--ram-cache-mib",
        type=int,
        default=0,
        help="llama.cpp host-memory prompt cache in MiB (default 0, off, as the suite ships it)",
    )
    ap.add_argument("--orders", default="grid,depth_major,shared", help="orders to run, comma-separated")
    args = ap.parse_args(argv)
    os.environ["NIAH_LOCAL_CACHE_RAM_MIB"] = str(args.ram_cache_mib)
    console = Console()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-prefix-") as tmp:
        for order in args.orders.split(","):
            console.print(f"[bold]order {order}[/bold]")
            results[order] = run_order(order, args.lengths, Path(tmp) / order)
    ram = "off" if args.ram_cache_mib == 0 else f"{args.ram_cache_mib} MiB"
    t = Table(title=f"Prefix caching, lengths {args.lengths} x depths {DEPTHS} (host-memory cache {ram})")
    columns = (
        "order",
        "cells",
        "prompt tokens sent",
        "computed (prompt_n)",
        "computed / sent",
        "prefill s",
        "wall s",
    )
    for col in columns:
        t.add_column(col, justify="right")
    for order, r in results.items():
        t.add_row(
            order,
            f"{r['cells']:.0f}",
            f"{r['sent']:,.0f}",
            f"{r['computed']:,.0f}",
            f"{r['computed'] / r['sent']:.3f}",
            f"{r['prefill_s']:.1f}",
            f"{r['wall_s']:.1f}",
        )
    console.print(t)
    if "shared" in results:
        for base in (o for o in results if o != "shared"):
            ratio = results["shared"]["computed"] / results[base]["computed"]
            time_ratio = results["shared"]["prefill_s"] / results[base]["prefill_s"]
            verdict = "meets" if ratio <= 0.65 else "misses"
            console.print(
                f"shared / {base} computed prompt tokens: [bold]{ratio:.3f}[/bold] "
                f"({verdict} the 0.65 target); "
                f"prefill time ratio {time_ratio:.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
