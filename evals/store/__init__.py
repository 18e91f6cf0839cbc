"""The results store: what a run directory holds, and the one way to read and write it.

Entry: :class:`ResultsStore` (one run directory: an atomic ``header.json``, an append-only, fsynced
``results.jsonl``) and the readers of finished runs (:func:`load`, :func:`read_records`, :func:`read_header`).

Modules, by job:

* :mod:`.record`: the schema in one place: :class:`ResultRecord` (one line of ``results.jsonl``),
  :class:`RunHeader` (``header.json``), ``sampling.json`` and ``batches.jsonl`` lines, with their versions;
* :mod:`.results`: the store, the one JSONL reader (:func:`scan_jsonl`: one rule for damaged lines) and the
  atomic JSON writer;
* :mod:`.rows`: the flat row of a record, defined once (the DataFrame and the dataset export read it).
"""

from evals.store.record import ResultRecord, RunHeader, parse_header, parse_record
from evals.store.results import (
    ResultsStore,
    expand_run_dirs,
    is_run_dir,
    latest_by_cell,
    load,
    read_header,
    read_records,
    scan_jsonl,
    write_json_atomic,
)

__all__ = [
    "ResultRecord",
    "ResultsStore",
    "RunHeader",
    "expand_run_dirs",
    "is_run_dir",
    "latest_by_cell",
    "load",
    "parse_header",
    "parse_record",
    "read_header",
    "read_records",
    "scan_jsonl",
    "write_json_atomic",
]
