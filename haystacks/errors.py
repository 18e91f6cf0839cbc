"""Typed errors of the haystacks package.

Library code raises these; only the CLI (``python -m haystacks.build``) turns them into one line on stderr.
Every error is a :class:`HaystackError`, so callers can catch the whole family at once.
"""

from __future__ import annotations

__all__ = [
    "CorpusError",
    "ExportError",
    "GridSpecError",
    "HaystackError",
    "SpecError",
    "TokenizerError",
    "UnknownTokenizerError",
]


class HaystackError(Exception):
    """Base class of every error raised by :mod:`haystacks`."""


class CorpusError(HaystackError):
    """The seed directory or a seed file is missing, empty, unreadable or not UTF-8."""


class UnknownTokenizerError(HaystackError):
    """The tokenizer spec names no tokenizer that can be loaded here (offline)."""


class TokenizerError(HaystackError):
    """A tokenizer failed at use time (e.g. the llama.cpp server did not answer)."""


class SpecError(HaystackError):
    """A cell spec is invalid: depth outside 0..100, length below the needles' size, unknown task..."""


class GridSpecError(HaystackError):
    """A list/range spec (``"1000,2000"``, ``"1k:1M:35:log"``, ``"0-100/5"``) cannot be parsed."""


class ExportError(HaystackError):
    """A dataset export cannot be written (target exists, optional dependency missing...)."""
