"""The results store: one directory per run, an atomic ``header.json`` and an append-only ``results.jsonl``.

Rules (docs/ARCHITECTURE.md, "results"; the schema is :mod:`evals.store.record`):

* one JSON object per line (a :class:`~evals.store.record.ResultRecord`), appended and flushed (and fsynced)
  as each cell finishes, never rewritten;
* a cell is *done* when it has an ``ok``, ``model_length`` or ``truncated`` record; ``error`` cells are
  retried on resume;
* readers take the last non-error record per ``cell_id`` (else the last error) and skip unparseable lines
  (a line torn by a crash); the next writer cuts an unreadable torn tail off before it appends (a whole
  record that only lacks its newline is kept), so every line it leaves parses;
* a write that fails (full disk, quota, read-only file system, permissions) is cut back to the last whole
  line and raised as one :class:`~evals.errors.ResultsWriteError` naming what is safe; the cell it was for
  is not done, so the next run sends it again;
* one writer per run directory (:class:`evals.execution.lock.RunLock`, taken by the CLI, or by
  :func:`evals.execution.execute` for a library caller); readers take no lock.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from evals.errors import ResultsError, ResultsWriteError
from evals.store.record import (
    DONE_STATUSES,
    SCHEMA_VERSION,
    STATUSES,
    ResultRecord,
    RunHeader,
    parse_header,
    parse_record,
)
from evals.store.rows import frame_row, typed_frame
from haystacks.files import write_json_atomic

__all__ = [
    "CORRUPT_LINE",
    "DONE_STATUSES",
    "HEADER_FILE",
    "RESULTS_FILE",
    "SCHEMA_VERSION",
    "STATUSES",
    "TORN_LINE",
    "JsonlLine",
    "ResultsStore",
    "append_line",
    "cell_id",
    "expand_run_dirs",
    "is_run_dir",
    "latest_by_cell",
    "load",
    "read_header",
    "read_records",
    "scan_jsonl",
    "write_json_atomic",
]

HEADER_FILE = "header.json"
RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
assert SCHEMA_VERSION and STATUSES and DONE_STATUSES  # re-exported from evals.store.record


def cell_id(
    model: str, task: str, language: str, length: int, depth: float, seed: int, kind: str = "cell"
) -> str:
    """The identity hash of a cell.

    Args:
        model: Registry alias of the model under test.
        task: Task variant.
        language: Needle/question language.
        length: Requested prompt length in tokens.
        depth: Needle depth in percent (rounded to 6 decimals, so 50 and 50.0 are the same cell).
        seed: Seed of the cell.
        kind: ``cell``, or ``closed_book`` for a task's no-context control (hashed only then, so grid cells
            keep the ids of the first release).

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
    if kind != "cell":
        ident["kind"] = kind
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def _errno_name(e: OSError) -> str:
    return errno_codes.errorcode.get(e.errno or 0, "")


def write_failure(
    path: Path, e: OSError, *, safe_cells: int, unrecorded: str | None = None, hint: str = ""
) -> ResultsWriteError:
    """The one-line error of a failed write in a run directory: what failed, what is safe, what to do.

    Args:
        path: The file being written.
        e: The OS error.
        safe_cells: Cells recorded as done.
        unrecorded: The cell whose record was lost, if any (it runs again on the next run).
        hint: Extra words for the unrecorded cell (its answer, cut short).

    Returns:
        The :class:`~evals.errors.ResultsWriteError` to raise.
    """
    name = _errno_name(e)
    what = f"{e.strerror or e}" + (f" ({name})" if name else "")
    lost = ""
    if unrecorded is not None:
        lost = f"; the cell being recorded ({unrecorded[:12]}) was not and runs again on the next run{hint}"
    todo = {
        errno_codes.ENOSPC: "free some space",
        errno_codes.EDQUOT: "free some space or raise the quota",
        errno_codes.EROFS: "make the file system writable",
        errno_codes.EACCES: "fix the permissions",
        errno_codes.EPERM: "fix the permissions",
    }.get(e.errno or 0, "fix the cause")
    return ResultsWriteError(
        f"cannot write {path}: {what}; {safe_cells} cell(s) are safely recorded{lost}; {todo} and rerun the "
        "same command to resume",
        path=str(path),
        errno=e.errno,
        safe_cells=safe_cells,
        unrecorded=unrecorded,
    )


def append_line(fd: int, data: bytes) -> None:
    """Append ``data`` (one whole line) to ``fd`` and fsync; on failure cut the file back to where it was.

    Args:
        fd: A file descriptor opened with ``O_APPEND``.
        data: The bytes of one line, newline included.

    Raises:
        OSError: The write or the fsync failed; the file holds what it held before (unless the file system
            refuses the cut too, e.g. read-only: then the torn tail is skipped by readers and the next append
            starts on a fresh line).
    """
    size = os.fstat(fd).st_size
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
            os.fsync(fd)
        raise


