"""Export built haystacks as a Hugging Face ``datasets`` dataset (``save_to_disk`` + Parquet), atomically.

The rows are streamed to an Arrow file in a temporary directory next to the target, turned into a dataset
(memory-mapped, never held whole in memory), saved with ``save_to_disk`` and written once more as
``haystacks.parquet``; only then is the temporary directory renamed to the target. On any error the
temporary directory is removed and the target is never created.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from haystacks.builder import Haystack
from haystacks.errors import ExportError

__all__ = ["PARQUET_NAME", "export_dataset", "haystack_row"]

PARQUET_NAME = "haystacks.parquet"
_BATCH = 8  # rows per Arrow batch: bounded memory even with 1M-token contexts


def _features() -> Any:
    import datasets as ds

    needle = {
        "kind": ds.Value("string"),
        "text": ds.Value("string"),
        "key": ds.Value("string"),
        "answer": ds.Value("string"),
        "depth": ds.Value("float64"),
        "actual_depth": ds.Value("float64"),
        "char_offset": ds.Value("int64"),
        "token_offset": ds.Value("int64"),
        "original": ds.Value("string"),
    }
    return ds.Features(
        {
            "task": ds.Value("string"),
            "language": ds.Value("string"),
            "length": ds.Value("int64"),
            "depth": ds.Value("float64"),
            "seed": ds.Value("int64"),
            "n_needles": ds.Value("int64"),
            "needle_depths": ds.Sequence(ds.Value("float64")),
            "n_distractors": ds.Value("int64"),
            "shuffle": ds.Value("bool"),
            "tokenizer": ds.Value("string"),
            "tokenizer_backend": ds.Value("string"),
            "tokens_exact": ds.Value("bool"),
            "tokens_note": ds.Value("string"),
            "context_tokens": ds.Value("int64"),
            "corpus_sha256": ds.Value("string"),
            "question": ds.Value("string"),
            "answers": ds.Sequence(ds.Value("string")),
            "absent_key": ds.Value("string"),
            "needles": [needle],
            "distractors": [needle],
            "context": ds.Value("string"),
        }
    )


def haystack_row(h: Haystack) -> dict[str, Any]:
    """One dataset row of a haystack (flat spec fields, needles as lists of structs)."""

    def nd(n: Any) -> dict[str, Any]:
        return {
            "kind": n.kind,
            "text": n.text,
            "key": n.key,
            "answer": n.answer,
            "depth": n.depth,
            "actual_depth": n.actual_depth,
            "char_offset": n.char_offset,
            "token_offset": n.token_offset,
            "original": n.original,
        }

    s = h.spec
    return {
        "task": s.task,
        "language": s.language,
        "length": s.length,
        "depth": float(s.depth),
        "seed": s.seed,
        "n_needles": s.n_needles,
        "needle_depths": list(s.depths) if s.depths is not None else [],
        "n_distractors": s.n_distractors,
        "shuffle": s.shuffle,
        "tokenizer": h.tokenizer,
        "tokenizer_backend": h.tokenizer_backend,
        "tokens_exact": h.tokens_exact,
        "tokens_note": h.tokens_note,
        "context_tokens": h.context_tokens,
        "corpus_sha256": h.corpus_sha256,
        "question": h.question,
        "answers": list(h.answers),
        "absent_key": h.absent_key,
        "needles": [nd(n) for n in h.needles],
        "distractors": [nd(n) for n in h.distractors],
        "context": h.context,
    }


def export_dataset(haystacks: Iterable[Haystack], out_dir: Path | str, description: str = "") -> int:
    """Write haystacks as a ``datasets`` dataset directory (``load_from_disk``) plus a Parquet file.

    Args:
        haystacks: The rows, consumed lazily.
        out_dir: Target directory; must not exist yet.
        description: Stored in the dataset info.

    Returns:
        Number of rows written.

    Raises:
        ExportError: The target exists, its parent is missing, or ``datasets``/``pyarrow`` is not installed.
        HaystackError: Whatever building a haystack raises (nothing is left behind).
    """
    out = Path(out_dir)
    if out.exists():
        raise ExportError(f"export target already exists: {out}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"parent directory of the export target does not exist: {parent}")
    try:
        import datasets as ds
        import pyarrow as pa
    except ImportError as e:  # pragma: no cover - both are in the [hf] extra
        raise ExportError(
            "exporting a dataset needs the 'datasets' and 'pyarrow' packages (pip install .[hf])"
        ) from e

    features = _features()
    schema = features.arrow_schema
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as e:
        raise ExportError(f"cannot write in {parent}: {e.strerror or e}") from e
    try:
        stream_path = tmp / "rows.arrow"
        n = 0
        with pa.OSFile(str(stream_path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            batch: list[dict[str, Any]] = []
            for h in haystacks:
                batch.append(features.encode_example(haystack_row(h)))
                n += 1
                if len(batch) >= _BATCH:
                    writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
                    batch = []
            if batch:
                writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
        if n == 0:
            raise ExportError("nothing to export (the grid is empty)")
        info = ds.DatasetInfo(description=description, features=features)
        dataset = ds.Dataset.from_file(str(stream_path), info=info)
        final = tmp / "dataset"
        dataset.save_to_disk(str(final))
        dataset.to_parquet(str(final / PARQUET_NAME), batch_size=_BATCH)
        del dataset
        os.replace(final, out)
    except OSError as e:
        raise ExportError(f"cannot write the dataset to {out}: {e.strerror or e}") from e
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
    return n
