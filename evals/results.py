"""The results store: one directory per run, an atomic ``header.json`` and an append-only ``results.jsonl``.

Rules (docs/ARCHITECTURE.md, "results"):

* one JSON object per line, appended and flushed (and fsynced) as each cell finishes, never rewritten;
* a cell is *done* when it has an ``ok`` or ``model_length`` record; ``error`` cells are retried on resume;
* readers take the last non-error record per ``cell_id`` (else the last error) and skip unparseable lines
  (a line torn by a crash; the next append always starts on a fresh line, so a torn line may sit mid-file).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.errors import ResultsError

__all__ = [
    "DONE_STATUSES",
    "HEADER_FILE",
    "RESULTS_FILE",
    "SCHEMA_VERSION",
    "STATUSES",
    "ResultsStore",
    "cell_id",
    "latest_by_cell",
    "read_header",
    "read_records",
    "write_json_atomic",
]

SCHEMA_VERSION = 1
HEADER_FILE = "header.json"
RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
STATUSES = ("ok", "error", "model_length")
DONE_STATUSES = frozenset({"ok", "model_length"})


def cell_id(model: str, task: str, language: str, length: int, depth: float, seed: int) -> str:
    """The identity hash of a cell.

    Args:
        model: Registry alias of the model under test.
        task: Task variant.
        language: Needle/question language.
        length: Requested prompt length in tokens.
        depth: Needle depth in percent (rounded to 6 decimals, so 50 and 50.0 are the same cell).
        seed: Seed of the cell.

    Returns:
        A 64-hex-digit sha256 of the canonical JSON of the identity.
    """
    ident = {
        "model": model,
        "task": task,
        "language": language,
        "length": int(length),
        "depth": round(float(depth), 6),
        "seed": int(seed),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as pretty JSON to ``path`` via a temporary file and a rename (never half-written).

    Args:
        path: Destination file.
        obj: JSON-serializable object.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_header(run_dir: Path) -> dict[str, Any] | None:
    """Read a run's ``header.json``.

    Args:
        run_dir: The run directory.

    Returns:
        The header, or None when the directory has none.

    Raises:
        ResultsError: When the header exists but cannot be read or parsed.
    """
    path = run_dir / HEADER_FILE
    if not path.exists():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(f"cannot read {path}: {e}") from e
    if not isinstance(obj, dict):
        raise ResultsError(f"{path} is not a JSON object")
    return obj


@dataclass
class ReadStats:
    """What :func:`read_records` met while reading: parsed records and skipped (torn or corrupt) lines."""

    records: int = 0
    skipped: int = 0


def iter_records(path: Path, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records of a ``results.jsonl``, skipping blank and unparseable lines.

    Args:
        path: The JSONL file (a missing file yields nothing).
        stats: Optional counters to fill.

    Yields:
        Each record (a dict with a ``cell_id``).
    """
    if not path.exists():
        return
    with path.open("rb") as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                if stats is not None:
                    stats.skipped += 1
                continue
            if not isinstance(rec, dict) or "cell_id" not in rec:
                if stats is not None:
                    stats.skipped += 1
                continue
            if stats is not None:
                stats.records += 1
            yield rec


def read_records(path: Path, stats: ReadStats | None = None) -> list[dict[str, Any]]:
    """All parseable records of a ``results.jsonl`` in file order (see :func:`iter_records`)."""
    return list(iter_records(path, stats))


def latest_by_cell(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The record that stands for each cell: the last non-error record, else the last error.

    Args:
        records: Records in file order.

    Returns:
        ``{cell_id: record}`` in first-seen order.
    """
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        cid = rec["cell_id"]
        prev = out.get(cid)
        if prev is None or rec.get("status") != "error" or prev.get("status") == "error":
            out[cid] = rec
    return out


def record_spend(rec: dict[str, Any]) -> float:
    """USD one record cost: the call's ``cost_usd`` plus its judge's (unpriced counts as 0)."""
    total = float(rec.get("cost_usd") or 0.0)
    judge = rec.get("judge")
    if isinstance(judge, dict):
        total += float(judge.get("cost_usd") or 0.0)
    return total


class ResultsStore:
    """Append-only JSONL store of one run directory, written by one writer.

    The done-set is loaded once (:meth:`load`); :meth:`append` keeps it current without rescanning.
    """

    def __init__(self, run_dir: Path) -> None:
        """Bind to ``run_dir`` (nothing is created until :meth:`append` or :meth:`write_header`).

        Args:
            run_dir: The run directory.
        """
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / RESULTS_FILE
        self.latest: dict[str, dict[str, Any]] = {}
        self.stats = ReadStats()
        self.spent = 0.0
        self._fd: int | None = None

    def load(self) -> dict[str, dict[str, Any]]:
        """Read the file once and index the latest record per cell.

        Returns:
            ``{cell_id: record}`` (see :func:`latest_by_cell`).
        """
        self.stats = ReadStats()
        self.spent = 0.0

        def counted(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for rec in records:
                self.spent += record_spend(rec)
                yield rec

        self.latest = latest_by_cell(counted(iter_records(self.path, self.stats)))
        return self.latest

    def done_ids(self) -> set[str]:
        """Cells with an ``ok`` or ``model_length`` record (skipped on resume)."""
        return {cid for cid, r in self.latest.items() if r.get("status") in DONE_STATUSES}

    def error_ids(self) -> set[str]:
        """Cells whose latest record is an ``error`` (retried on resume)."""
        return {cid for cid, r in self.latest.items() if r.get("status") == "error"}

    def spent_usd(self) -> float:
        """USD of every record read by :meth:`load` and appended since (errors and judge calls included)."""
        return self.spent

    def write_header(self, header: dict[str, Any]) -> None:
        """Write ``header.json`` atomically (creating the run directory).

        Args:
            header: The run header.
        """
        write_json_atomic(self.run_dir / HEADER_FILE, header)

    def _open(self) -> int:
        if self._fd is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            # A crash may have torn the last line: start ours on a fresh line.
            size = os.fstat(fd).st_size
            if size:
                with self.path.open("rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        os.write(fd, b"\n")
            self._fd = fd
        return self._fd

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as a single line, flushed and fsynced, and update the in-memory index.

        Args:
            record: A result record with ``cell_id`` and ``status``.

        Raises:
            ResultsError: When the record lacks a cell_id or has an unknown status.
        """
        if "cell_id" not in record or record.get("status") not in STATUSES:
            status = record.get("status")
            raise ResultsError(f"malformed record: cell_id/status missing or invalid (status {status!r})")
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        fd = self._open()
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
        self.spent += record_spend(record)
        prev = self.latest.get(record["cell_id"])
        if prev is None or record["status"] != "error" or prev.get("status") == "error":
            self.latest[record["cell_id"]] = record

    def close(self) -> None:
        """Close the append handle (safe to call twice)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
