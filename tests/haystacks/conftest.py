"""Shared fixtures and checkers of the haystacks tests."""

from __future__ import annotations

from bisect import bisect_left
from pathlib import Path

import pytest

from haystacks.builder import Haystack, Needle
from haystacks.corpus import Corpus, load_corpus, split_sentences
from haystacks.tokenizers import Tokenizer, get_tokenizer

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus(SEEDS)


@pytest.fixture(scope="session")
def cl100k() -> Tokenizer:
    return get_tokenizer("cl100k_base")


@pytest.fixture(scope="session")
def hf_tokenizer_path(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> Path:
    """A small byte-level BPE tokenizer.json trained on the seeds (no download)."""
    from tokenizers import Tokenizer as HFTok
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HFTok(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(list(corpus.paragraphs), trainer)
    path = tmp_path_factory.mktemp("hf") / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture(scope="session")
def hf_metaspace_path(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus) -> Path:
    """A SentencePiece-like BPE tokenizer.json trained on the seeds: a metaspace is prepended to every text,
    so counts of pieces do not add up at any join (as in Gemma's or Llama 2's tokenizers)."""
    from tokenizers import Tokenizer as HFTok
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HFTok(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=["<unk>"], show_progress=False)
    tok.train_from_iterator(list(corpus.paragraphs), trainer)
    path = tmp_path_factory.mktemp("hf_metaspace") / "tokenizer.json"
    tok.save(str(path))
    return path


def unit_boundaries(text: str) -> list[int]:
    """Char offsets of every sentence start (and line start) in ``text``, plus its end."""
    out = {0, len(text)}
    pos = 0
    for line in text.splitlines(keepends=True):
        for unit in split_sentences(line):
            pos += len(unit)
            out.add(pos)
    return sorted(out)


def check_exact(h: Haystack, tok: Tokenizer) -> None:
    """Length and every needle's offsets, verified by full encodes; text verbatim; no U+FFFD."""
    assert "\ufffd" not in h.context
    assert len(tok.encode(h.context)) == h.context_tokens
    assert abs(h.context_tokens - h.spec.length) <= 0.005 * h.spec.length
    for n in (*h.needles, *h.distractors):
        assert h.context[n.char_offset : n.char_offset + len(n.text)] == n.text
        assert len(tok.encode(h.context[: n.char_offset])) == n.token_offset
        assert n.actual_depth == pytest.approx(100.0 * n.token_offset / h.context_tokens, abs=1e-4)
        if n.kind != "changed":
            assert h.context.count(n.text) == 1


def check_depth(h: Haystack, n: Needle, tok: Tokenizer) -> None:
    """Within 1 pp of the requested depth, or at the sentence boundary nearest the target.

    The needle is taken out again; among the sentence boundaries of the remaining text right before and
    after its position (positions counted with full encodes), none may be nearer the target token position
    than the chosen one (2 tokens of slack for merges at the seam), unless it leaves no room for the needle
    and the needles after it (the end of the context).
    """
    if abs(n.actual_depth - n.depth) <= 1.0:
        return
    L = h.context_tokens
    target = n.depth * L / 100.0
    ctx, o = h.context, n.char_offset
    if n.kind == "changed":
        # the altered sentence replaced one sentence: within one sentence of the target
        w = ctx[:o] + n.original + ctx[o + len(n.text) :]
        b = unit_boundaries(w)
        i = bisect_left(b, o)
        assert b[i] == o, "the altered sentence starts at a sentence boundary"
        lo = len(tok.encode(w[: b[max(i - 1, 0)]]))
        hi = len(tok.encode(w[: b[min(i + 2, len(b) - 1)]]))
        assert lo <= target + 2 and (hi >= target - 2 or hi + 50 >= L), (n, target, lo, hi)
        return
    w = ctx[:o] + ctx[o + len(n.text) :]
    b = unit_boundaries(w)
    i = bisect_left(b, o)
    rest = ctx[o + len(n.text) :]
    for m in sorted((*h.needles, *h.distractors), key=lambda m: m.char_offset):
        if m.char_offset > o and rest.startswith("\n" + m.text):
            rest = rest[len(m.text) + 1 :]
    at_end = rest == ""
    assert b[i] == o or ctx[o - 1] == "\n", "needle sits at a sentence boundary"
    later = sum(len(tok.encode(m.text)) for m in (*h.needles, *h.distractors) if m.char_offset >= o)
    mine = abs(n.token_offset - target)
    for j in (i - 1, i + 1):
        if not 0 <= j < len(b):
            continue
        pos = len(tok.encode(w[: b[j]]))
        if b[j] > o and (pos + later > L or at_end):
            continue
        assert mine <= abs(pos - target) + 2, (n, target, pos)
