"""One writer per run directory: a lease held for a whole ``python -m evals.run`` invocation.

Two invocations on one run directory (a second terminal, a scheduler's retry, a rerun while the first is still
polling its batches) would both send every cell not yet done and pay for it twice. :class:`RunLock` prevents
that: the CLI takes it right after planning, before anything is written or called, and holds it through the
synchronous cells, batch polling, adaptive rounds, the judge, the summary and the reports.

* **The lease** is :class:`filelock.SoftFileLease` on ``<run_dir>/.lock``: the marker is created atomically
  and names its holder (pid, host, a process start token); a heartbeat thread refreshes it every
  ``lease/3`` seconds.
* **A holder that died** on this host (its pid gone, or reused by another process) is taken over at once.
  On another host (run directories on shared storage) a contender takes the lease over once it has seen the
  marker unchanged for the lease duration, :data:`DEFAULT_LEASE_S` = 60 s (``NIAH_LOCK_LEASE_S`` to change
  it; every host sharing the directory must use the same value).
* **Who holds it** is also written to ``<run_dir>/.lock.json`` (pid, host, since, command) for the one-line
  refusal; it is removed on release.
* **Readers never lock**: reports, :func:`evals.store.results.load` and ``--dry-run`` read a directory while
  a run appends to it (whole lines only; see :mod:`evals.store.results`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.errors import EvalError

__all__ = [
    "DEFAULT_LEASE_S",
    "HOLDER_FILE",
    "LEASE_ENV",
    "LOCK_FILE",
    "Holder",
    "LockLostError",
    "RunLock",
    "RunLockedError",
    "read_holder",
]

LOCK_FILE = ".lock"
HOLDER_FILE = ".lock.json"
LEASE_ENV = "NIAH_LOCK_LEASE_S"
#: Seconds a contender on another host must see an unrefreshed lease before taking it over.
DEFAULT_LEASE_S = 60.0


class RunLockedError(EvalError):
    """Another invocation holds the run directory's lock."""

    def __init__(self, message: str, holder: Holder | None) -> None:
        super().__init__(message)
        self.holder = holder


class LockLostError(EvalError):
    """This invocation's lease was taken over (it stalled past the lease duration); it must stop writing."""


@dataclass(frozen=True)
class Holder:
    """Who holds a run directory's lock.

    Attributes:
        pid: Process id (on ``host``).
        host: Host name.
        since: When it took the lock (UTC, ISO 8601), or None when unknown.
        command: Its command line, or None.
    """

    pid: int
    host: str
    since: str | None = None
    command: str | None = None

    def describe(self) -> str:
        """``pid 123 on host h since 2026-01-01T10:00:00Z (python -m evals.run ...)``."""
        since = f" since {self.since}" if self.since else ""
        cmd = f" ({self.command})" if self.command else ""
        return f"pid {self.pid} on {self.host}{since}{cmd}"


def _lease_s() -> float:
    raw = os.environ.get(LEASE_ENV)
    if raw is None:
        return DEFAULT_LEASE_S
    try:
        value = float(raw)
    except ValueError:
        raise EvalError(f"{LEASE_ENV}={raw!r} is not a number of seconds") from None
    if not 1.0 <= value <= 86_400.0:
        raise EvalError(f"{LEASE_ENV}={raw!r}: give between 1 and 86400 seconds")
    return value


