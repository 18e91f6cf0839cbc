"""Benchmark: the embedded local model's run against the raw llama.cpp compute of the same prompts.

For each thread setting (default: 1 thread, then the automatic choice of ``providers.doors.local.server``), it
runs the default grid through ``python -m evals.run``'s own code path (in this process, a fresh server each
time) and records every request the runner sends. Then it starts another fresh server with the same
threads and sends the same requests one by one with llama.cpp's prompt cache off, summing the server's
``prompt_ms + predicted_ms``: the raw compute of those prompts, the limit a scheduler can beat only by
reusing prefixes. It prints, per setting:

* run wall: the whole ``evals.run`` invocation (server start, sizing, every cell, summary);
* raw compute: the no-cache compute of the same requests, and wall / raw;
* prompt tokens computed / sent in the run (``timings.prompt_n`` over prompt tokens: what prefix reuse saved);
* prefill speed without cache (prompt tokens per second).

and the ratio of each setting's run wall to the first one's, measured in this one run. The machine's load is
printed before each run: on a busy machine the automatic choice takes fewer threads.

Usage::

    python benchmarks/bench_local.py [--threads 1,auto] [--lengths 1000,2000,4000] [--depths 0:100:5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from providers.doors.local.server import THREADS_ENV, free_cores, threads_for


def _record_requests() -> tuple[list[Any], Any]:
    """Patch the local provider so that every request it is asked to generate is kept (in order)."""
    from providers.doors.local.adapter import LocalProvider

    seen: list[Any] = []
    original = LocalProvider.generate

    async def generate(self: Any, req: Any) -> Any:
        seen.append(req)
        return await original(self, req)

    LocalProvider.generate = generate  # type: ignore[method-assign]
    return seen, original


def run_grid(threads: str, lengths: str, depths: str, out: Path) -> dict[str, Any]:
    """Run the default grid with a thread setting; return wall time, the requests and token totals."""
    import json

    from evals.run import main
    from providers.doors.local.adapter import LocalProvider

    if threads == "auto":
        os.environ.pop(THREADS_ENV, None)
    else:
        os.environ[THREADS_ENV] = threads
    seen, original = _record_requests()
    t0 = time.monotonic()
    try:
        code = main(["--lengths", lengths, "--depths", depths, "--out", str(out), "--no-report"])
    finally:
        LocalProvider.generate = original  # type: ignore[method-assign]
    wall = time.monotonic() - t0
    if code != 0:
        raise SystemExit(f"evals.run exited {code} with threads={threads}")
    sent = computed = 0
    for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        sent += int(rec["prompt_tokens"])
        computed += int((rec.get("timings") or {}).get("prompt_n", 0))
    header = json.loads((out / "header.json").read_text(encoding="utf-8"))
    n_ctx = int((header.get("model") or {}).get("context_window") or 0)
    return {"wall": wall, "requests": list(seen), "sent": sent, "computed": computed, "n_ctx": n_ctx}


async def raw_compute(requests: list[Any], n_threads: int, n_ctx: int) -> dict[str, float]:
    """Send the requests to a fresh server with no prompt cache; sum the server's own compute times."""
    from providers.doors.local.adapter import LocalProvider
    from providers.doors.local.server import LocalServer
    from providers.registry import default_model

    info = default_model()
    server = LocalServer(
        n_ctx=max(n_ctx, 1024), n_threads=n_threads, max_ctx=info.context_window, model_alias=info.model_id
    )
    provider = LocalProvider(info, server=server)
    prompt_ms = predicted_ms = 0.0
    prompt_n = 0
    try:
        for req in requests:
            res = await provider.generate(dataclasses.replace(req, cache_prefix=False))
            t = res.server_timings or {}
            prompt_ms += float(t.get("prompt_ms", 0.0))
            predicted_ms += float(t.get("predicted_ms", 0.0))
            prompt_n += int(t.get("prompt_n", 0))
    finally:
        await provider.aclose()
    return {"raw_s": (prompt_ms + predicted_ms) / 1000, "prefill_s": prompt_ms / 1000, "prompt_n": prompt_n}


def main(argv: list[str] | None = None) -> int:
    """Run each thread setting and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,auto", help="settings to compare, e.g. 1,2,auto (default 1,auto)")
    ap.add_argument("--lengths", default="1000,2000,4000", help="the default grid's lengths")
    ap.add_argument("--depths", default="0:100:5", help="the default grid's depths")
    args = ap.parse_args(argv)
    console = Console(emoji=False)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        for i, setting in enumerate(s.strip() for s in args.threads.split(",")):
            free = free_cores(1.0)
            n = threads_for(free) if setting == "auto" else int(setting)
            console.print(
                f"[bold]threads {setting}[/bold] ({n} threads; {free:.2f} cores free, "
                f"load average {os.getloadavg()[0]:.2f})"
            )
            run = run_grid(setting, args.lengths, args.depths, Path(tmp) / f"run{i}")
            raw = asyncio.run(raw_compute(run["requests"], n, run["n_ctx"]))
            rows.append({"setting": setting, "n": n, "free": free, **run, **raw})
    t = Table(
        title=f"Local model: run wall vs raw llama.cpp compute (lengths {args.lengths}, depths {args.depths})"
    )
    for col in (
        "threads",
        "cells",
        "run wall s",
        "raw compute s",
        "wall / raw",
        "computed / sent",
        "prefill tok/s (no cache)",
        "wall / first",
    ):
        t.add_column(col, justify="right")
    first = rows[0]["wall"]
    for r in rows:
        t.add_row(
            f"{r['setting']} ({r['n']})",
            str(len(r["requests"])),
            f"{r['wall']:.1f}",
            f"{r['raw_s']:.1f}",
            f"{r['wall'] / r['raw_s']:.3f}",
            f"{r['computed'] / max(1, r['sent']):.3f}",
            f"{r['prompt_n'] / max(1e-9, r['prefill_s']):.0f}",
            f"{r['wall'] / first:.3f}",
        )
    console.print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
