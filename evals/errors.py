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