def read_holder(run_dir: Path) -> Holder | None:
    """Who holds ``run_dir``'s lock, from ``.lock.json`` (else the lease marker itself), or None if free.

    Args:
        run_dir: The run directory.

    Returns:
        The holder, or None when no lock file exists (a holder that has just started may not have written
        ``.lock.json`` yet: then pid and host come from the marker).
    """
    run_dir = Path(run_dir)
    try:
        marker = (run_dir / LOCK_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = dict(line.split("=", 1) for line in marker.splitlines() if "=" in line)
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        meta = json.loads((run_dir / HOLDER_FILE).read_text(encoding="utf-8"))
        if str(meta.get("token")) == fields.get("token"):
            return Holder(int(meta["pid"]), str(meta["host"]), meta.get("since"), meta.get("command"))
    try:
        return Holder(int(fields["pid"]), fields.get("host", "?"))
    except (KeyError, ValueError):
        return Holder(0, "?")


class RunLock:
    """The lock of one run directory (see the module docstring).

    Use as a context manager or with :meth:`acquire` / :meth:`release`. Creates the run directory (and
    removes it again on release when this lock created it and left it empty).

    Args:
        run_dir: The run directory.
        lease_s: Lease duration in seconds (default ``NIAH_LOCK_LEASE_S`` or :data:`DEFAULT_LEASE_S`).
    """

    def __init__(self, run_dir: Path, *, lease_s: float | None = None) -> None:
        import filelock

        self.run_dir = Path(run_dir)
        self.lease_s = _lease_s() if lease_s is None else lease_s
        self._lost = threading.Event()
        self._lease = filelock.SoftFileLease(
            self.run_dir / LOCK_FILE,
            lease_duration=self.lease_s,
            on_compromise=lambda _reason: self._lost.set(),
            thread_local=False,
        )
        self._created_dir = False
        self.took_over: Holder | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return bool(self._lease.is_locked)

    def acquire(
        self,
        *,
        wait: bool = False,
        timeout_s: float | None = None,
        on_wait: Callable[[Holder | None], None] | None = None,
    ) -> None:
        """Take the lock, or refuse (or wait) when a live invocation holds it.

        Args:
            wait: Wait until the holder ends (or its lease expires) instead of refusing.
            timeout_s: With ``wait``, give up after this many seconds (None: no limit).
            on_wait: Called once with the holder before waiting.

        Raises:
            RunLockedError: Held by another live invocation (and not ``wait``, or ``timeout_s`` passed).
            OSError: The run directory or the lock file cannot be created (full disk, permissions).
        """
        import filelock

        if not self.run_dir.exists():
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._created_dir = True
        before = read_holder(self.run_dir)
        try:
            self._lease.acquire(timeout=0)
        except filelock.Timeout:
            holder = read_holder(self.run_dir) or before
            if not wait and self._expired_elsewhere(holder):
                # a holder on another host whose heartbeat stopped a lease ago: watch it stay unrefreshed
                # for one lease (on this host's clock) and take it over
                with contextlib.suppress(filelock.Timeout):
                    self._lease.acquire(timeout=self.lease_s * 1.5, poll_interval=0.2)
                    self.took_over = holder
            if not self._lease.is_locked and not wait:
                self._cleanup_dir()
                raise RunLockedError(self._busy_message(holder), holder) from None
            if not self._lease.is_locked:
                if on_wait is not None:
                    on_wait(holder)
                try:
                    self._lease.acquire(timeout=-1 if timeout_s is None else timeout_s, poll_interval=0.2)
                except filelock.Timeout:
                    holder = read_holder(self.run_dir) or holder
                    self._cleanup_dir()
                    raise RunLockedError(self._busy_message(holder, waited=timeout_s), holder) from None
        else:
            if before is not None and not (before.pid == os.getpid() and before.host == _host()):
                self.took_over = before
        self._lost.clear()
        try:
            self._write_holder()
        except BaseException:
            self.release()
            raise

    def _expired_elsewhere(self, holder: Holder | None) -> bool:
        """A holder on another host whose lease marker has not been refreshed for a lease duration."""
        if holder is None or holder.host == _host():
            return False
        try:
            age = time.time() - (self.run_dir / LOCK_FILE).stat().st_mtime
        except OSError:
            return False
        return age > self.lease_s

    def _busy_message(self, holder: Holder | None, waited: float | None = None) -> str:
        who = holder.describe() if holder is not None else "another invocation"
        if waited is not None:
            return f"{self.run_dir} is still in use by {who} after waiting {waited:g} s"
        return (
            f"{self.run_dir} is in use by {who}; wait for it to finish, rerun with --wait to queue "
            "behind it, or use another --out (a lock left by a dead run is taken over: on this host at "
            f"once, from another host after {self.lease_s:g} s)"
        )

    def _write_holder(self) -> None:
        from evals.store.results import write_json_atomic

        token = self._lease.token
        meta: dict[str, Any] = {
            "pid": os.getpid(),
            "host": _host(),
            "since": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": shlex.join(["python", "-m", "evals.run", *sys.argv[1:]])[:300],
            "lease_s": self.lease_s,
            "token": token,
        }
        write_json_atomic(self.run_dir / HOLDER_FILE, meta)

    def check(self) -> None:
        """Raise when the lease was lost (another invocation took it over): stop before writing more.

        Raises:
            LockLostError: The lease was taken over.
        """
        if self._lost.is_set():
            raise LockLostError(
                f"the lock of {self.run_dir} was taken over by another invocation (this one stalled for more "
                f"than {self.lease_s:g} s); stopped so that no cell is recorded twice"
            )

    def release(self) -> None:
        """Release the lock (safe to call twice); removes ``.lock.json`` and a run directory left empty."""
        if self._lease.is_locked:
            with contextlib.suppress(OSError, ValueError, KeyError):
                meta = json.loads((self.run_dir / HOLDER_FILE).read_text(encoding="utf-8"))
                if meta.get("token") == self._lease.token:
                    (self.run_dir / HOLDER_FILE).unlink()
            with contextlib.suppress(Exception):
                self._lease.release(force=True)
        self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        if self._created_dir:
            with contextlib.suppress(OSError):
                self.run_dir.rmdir()  # only when empty: nothing was written
            self._created_dir = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _host() -> str:
    return socket.gethostname()
