"""Golden files: a fixed seed gives known bytes.

When a deliberate change alters the output (cleaning rules, templates, placement), regenerate with
``NIAH_REGEN_GOLDEN=1 python -m pytest tests/haystacks/test_golden.py`` and review the diff of
``golden/haystacks.json`` before committing it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from haystacks.builder import CellSpec, build_haystack
from haystacks.corpus import Corpus
from haystacks.tokenizers import Tokenizer

GOLDEN = Path(__file__).parent / "golden" / "haystacks.json"

SPECS = {
    "single_zh_100k_d37_s7": CellSpec(length=100_000, depth=37.0, seed=7),
    "multi_en_8k_d10_s3": CellSpec(task="multi", length=8000, depth=10.0, seed=3, language="en"),
    "distractor_zh_4k_d75_s1_shuffle": CellSpec(
        task="distractor", length=4000, depth=75.0, seed=1, shuffle=True
    ),
    "no_needle_zh_2k_s0": CellSpec(task="no_needle", length=2000, seed=0, n_distractors=2),
    "changed_line_zh_6k_d50_s2": CellSpec(task="changed_line", length=6000, depth=50.0, seed=2),
}


def _entry(corpus: Corpus, tok: Tokenizer, spec: CellSpec) -> dict:
    h = build_haystack(spec, tok, corpus)
    data = json.dumps(h.to_dict(), ensure_ascii=False).encode("utf-8")
    d = h.to_dict()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "context_tokens": h.context_tokens,
        "context_head": h.context[:40],
        "context_tail": h.context[-40:],
        "needles": d["needles"],
        "distractors": d["distractors"],
        "question": h.question,
    }


def test_golden(corpus: Corpus, cl100k: Tokenizer) -> None:
    got = {name: _entry(corpus, cl100k, spec) for name, spec in SPECS.items()}
    if os.environ.get("NIAH_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        pytest.skip("golden file regenerated")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert corpus.sha256 == "364baef1401663fd6c658633e90fade9f4945c46d99071d782fd85c0af6b5ca0", (
        "the cleaned corpus changed; regenerate the golden file after review"
    )
    for name in SPECS:
        assert got[name] == expected[name], name
