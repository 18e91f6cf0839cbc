"""Writing files and directories so that nobody ever sees half of one: the suite's one atomic writer.

Every file the suite writes whole (run headers, summaries, ``sampling.json``, reports, the haystack
builder's output) goes through :func:`write_atomic`: the bytes go to a hidden temporary file in the same
directory (``.<name>.<random>.tmp``), are fsynced, and the temporary is renamed over the target with
:func:`os.replace`, which is atomic on one file system. A reader sees the old file or the whole new one;
a failure (or an interrupt) removes the temporary and leaves the old file as it was. Finished files get
the mode an ordinary ``open(..., "w")`` would give them (``0o666`` less the umask), not ``mkstemp``'s
private ``0o600``. :func:`place_dir` does the same for a directory built beside its target.

This module lives in ``haystacks`` (the lowest layer) so that ``haystacks`` and ``evals`` share it;
``providers`` writes no files (if it ever must, this module moves to a package both may import).
Append-only logs (``results.jsonl``, ``batches.jsonl``) are not written whole and do not use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["current_umask", "place_dir", "write_atomic", "write_json_atomic"]


def current_umask() -> int:
    """The process umask (read without changing it for longer than the call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path | str, data: str | bytes | Iterable[str | bytes]) -> None:
    """Write a whole file atomically: readers see either the old content or all of the new one.

    Args:
        path: Destination file; missing parent directories are created.
        data: The content: text (written as UTF-8, newlines untranslated), bytes, or an iterable of either,
            written as it is consumed (a stream that raises leaves the old file untouched).

    Raises:
        OSError: The file could not be written (the temporary is removed; the old file is untouched).
        Exception: Whatever consuming ``data`` raises (likewise nothing is left behind).
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    chunks: Iterable[str | bytes] = (data,) if isinstance(data, (str, bytes)) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp files are private; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path | str, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON (keys in their order, a final newline) with :func:`write_atomic`.

    Raises:
        TypeError: ``obj`` is not JSON-serializable (nothing is written).
        OSError: As :func:`write_atomic`.
    """
    write_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def place_dir(tmp: Path, out: Path) -> None:
    """Move a finished directory ``tmp`` (built beside ``out``) to ``out``, replacing what is there.

    The old ``out`` is renamed aside first and removed only after the new one is in place; if placing the
    new one fails, the old one is put back. Whether ``out`` may be replaced is the caller's decision.

    Raises:
        OSError: The rename failed (``out`` is as it was).
    """
    umask = current_umask()
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; give it the usual directory mode
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
