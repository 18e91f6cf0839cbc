"""Command line: build one haystack, or a whole grid (JSON lines, or a Hugging Face dataset).

Examples::

    python -m haystacks.build --tokenizer cl100k_base --length 100000 --depth 37 --seed 7 --format json
    python -m haystacks.build --task multi --needles 3 --length 8000 --depth 10 --format text
    python -m haystacks.build --grid --lengths 1k:128k:8:log --depths 0-100/10 --export-dataset out/grid
    python -m haystacks.build --haystack gatsby.epub --explain-cleaning
    python -m haystacks.build --haystack gatsby.txt --language en --task changed_line --length 6000 --depth 40

Errors are one line on stderr and exit status 2; nothing is written on error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from haystacks.builder import CellSpec, Haystack, build_grid, build_haystack, validate_spec
from haystacks.corpus import Corpus, load_corpus
from haystacks.errors import HaystackError
from haystacks.files import write_atomic
from haystacks.grids import parse_list
from haystacks.needles import LANGUAGES
from haystacks.prompts import render_prompt
from haystacks.tasks import get_task, task_names
from haystacks.tasks.custom import custom_needles
from haystacks.tokenizers import Tokenizer, get_tokenizer, known_tokenizers

PROG = "python -m haystacks.build"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Build token-exact needle-in-a-haystack contexts from the seeds or your own documents.",
    )
    p.add_argument("--tokenizer", default="cl100k_base", help=f"one of: {', '.join(known_tokenizers())}")
    p.add_argument("--length", type=int, default=2000, help="context length in tokens (default 2000)")
    p.add_argument("--depth", type=float, default=50.0, help="needle depth in percent 0..100 (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of needles (and of the shuffle) (default 0)")
    p.add_argument(
        "--task",
        choices=task_names(),
        default=None,
        help="task (default: single, or custom when --needle/--needles-file is given)",
    )
    p.add_argument("--language", choices=LANGUAGES, default="zh", help="needle and question language")
    p.add_argument("--needles", type=int, default=1, help="multi: number of needles (1 = default 4)")
    p.add_argument("--needle-depths", default=None, help="multi: explicit depths, e.g. 10,50,90")
    p.add_argument(
        "--distractors", type=int, default=0, help="distractor needles (0 = 3 for the distractor task)"
    )
    p.add_argument("--hops", type=int, default=None, help="chain: relabellings to follow (default 2)")
    p.add_argument("--shuffle", action="store_true", help="shuffle paragraphs in each corpus pass (seeded)")
    p.add_argument(
        "--haystack",
        "--seeds-dir",
        dest="seeds_dir",
        default=None,
        metavar="PATH",
        help="your own text: a .txt/.md/.html/.epub/.pdf/.docx file or a folder of them "
        "(default $NIAH_SEEDS_DIR or ./seeds)",
    )
    p.add_argument(
        "--explain-cleaning",
        action="store_true",
        help="print what cleaning removed, unwrapped and kept in each --haystack file, and build nothing",
    )
    p.add_argument(
        "--needle", action="append", default=[], help="custom task: a needle sentence (repeatable)"
    )
    p.add_argument("--question", action="append", default=[], help="custom task: its question (repeatable)")
    p.add_argument("--answer", action="append", default=[], help="custom task: its answer (repeatable)")
    p.add_argument(
        "--needles-file", default=None, help="custom task: needles as TOML [[needle]] or JSONL rows"
    )
    p.add_argument(
        "--format",
        choices=("json", "text", "prompt"),
        default="json",
        help="json: one object; text: the context only; prompt: the rendered prompt (see --style)",
    )
    p.add_argument(
        "--style", choices=("chat", "completion"), default="chat", help="prompt style for --format prompt"
    )
    p.add_argument("-o", "--output", default=None, help="write to this file (atomically) instead of stdout")
    g = p.add_argument_group("grid")
    g.add_argument(
        "--grid", action="store_true", help="build a grid: --lengths x --depths x --seeds x --tasks"
    )
    g.add_argument("--lengths", default=None, help="e.g. 1000,2000 or 1k:1M:35:log")
    g.add_argument("--depths", default=None, help="e.g. 0-100/10 or 0:100:35")
    g.add_argument("--seeds", default=None, help="e.g. 0,1,2 (default: --seed)")
    g.add_argument("--tasks", default=None, help="comma-separated tasks (default: --task)")
    g.add_argument(
        "--export-dataset", default=None, metavar="DIR", help="write a datasets dataset (+ Parquet)"
    )
    return p


def _ints(values: list[float], what: str) -> list[int]:
    out = []
    for v in values:
        if v != int(v):
            raise _UsageError(f"{what} must be whole numbers, got {v:g}")
        out.append(int(v))
    return out


def _grid_specs(args: argparse.Namespace) -> list[CellSpec]:
    if not args.lengths or not args.depths:
        raise _UsageError("--grid needs --lengths and --depths")
    lengths = _ints(parse_list(args.lengths), "lengths")
    depths = parse_list(args.depths)
    seeds = _ints(parse_list(args.seeds), "seeds") if args.seeds else [args.seed]
    tasks = [t.strip() for t in args.tasks.split(",")] if args.tasks else [args.task]
    for t in tasks:
        if t not in task_names():
            raise _UsageError(f"unknown task {t!r} in --tasks; choose from {', '.join(task_names())}")
    specs = []
    for task in tasks:
        for seed in seeds:
            for length in lengths:
                for depth in depths if get_task(task).has_depth else [0.0]:
                    specs.append(_spec(args, task=task, length=length, depth=depth, seed=seed))
    return specs


def _spec(args: argparse.Namespace, **over: object) -> CellSpec:
    needle_depths = tuple(parse_list(args.needle_depths)) if args.needle_depths else None
    fields: dict[str, object] = {
        "task": args.task,
        "length": args.length,
        "depth": args.depth,
        "seed": args.seed,
        "language": args.language,
        "n_needles": args.needles,
        "depths": needle_depths,
        "n_distractors": args.distractors,
        "shuffle": args.shuffle,
    }
    fields.update(over)
    task = get_task(str(fields["task"]))
    if "n_needles" not in task.options:  # a grid over several tasks: --needles is for those that take it
        fields["depths"] = None
        fields["n_needles"] = 1
    options = {
        "n_needles": args.needles,
        "depths": needle_depths,
        "n_distractors": args.distractors,
        "needles": args.custom,
        "hops": args.hops,
    }
    fields.update(task.cell_params(options))
    return CellSpec(**fields)  # type: ignore[arg-type]


def _render(h: Haystack, fmt: str, style: str) -> str:
    if fmt == "json":
        return json.dumps(h.to_dict(), ensure_ascii=False) + "\n"
    if fmt == "text":
        return h.context
    p = render_prompt(h, style)
    return p.completion if style == "completion" else p.user


def _write_atomic(path: Path, chunks: Iterator[str]) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise HaystackError(f"output directory does not exist: {parent}")
    write_atomic(path, chunks)


def _explain(corpus: Corpus) -> int:
    """Print, per file, the cleaning rules that fired and what they did, then the corpus in figures."""
    out = sys.stdout
    for name, notes in zip(corpus.files, corpus.notes, strict=True):
        out.write(f"{name}:\n")
        if not notes:
            out.write("  (nothing removed; one paragraph per line)\n")
        for n in notes:
            out.write(f"  {n.rule}: {n.detail}\n")
    prose = len(corpus.paragraphs) - len(corpus.structural)
    out.write(
        f"corpus {corpus.sha256[:12]}: {len(corpus.text):,} characters, {prose:,} prose paragraphs, "
        f"{len(corpus.structural):,} structural lines, {len(corpus.units):,} sentence units\n"
    )
    out.flush()
    return 0


def _run(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    args.custom = ()
    if args.needle or args.question or args.answer or args.needles_file:
        args.custom = custom_needles(args.needle, args.question, args.answer, args.needles_file)
        args.task = args.task or "custom"
    args.task = args.task or "single"
    if args.custom and args.task != "custom":
        raise _UsageError(f"--needle/--needles-file are for the custom task, not {args.task!r}")
    if args.export_dataset and not args.grid:
        raise _UsageError("--export-dataset needs --grid")
    if args.explain_cleaning:
        return _explain(load_corpus(args.seeds_dir))
    tok: Tokenizer = get_tokenizer(args.tokenizer)
    corpus = load_corpus(args.seeds_dir)
    specs = _grid_specs(args) if args.grid else [_spec(args)]
    for s in specs:  # every bad input fails before anything is built or written
        validate_spec(s, tok)

    if args.export_dataset:
        from haystacks.export import export_dataset

        n = export_dataset(
            build_grid(specs, tok, corpus),
            args.export_dataset,
            description=f"NIAH haystacks ({tok.name}, corpus {corpus.sha256[:12]})",
        )
        print(f"wrote {n} haystacks to {args.export_dataset}", file=sys.stderr)
        return 0

    if args.grid:
        fmt = "json" if args.format == "json" else args.format
        chunks: Iterator[str] = (_render(h, fmt, args.style) for h in build_grid(specs, tok, corpus))
        if fmt != "json":
            chunks = (c + "\n\x1e\n" for c in chunks)  # record separator between plain-text contexts
    else:
        h = build_haystack(specs[0], tok, corpus)
        chunks = iter([_render(h, args.format, args.style)])
        if args.format != "json":
            n = h.needles[0] if h.needles else None
            where = f", needle at {n.actual_depth:.2f}% (asked {n.depth:g}%)" if n else ""
            inexact = "" if h.tokens_exact else f" (not exact: {h.tokens_note})"
            print(f"{h.context_tokens} tokens in {h.tokenizer}{where}{inexact}", file=sys.stderr)
    if args.output:
        _write_atomic(Path(args.output), chunks)
    else:
        out = sys.stdout
        for c in chunks:
            out.write(c)
        out.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m haystacks.build``.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on any user error (one line on stderr), 130 on Ctrl-C.
    """
    try:
        return _run(argv)
    except (_UsageError, HaystackError) as e:
        msg = " ".join(str(e).split())
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout piped into e.g. `head`: stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:
        print(f"{PROG}: error: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
