"""Provider-layer overhead: N requests through ``Provider.generate`` against a fake server with a fixed
latency, at a fixed concurrency. Prints wall time as a ratio to the ideal (requests x latency /
concurrency). Target: under 1.15 for 2,000 requests, 200 ms, concurrency 64.

Run by hand (not a test)::

    python benchmarks/bench_providers.py                      # OpenAI-compatible adapter, the target case
    python benchmarks/bench_providers.py --provider all       # every adapter, one after the other
    python benchmarks/bench_providers.py --in-process         # fake server in this process (shares the GIL)

The fake server (``providers.fakes.server``) runs in a separate process by default, so its threads do
not compete with the client for this interpreter's GIL: what is measured is the provider layer
(limits, retry loop, SDK, HTTP client).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from providers import GenerateRequest, Message, RetryPolicy, create_provider, resolve_model
from providers.fakes.server import MockServer

# (registry name, base URL suffix) per adapter; the fake server speaks all their wire formats.
ADAPTERS = {
    "openai-compatible": ("openai-compatible", "/v1"),
    "openai": ("gpt-4o-mini", "/v1"),
    "anthropic": ("claude-haiku-4-5", ""),
    "gemini": ("gemini-2.5-flash-lite", ""),
}


def start_server_process(latency: float) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m providers.fakes.server`` and return it with its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "providers.fakes.server", "--latency", str(latency), "--answer", "4729183"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"mock server did not start (got {url!r})")
    return proc, url


async def run_one(
    adapter: str, url: str, n: int, concurrency: int, freeze: bool = True
) -> tuple[float, list[float], int]:
    """Drive ``n`` requests; returns (wall seconds, per-request latencies, total attempts)."""
    name, suffix = ADAPTERS[adapter]
    provider = create_provider(
        resolve_model(name),
        base_url=url + suffix,
        api_key="bench-key-not-secret",
        concurrency=concurrency,
        retry=RetryPolicy(max_attempts=1),
    )
    req = GenerateRequest(messages=(Message("user", "上海的神秘数字是多少？ " * 20),), max_tokens=16)
    async with provider:
        # Warm-up: imports, discovery, and one connection per concurrent slot in the pool, so that the
        # measurement is the steady state of the provider layer, not 64 TCP handshakes at t=0.
        await asyncio.gather(*(provider.generate(req) for _ in range(concurrency)))
        if freeze:
            # The three SDKs leave ~250k long-lived objects (their type modules) that every full
            # garbage collection would rescan, pausing the event loop for tens of ms. A long-running
            # client freezes its start-up heap once (gc.freeze); --no-gc-freeze shows the difference.
            gc.collect()
            gc.freeze()
        t0 = time.perf_counter()
        results = await asyncio.gather(*(provider.generate(req) for _ in range(n)))
        wall = time.perf_counter() - t0
    assert all(r.text == "4729183" for r in results), "unexpected answers"
    return wall, [r.latency_s for r in results], sum(r.attempts for r in results)


def main() -> int:
    """Run the benchmark and print the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--provider", choices=[*ADAPTERS, "all"], default="openai-compatible")
    ap.add_argument("--in-process", action="store_true", help="run the fake server in this process")
    ap.add_argument("--no-gc-freeze", action="store_true", help="do not freeze the start-up heap")
    args = ap.parse_args()
    adapters = list(ADAPTERS) if args.provider == "all" else [args.provider]
    ideal = args.requests * args.latency / args.concurrency
    print(
        f"{args.requests} requests, {args.latency * 1000:.0f} ms fixed latency, "
        f"concurrency {args.concurrency}: "
        f"ideal {ideal:.2f} s; server {'in-process' if args.in_process else 'separate process'}; "
        f"gc.freeze {'off' if args.no_gc_freeze else 'on'}"
    )
    proc = None
    server = None
    if args.in_process:
        server = MockServer(latency_s=args.latency, answer="4729183")
        url = server.start()
    else:
        proc, url = start_server_process(args.latency)
    worst = 0.0
    try:
        for adapter in adapters:
            wall, lat, attempts = asyncio.run(
                run_one(adapter, url, args.requests, args.concurrency, freeze=not args.no_gc_freeze)
            )
            ratio = wall / ideal
            worst = max(worst, ratio)
            q = statistics.quantiles(lat, n=100)
            print(
                f"  {adapter:18s} wall {wall:6.2f} s  ratio {ratio:.3f}  "
                f"({args.requests / wall:6.1f} req/s; per-request p50 {q[49] * 1000:.0f} ms, "
                f"p99 {q[98] * 1000:.0f} ms; attempts {attempts})"
            )
    finally:
        if server is not None:
            server.stop()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"worst ratio {worst:.3f} (target < 1.15): {'OK' if worst < 1.15 else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
