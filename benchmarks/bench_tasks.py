"""Benchmark: every task of the table on the embedded local model (Gemma 3 270M), mean score by length.

Run by hand:  python benchmarks/bench_tasks.py [--out DIR] [--tasks a,b] [--lengths 1000,2000,4000]
              [--depths 10,50,90] [--seeds 0,1] [--table-only]

For each task it runs, in a subprocess from the repository root,

    python -m evals.run --model gemma-3-270m --task T --lengths ... --depths ... --seeds ... --out DIR/T

then reads ``DIR/T/results.jsonl`` (one JSON object per line with ``task``, ``length``, ``status``,
``score``) and prints a table of mean score by task x length, with n (cells scored) per entry, plus the
cells that did not end ``ok``; then each task's outcomes, regraded from the records' answers with each
cell's full answer key rebuilt from its plan (the runner may grade with bare values only).
A run that fails is reported (its last stderr lines) and the table goes on.
Re-running with the same ``--out`` resumes each run (evals.run skips finished cells); ``--table-only``
just reads what is there. Nothing here is pass/fail: the 270M model is weak, the table shows where a task
is flat (all 1 or all 0) for it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def run_task(task: str, out: Path, lengths: str, depths: str, seeds: str, timeout: float) -> str | None:
    """Run one task's grid; None when it ended well, else the tail of its stderr."""
    cmd = [
        sys.executable, "-m", "evals.run", "--model", "gemma-3-270m", "--task", task, "--lengths", lengths,
        "--depths", depths, "--seeds", seeds, "--out", str(out / task), "--no-report",
    ]  # fmt: skip
    from haystacks.tasks import get_task

    for needle, question, answer in get_task(task).example_options().get("needles", ()):
        cmd += ["--needle", needle, "--question", question, "--answer", answer]
    try:
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if p.returncode != 0:
        return f"exit {p.returncode}: " + " | ".join(p.stderr.strip().splitlines()[-3:])
    return None


def read_results(path: Path) -> list[dict]:
    rows = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                with contextlib.suppress(json.JSONDecodeError):  # a line cut by a kill
                    rows.append(json.loads(line))
    return rows


def table(out: Path, tasks: list[str], lengths: list[int]) -> str:
    """Mean score by task x length ("mean (n)"), the overall mean, and the statuses other than ok."""
    head = f"{'task':<14}" + "".join(f"{n:>14}" for n in lengths) + f"{'all':>14}  not ok"
    lines = [head, "-" * len(head)]
    for task in tasks:
        rows = read_results(out / task / "results.jsonl")
        recs = [r for r in rows if r.get("task") == task and r.get("kind", "cell") == "cell"]
        by_len: dict[int, list[float]] = defaultdict(list)
        bad: dict[str, int] = defaultdict(int)
        for r in recs:
            if r.get("status") == "ok" and r.get("score") is not None:
                by_len[int(r["length"])].append(float(r["score"]))
            else:
                bad[str(r.get("status"))] += 1
        cells = []
        for n in lengths:
            xs = by_len.get(n, [])
            cells.append(f"{sum(xs) / len(xs):.2f} ({len(xs)})" if xs else "-")
        every = [x for xs in by_len.values() for x in xs]
        total = f"{sum(every) / len(every):.2f} ({len(every)})" if every else "-"
        extra = ", ".join(f"{k}: {v}" for k, v in sorted(bad.items())) or ""
        lines.append(f"{task:<14}" + "".join(f"{c:>14}" for c in cells) + f"{total:>14}  {extra}")
    return "\n".join(lines)


def outcomes(out: Path, tasks: list[str]) -> str:
    """Outcome counts per task, as the runner graded them (each cell's full answer key: values bound to
    keys, decoys, grading params), with the statuses that were not graded."""
    lines = []
    for task in tasks:
        counts: dict[str, int] = defaultdict(int)
        for r in read_results(out / task / "results.jsonl"):
            if r.get("kind", "cell") == "cell":
                counts[str(r.get("outcome") or r.get("status"))] += 1
        if counts:
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
            lines.append(f"{task:<14} {shown}")
    return "\n".join(lines)


def regrade_changes(out: Path, tasks: list[str]) -> str:
    """Every recorded answer regraded with the current grader (its record's answer key and cut status):
    the grades that differ from the recorded ones, with the answer text (to check by hand after a grading
    change; a run of an older grading version keeps its recorded grades)."""
    from evals.grading.score import runs_to_end
    from haystacks.tasks import AnswerKey, get_task, grade_answer

    lines = []
    for task in tasks:
        for r in read_results(out / task / "results.jsonl"):
            if r.get("status") not in ("ok", "truncated") or not r.get("answer_key"):
                continue
            key = AnswerKey.from_dict(r["answer_key"])
            cut = r.get("stop_reason") in ("truncated", "max_tokens")
            text = r.get("scored_answer") if r.get("scored_answer") is not None else r.get("answer") or ""
            ends = runs_to_end(r.get("answer") or "", text)
            g, cut_off = grade_answer(get_task(key.task), text, key, cut, ends_at_cut=ends)
            new = (None, "truncated") if cut_off else (g.score, g.outcome)
            old = (r.get("score"), r.get("outcome") or r.get("status"))
            if new != old:
                where = f"{task} len {r.get('length')} depth {r.get('depth')} seed {r.get('seed')}"
                lines.append(f"{where}: {old[0]} {old[1]} -> {new[0]} {new[1]}: {text[:200]!r}")
    return "\n".join(lines) or "(no grade changed)"


def main() -> int:
    from haystacks.tasks import task_names

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="where the runs go (default: a new temporary folder)")
    ap.add_argument("--tasks", default=None, help="comma-separated tasks (default: every task in the table)")
    ap.add_argument("--lengths", default="1000,2000,4000")
    ap.add_argument("--depths", default="10,50,90")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per task run")
    ap.add_argument("--table-only", action="store_true", help="only print the table of what --out holds")
    ap.add_argument(
        "--regrade",
        action="store_true",
        help="also regrade the recorded answers and list the grades that change",
    )
    args = ap.parse_args()
    tasks = args.tasks.split(",") if args.tasks else list(task_names())
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_tasks_"))
    out.mkdir(parents=True, exist_ok=True)
    lengths = [int(x) for x in args.lengths.split(",")]
    failures: dict[str, str] = {}
    if not args.table_only:
        print(f"runs in {out}", flush=True)
        for task in tasks:
            t0 = time.monotonic()
            err = run_task(task, out, args.lengths, args.depths, args.seeds, args.timeout)
            took = time.monotonic() - t0
            print(
                f"{task}: {'ok' if err is None else 'FAILED'} in {took:.0f} s" + (f" ({err})" if err else "")
            )
            sys.stdout.flush()
            if err is not None:
                failures[task] = err
    print()
    print(f"mean score by task x length (n = cells scored); model gemma-3-270m, depths {args.depths}, "
          f"seeds {args.seeds}")  # fmt: skip
    print(table(out, tasks, lengths))
    print()
    print("outcomes (as graded, each value bound to its key; decoys are other in-text values):")
    print(outcomes(out, tasks))
    if args.regrade:
        print()
        print("grades that change when the recorded answers are regraded with the current grader:")
        print(regrade_changes(out, tasks))
    for task, err in failures.items():
        print(f"{task}: {err}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
