"""``python -m evals.models``: the models the registry knows, with windows, tokenizers, prices and status.

Examples::

    python -m evals.models                       # a table of every entry
    python -m evals.models --provider anthropic  # one vendor
    python -m evals.models --json                # one JSON array (ModelInfo.to_dict() per entry)
    python -m evals.models --active              # leave out deprecated and retired entries

Any model a vendor serves also runs without an entry, as ``openai:<id>``, ``anthropic:<id>`` or
``gemini:<id>``. Exit codes: 0 ok, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.registry import ModelInfo

__all__ = ["main", "status_text"]


def status_text(info: ModelInfo) -> str:
    """``active``, ``deprecated (retires 2027-01-14)``, ``retired 2026-10-23 -> gpt-5.6-luna``."""
    if info.status == "retired":
        since = f" {info.status_since}" if info.status_since else ""
        succ = f" -> {', '.join(info.successors)}" if info.successors else ""
        return f"retired{since}{succ}"
    if info.status == "deprecated":
        when = f" (retires {info.retires})" if info.retires else ""
        return f"deprecated{when}"
    return "active"


def _window(info: ModelInfo) -> str:
    if info.context_window:
        return f"{info.context_window:,}"
    return "discovered" if info.discover else "?"


def _prices(info: ModelInfo) -> str:
    p = info.prices
    if p is None:
        return "unknown"
    cached = f" / {p.cached_input:g} cached" if p.cached_input is not None else ""
    tier = f" (>{p.long_context_threshold:,}: tiered)" if p.long_context_threshold else ""
    as_of = f" [{p.as_of}]" if p.as_of else ""
    return f"{p.input:g} / {p.output:g}{cached}{tier}{as_of}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    from providers.doors import all_doors

    ap = argparse.ArgumentParser(prog="python -m evals.models", description=__doc__.splitlines()[0])
    ap.add_argument("--provider", choices=tuple(all_doors()), default=None, help="only this door's entries")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--active", action="store_true", help="leave out deprecated and retired entries")
    args = ap.parse_args(argv)

    from providers.errors import ConfigError
    from providers.registry import list_models

    try:
        infos = list_models()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.provider:
        infos = [i for i in infos if i.provider == args.provider]
    if args.active:
        infos = [i for i in infos if i.status == "active"]
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], ensure_ascii=False, indent=2))
        return 0

    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=220)
    t = Table(title="Models (prices: USD per 1M tokens, input / output)")
    for col in ("name", "provider", "model id", "window", "tokenizer", "prices", "status", "aliases"):
        t.add_column(col, overflow="fold")
    for i in infos:
        tok = i.tokenizer + ("" if i.tokenizer_exact else " (approx)")
        t.add_row(
            i.alias,
            i.provider,
            i.model_id or "(server's)",
            _window(i),
            tok,
            _prices(i),
            status_text(i),
            ", ".join(i.aliases),
        )
    console.print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
