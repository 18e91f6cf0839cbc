"""``python -m evals.agreement``: the grader's agreement with a careful human on the labelled answer corpus.

    python -m evals.agreement [--answers DIR] [--show-disagreements]
    python -m evals.agreement --judge MODEL [--base-url URL] [--limit N]

The command line only; the corpus, the regrading and the reports are :mod:`evals.grading.agreement`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from evals.errors import EvalError
from evals.grading.agreement import (
    REPO,
    CorpusError,
    agreement_report,
    judge_lines,
    judge_report,
    load_corpus,
)

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(
        prog="python -m evals.agreement",
        description="Grader agreement on the labelled answer corpus (answers/*.jsonl), and a judge measured "
        "on it.",
    )
    ap.add_argument("--answers", default=None, help="folder of the corpus JSONL files (default: answers/)")
    ap.add_argument("--show-disagreements", action="store_true", help="list every line graded otherwise")
    ap.add_argument(
        "--judge", default=None, help="also grade the corpus with this judge model (registry name)"
    )
    ap.add_argument("--base-url", default=None, help="the judge's endpoint (a local server, the mock)")
    ap.add_argument("--limit", type=int, default=None, help="judge at most this many lines")
    args = ap.parse_args(argv)
    try:
        lines = load_corpus(args.answers)
        if not lines:
            raise CorpusError(f"the corpus at {args.answers or REPO / 'answers'} holds no line")
        print(agreement_report(lines, disagreements=args.show_disagreements))
        if args.judge:
            if args.limit is not None and args.limit < 1:
                raise CorpusError("--limit must be >= 1")
            todo = lines[: args.limit] if args.limit else lines
            judged = asyncio.run(judge_lines(todo, args.judge, args.base_url))
            print()
            print(judge_report(judged))
    except EvalError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a registry/config error of the judge: one line, no traceback
        from providers.errors import ConfigError, ProviderError

        if not isinstance(e, (ConfigError, ProviderError)):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