def read_header(run_dir: Path) -> RunHeader | None:
    """Read a run's ``header.json``.

    Args:
        run_dir: The run directory.

    Returns:
        The typed header, or None when the directory has none.

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
    try:
        return parse_header(obj)
    except ValueError as e:
        raise ResultsError(f"{path} is not a run header ({e})") from None


T = TypeVar("T")

#: Why a damaged line was skipped (besides the schema's own reason for a line that is JSON but no record).
TORN_LINE = "torn last line (interrupted write)"
CORRUPT_LINE = "corrupt JSON (a write torn by a crash?)"


@dataclass(frozen=True)
class JsonlLine(Generic[T]):
    """One non-blank line of a JSONL file: its value, or why it was skipped.

    Attributes:
        number: The line number (1-based).
        value: The parsed and typed value; None when the line is damaged.
        problem: Why the line was skipped (:data:`TORN_LINE`, :data:`CORRUPT_LINE`, or the parser's reason);
            None for a good line.
    """

    number: int
    value: T | None
    problem: str | None = None


def scan_jsonl(path: Path, parse: Callable[[Any], T]) -> Iterator[JsonlLine[T]]:
    """Read a JSONL file line by line under the suite's one rule for damaged lines.

    The rule (``results.jsonl``, ``batches.jsonl``): blank lines are ignored; every other line must be
    strict UTF-8 JSON that ``parse`` accepts. A line that is not is skipped with its reason, never guessed
    at: the last line without a newline is a torn write (:data:`TORN_LINE`), another undecodable line is
    :data:`CORRUPT_LINE`, and a JSON value ``parse`` refuses carries the ``ValueError``'s message.

    Args:
        path: The file (a missing file yields nothing).
        parse: Types one parsed JSON value; raises ``ValueError`` for a value that is not one.

    Yields:
        Each non-blank line, in file order.

    Raises:
        OSError: The file exists but cannot be read.
    """
    if not path.exists():
        return
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                yield JsonlLine(number, None, CORRUPT_LINE if raw.endswith(b"\n") else TORN_LINE)
                continue
            try:
                yield JsonlLine(number, parse(obj))
            except ValueError as e:
                yield JsonlLine(number, None, str(e))


@dataclass
class ReadStats:
    """What :func:`read_records` met while reading: parsed records and skipped (torn or corrupt) lines."""

    records: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def iter_records(path: Path, stats: ReadStats | None = None) -> Iterator[ResultRecord]:
    """Yield the records of a ``results.jsonl``, skipping damaged lines (the rule of :func:`scan_jsonl`).

    Args:
        path: The JSONL file (a missing file yields nothing).
        stats: Optional counters to fill (``problems``: ``line N: why`` of each skipped line).

    Yields:
        Each record, typed (schema 1 lines are upgraded); a line that is no record counts as skipped.
    """
    for line in scan_jsonl(path, parse_record):
        if line.value is None:
            if stats is not None:
                stats.skipped += 1
                stats.problems.append(f"line {line.number}: {line.problem}")
            continue
        if stats is not None:
            stats.records += 1
        yield line.value


def read_records(path: Path, stats: ReadStats | None = None) -> list[ResultRecord]:
    """All parseable records of a ``results.jsonl`` in file order (see :func:`iter_records`)."""
    return list(iter_records(path, stats))


def latest_by_cell(records: Iterable[ResultRecord]) -> dict[str, ResultRecord]:
    """The record that stands for each cell: the last non-error record, else the last error.

    Args:
        records: Records in file order.

    Returns:
        ``{cell_id: record}`` in first-seen order.
    """
    out: dict[str, ResultRecord] = {}
    for rec in records:
        _keep_latest(out, rec)
    return out


def _keep_latest(index: dict[str, ResultRecord], rec: ResultRecord) -> None:
    prev = index.get(rec.cell_id)
    if prev is None or rec.status != "error" or prev.status == "error":
        index[rec.cell_id] = rec


_BLOCK = 1 << 16


def _last_line_start(path: Path, size: int) -> int:
    """Offset just past the last newline among the first ``size`` bytes of ``path`` (0 when there is none)."""
    with path.open("rb") as f:
        end = size
        while end > 0:
            begin = max(0, end - _BLOCK)
            f.seek(begin)
            nl = f.read(end - begin).rfind(b"\n")
            if nl != -1:
                return begin + nl + 1
            end = begin
    return 0


def _mend_tail(path: Path, fd: int) -> None:
    """A crash (or a write this module could not cut back) may have left a torn last line: cut it off when it
    is no record (nothing of it can be read), else end it with a newline, so the next append starts whole."""
    size = os.fstat(fd).st_size
    start = _last_line_start(path, size)
    if start == size:
        return
    with path.open("rb") as f:
        f.seek(start)
        tail = f.read(size - start)
    try:
        parse_record(json.loads(tail))
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        os.ftruncate(fd, start)
        os.fsync(fd)
        return
    append_line(fd, b"\n")


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
        self.latest: dict[str, ResultRecord] = {}
        self.stats = ReadStats()
        self.spent = 0.0
        self._fd: int | None = None
        #: Called before every write; raises to stop writing (:meth:`evals.execution.lock.RunLock.check`).
        self.guard: Callable[[], None] | None = None

    def load(self) -> dict[str, ResultRecord]:
        """Read the file once and index the latest record per cell.

        Returns:
            ``{cell_id: record}`` (see :func:`latest_by_cell`).
        """
        self.stats = ReadStats()
        self.spent = 0.0

        def counted(records: Iterable[ResultRecord]) -> Iterator[ResultRecord]:
            for rec in records:
                self.spent += rec.spend
                yield rec

        self.latest = latest_by_cell(counted(iter_records(self.path, self.stats)))
        return self.latest

    def done_ids(self) -> set[str]:
        """Cells with an ``ok``, ``model_length`` or ``truncated`` record (skipped on resume)."""
        return {cid for cid, r in self.latest.items() if r.done}

    def error_ids(self) -> set[str]:
        """Cells whose latest record is an ``error`` (retried on resume)."""
        return {cid for cid, r in self.latest.items() if r.status == "error"}

    def spent_usd(self) -> float:
        """USD of every record read by :meth:`load` and appended since (errors and judge calls included)."""
        return self.spent

    def write_header(self, header: RunHeader) -> None:
        """Write ``header.json`` atomically (creating the run directory).

        Args:
            header: The run header.

        Raises:
            ResultsWriteError: It could not be written (nothing is left half-written).
        """
        if self.guard is not None:
            self.guard()
        try:
            write_json_atomic(self.run_dir / HEADER_FILE, header.to_json())
        except OSError as e:
            raise write_failure(self.run_dir / HEADER_FILE, e, safe_cells=len(self.done_ids())) from e

    def _open(self) -> int:
        if self._fd is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _mend_tail(self.path, fd)
            except OSError:
                os.close(fd)
                raise
            self._fd = fd
        return self._fd

    def append(self, record: ResultRecord) -> None:
        """Append one record as a single line, flushed and fsynced, and update the in-memory index.

        Args:
            record: The typed record (validated when it was made).

        Raises:
            ResultsWriteError: The line could not be written whole (full disk, quota, read-only, permissions):
                the file is cut back to its last whole line and the record is not counted, so its cell runs
                again on the next run.
        """
        if self.guard is not None:
            self.guard()
        data = (json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n").encode(
            "utf-8"
        )
        try:
            append_line(self._open(), data)
        except OSError as e:
            answer = (record.answer or "").strip().replace("\n", " ")
            hint = f" (its answer was {answer[:60]!r}{'...' if len(answer) > 60 else ''})" if answer else ""
            raise write_failure(
                self.path,
                e,
                safe_cells=len(self.done_ids()),
                unrecorded=record.cell_id if record.status != "error" else None,
                hint=hint,
            ) from e
        self.spent += record.spend
        _keep_latest(self.latest, record)

    def close(self) -> None:
        """Close the append handle (safe to call twice)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run (a ``results.jsonl`` or a ``header.json``)."""
    return (path / RESULTS_FILE).is_file() or (path / HEADER_FILE).is_file()


def expand_run_dirs(paths: Iterable[Path | str]) -> list[Path]:
    """Resolve paths to run directories: a run directory stands for itself, a folder of runs (``results/``)
    for its run children, sorted by name; duplicates removed, order kept.

    Raises:
        ResultsError: A path that does not exist or is not a directory.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ResultsError(f"run directory not found: {p}")
        if not p.is_dir():
            raise ResultsError(f"not a directory: {p}")
        if is_run_dir(p):
            out.append(p)
            continue
        children = sorted(c for c in p.iterdir() if c.is_dir() and is_run_dir(c))
        out.extend(children or [p])
    seen: set[Path] = set()
    unique = []
    for p in out:
        if p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    return unique


def load(paths: Path | str | Iterable[Path | str], *, all_records: bool = False) -> Any:
    """Results as a pandas DataFrame: one row per final cell of every run named (or every attempt).

    Args:
        paths: A run directory, a folder of runs (``results/``), or several of either.
        all_records: Every line (retries and superseded errors too) instead of one row per cell.

    Returns:
        A ``pandas.DataFrame`` with the columns of :func:`evals.store.rows.frame_columns` (typed: nullable
        integers and booleans, floats, strings); ``score`` is null unless ``status == "ok"``.

    Raises:
        ResultsError: A path that does not exist.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    rows: list[dict[str, Any]] = []
    for run_dir in expand_run_dirs(paths):
        records = read_records(run_dir / RESULTS_FILE)
        chosen = records if all_records else list(latest_by_cell(records).values())
        rows.extend(frame_row(r, run_dir.name) for r in chosen)
    return typed_frame(rows)
