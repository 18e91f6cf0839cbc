"""Soak: N cells against the fake servers with mixed faults and SIGKILLs at random points, rerun until done.

Run by hand:  python benchmarks/bench_soak.py [--n 10000] [--fault-rate 0.2] [--kills 3] [--growth-from 1000]

What it does, all measured in this one run:

1. a clean reference: ``--growth-from`` cells (default 1,000), no faults, no kills, one invocation of
   ``python -m evals.run`` against :class:`providers.mock_server.MockServer` (its wall time and peak RSS);
2. the soak: ``--n`` cells (default 10,000) against a mock that answers ``--fault-rate`` of the requests with
   a fault drawn from 429, 500, 503, 529, a malformed 200 body, a dropped connection and a response slower
   than the request timeout; ``--kills`` invocations are SIGKILLed at random points (after a random number
   of records, seeded); then the same command is rerun until it exits 0 (errored cells are retried by a
   rerun), at most ``--max-passes`` invocations.

Prints: cells ok, cells answered more than once (duplicates: paid twice), error records retried on a
rerun, provider retries (attempts beyond the first), calls lost to kills, invocations, wall time and wall /
ideal (ideal: the clean reference's time per cell times N), the peak RSS of the largest invocation, and how
peak RSS grows from the reference's size to N (MiB per 1,000 cells). Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from providers.mock_server import MockServer

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = """
[models."soak-model"]
provider = "openai-compatible"
model_id = "soak-model"
context_window = 100000
tokenizer = "cl100k_base"
tokenizer_exact = false
mode = "chat"
key_required = false
base_url = "{url}/v1"
concurrency = {concurrency}
[models."soak-model".prices]
input = 1.0
output = 1.0
as_of = 2026-01-01
source = "bench"
"""
FAULTS = ("429", "500", "503", "529", "malformed", "drop", "slow")
LENGTHS = "300,400,500,600,700,800,900,1000,1100,1200"
DEPTHS = "0:100:10"  # 10 depths: 100 cells per seed


def _grid(n: int) -> list[str]:
    if n % 100:
        raise SystemExit("--n and --growth-from must be multiples of 100 (10 lengths x 10 depths x seeds)")
    return ["--lengths", LENGTHS, "--depths", DEPTHS, "--repeats", str(n // 100)]


def _command(out: Path, n: int, timeout_s: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "evals.run",
        "--model",
        "soak-model",
        *_grid(n),
        "--out",
        str(out),
        "--no-report",
        "--timeout",
        str(timeout_s),
        "--backoff",
        "0.05",
    ]


def _invoke(
    cmd: list[str], env: dict[str, str], kill_after: int | None, results: Path
) -> tuple[int, float, float]:
    """Run one invocation; SIGKILL it once ``results`` has ``kill_after`` more lines. Returns (rc, wall s,
    peak RSS MiB)."""
    start_lines = _count_lines(results)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    offset, lines = (results.stat().st_size if results.exists() else 0), start_lines
    killed = False
    while kill_after is not None and proc.poll() is None:
        time.sleep(0.05)
        if results.exists():
            with results.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
            offset += len(chunk)
            lines += chunk.count(b"\n")
        if lines - start_lines >= kill_after:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    wall = time.monotonic() - t0
    if proc.returncode not in (0, 1) and not killed:
        tail = "\n".join(stderr.splitlines()[-5:])
        raise SystemExit(f"invocation failed with exit {proc.returncode}:\n{tail}")
    return proc.returncode, wall, usage.ru_maxrss / 1024.0


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _tally(results: Path) -> dict[str, int]:
    answered: Counter[str] = Counter()
    errors = retries = 0
    cells: set[str] = set()
    status_latest: dict[str, str] = {}
    with results.open("rb") as f:
        for raw in f:
            rec = json.loads(raw)  # every line must parse
            cid = rec["cell_id"]
            cells.add(cid)
            if rec["status"] == "error":
                errors += 1
                status_latest.setdefault(cid, "error")
            else:
                answered[cid] += 1
                status_latest[cid] = rec["status"]
            retries += max(0, int(rec.get("attempts") or 1) - 1)
    return {
        "cells": len(cells),
        "ok": sum(1 for s in status_latest.values() if s == "ok"),
        "duplicates": sum(1 for c in answered.values() if c > 1),
        "error_records": errors,
        "provider_retries": retries,
        "records": sum(answered.values()) + errors,
    }


def soak(
    n: int, fault_rate: float, kills: int, seed: int, concurrency: int, max_passes: int
) -> dict[str, float]:
    """One soak of ``n`` cells (see the module docstring); returns its figures."""
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory(prefix="niah-soak-") as tmp,
        MockServer(fault_rate=fault_rate, faults=FAULTS, seed=seed, slow_s=1.5, retry_after=0.2) as srv,
    ):
        reg = Path(tmp) / "models.toml"
        reg.write_text(REGISTRY.format(url=srv.url, concurrency=concurrency))
        env = {**os.environ, "NIAH_MODELS_FILE": str(reg), "PYTHONPATH": str(ROOT)}
        out = Path(tmp) / "run"
        results = out / "results.jsonl"
        cmd = _command(out, n, timeout_s=1.0)
        points = sorted(rng.randint(max(1, n // 20), max(2, n // (kills + 1))) for _ in range(kills))
        wall, peak, passes, rc = 0.0, 0.0, 0, None
        for k in points:
            rc, w, rss = _invoke(cmd, env, k, results)
            wall, peak, passes = wall + w, max(peak, rss), passes + 1
        while passes < max_passes:
            rc, w, rss = _invoke(cmd, env, None, results)
            wall, peak, passes = wall + w, max(peak, rss), passes + 1
            if rc == 0:
                break
        t = _tally(results)
        requests = len(srv.api_requests())
        faults = srv.fault_counts
    return {
        **t,
        "n": n,
        "invocations": passes,
        "final_exit": rc if rc is not None else -1,
        "wall_s": wall,
        "peak_rss_mib": peak,
        "requests": requests,
        "faults": sum(v for k, v in faults.items() if k != "ok"),
        "lost_to_kills": requests - t["records"] - t["provider_retries"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print its table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="cells of the soak (default 10,000)")
    ap.add_argument("--fault-rate", type=float, default=0.2, help="share of requests faulted (default 0.2)")
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLs at random points (default 3)")
    ap.add_argument("--growth-from", type=int, default=1000, help="clean reference size (default 1,000)")
    ap.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    ap.add_argument("--max-passes", type=int, default=10, help="invocations at most (default 10)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    ref = soak(a.growth_from, 0.0, 0, a.seed, a.concurrency, 1)
    print(
        f"clean reference: {a.growth_from:,} cells in {ref['wall_s']:.1f} s "
        f"({ref['wall_s'] / a.growth_from * 1000:.1f} ms/cell), peak RSS {ref['peak_rss_mib']:.0f} MiB, "
        f"ok {ref['ok']:,}, duplicates {ref['duplicates']}"
    )
    s = soak(a.n, a.fault_rate, a.kills, a.seed, a.concurrency, a.max_passes)
    ideal = ref["wall_s"] / a.growth_from * a.n
    growth = (s["peak_rss_mib"] - ref["peak_rss_mib"]) / max(1, a.n - a.growth_from) * 1000
    rows = [
        ("cells", f"{a.n:,}"),
        (
            "fault rate / kills",
            f"{a.fault_rate:.0%} of requests ({s['faults']:,} faults) / {a.kills} SIGKILLs",
        ),
        ("invocations (final exit)", f"{s['invocations']} ({s['final_exit']})"),
        ("cells ok", f"{s['ok']:,} of {a.n:,} ({s['cells']:,} with a record)"),
        ("duplicates (answered twice)", f"{s['duplicates']}"),
        ("error records retried by a rerun", f"{s['error_records']:,}"),
        ("provider retries", f"{s['provider_retries']:,}"),
        ("requests / calls lost to kills", f"{s['requests']:,} / {s['lost_to_kills']:,}"),
        ("wall / ideal", f"{s['wall_s']:.1f} s / {ideal:.1f} s = {s['wall_s'] / ideal:.2f}"),
        ("peak RSS (largest invocation)", f"{s['peak_rss_mib']:.0f} MiB"),
        (
            f"peak RSS {a.growth_from:,} -> {a.n:,} cells",
            f"{ref['peak_rss_mib']:.0f} -> {s['peak_rss_mib']:.0f} MiB ({growth:+.1f} MiB per 1,000 cells)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0 if s["ok"] == a.n and s["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
