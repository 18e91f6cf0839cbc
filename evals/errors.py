"""Typed errors raised by the evals package.

Library code raises these; only the CLIs (`python -m evals.run`, `python -m evals.report`) turn them into a
one-line message on stderr and a non-zero exit code.
"""

from __future__ import annotations


class EvalError(Exception):
    """Base class of every error raised by :mod:`evals`."""


class ConfigFileError(EvalError):
    """A run configuration (file or flags) is unreadable or invalid."""


class PlanError(EvalError):
    """The requested grid is invalid (depth out of range, length beyond the model's window, empty grid...)."""


class OutputDirError(EvalError):
    """The output directory cannot be created or written."""


class RunDirConflictError(EvalError):
    """The output directory already holds a run with a different configuration."""


class ResultsError(EvalError):
    """A results directory or file is unreadable or malformed beyond repair."""


class BudgetExceededError(EvalError):
    """The estimated or actual spend exceeds ``--max-cost``."""


class JudgeError(EvalError):
    """The LLM judge is misconfigured (same model as the one under test, unpinned model...)."""


class ResultsWriteError(EvalError):
    """A run directory could not be written (full disk, quota, read-only file system, permissions).

    Whatever was written before stays whole: a record that could not be written completely is cut back, so
    the results file ends on a whole line, and its cell runs again on the next invocation.

    Attributes:
        path: The file that could not be written.
        errno: The OS error number (``errno.ENOSPC``...), or None.
        safe_cells: Cells recorded as done in the run directory.
        unrecorded: The cell id whose answer could not be recorded, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        errno: int | None = None,
        safe_cells: int = 0,
        unrecorded: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno
        self.safe_cells = safe_cells
        self.unrecorded = unrecorded
