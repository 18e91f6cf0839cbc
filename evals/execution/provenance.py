"""Run provenance: the header written before a run's first call (what ran, on what, from which code)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals import __version__
from evals.store.record import SCHEMA_VERSION, RunHeader

if TYPE_CHECKING:
    from evals.planning.prepare import PreparedRun
    from providers.registry import ModelInfo

__all__ = ["HEADER_PACKAGES", "build_header", "git_commit", "now_utc", "packages"]

#: Packages whose versions go into the run header, besides each door's own (``Door.packages``).
HEADER_PACKAGES = ("niah-suite", "tiktoken", "tokenizers", "httpx", "pydantic", "pandas", "numpy")


def now_utc() -> str:
    """The current UTC time, ISO 8601 with milliseconds and a ``Z``."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def git_commit() -> str | None:
    """The suite's git commit (``-dirty`` when tracked files changed), or None outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def packages() -> dict[str, str | None]:
    """Python's and the relevant packages' versions."""
    from providers.doors import all_doors

    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    door_packages = [p for door in all_doors().values() for p in door.packages]
    for name in dict.fromkeys((*HEADER_PACKAGES[:3], *door_packages, *HEADER_PACKAGES[3:])):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def build_header(
    prep: PreparedRun, served: ModelInfo, tokenizer: str, exact: bool, **extra: Any
) -> RunHeader:
    """The run header (docs/ARCHITECTURE.md, "results").

    Args:
        prep: The prepared run.
        served: The effective registry entry (served window, discovered id).
        tokenizer: A stable name of the tokenizer that sized the haystacks.
        exact: Whether lengths are measured in the model's own tokens.
        **extra: Further fields (sizing facts: special tokens, prompt overheads, served window, ...).
    """
    cfg = prep.cfg.model_dump(mode="json")
    for k in ("dry_run", "force", "no_report", "compare_with"):
        cfg.pop(k, None)
    return RunHeader(
        schema_version=SCHEMA_VERSION,
        suite_version=__version__,
        git_commit=git_commit(),
        created=now_utc(),
        run_identity=prep.identity,
        identity_inputs=prep.identity_inputs,
        config=cfg,
        order=prep.order,
        prompt_style=prep.style,
        model=served.to_dict(),
        judge=prep.judge_info.to_dict() if prep.judge_info is not None else None,
        tokenizer=tokenizer,
        tokens_exact=exact,
        corpus_sha256=prep.corpus.sha256,
        corpus_files=list(prep.corpus.files),
        corpus_seeds=list(prep.corpus.files),
        packages=packages(),
        grid=prep.grid.to_dict(),
        seeds=list(prep.grid.seeds),
        n_cells=len(prep.cells),
        **extra,
    )
