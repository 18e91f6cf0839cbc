"""The grid runner, scoring, the JSONL results store and the reports."""

__version__ = "0.1.0"
